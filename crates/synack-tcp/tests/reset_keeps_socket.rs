//! `ConnConfig::reset_keeps_socket` (Linux's `tcp_reset`/`tcp_done`): a reset connection's
//! unread bytes stay readable before the error, and a connection reset while it waits in the
//! accept queue is still accepted, CLOSED with its error. Off (RFC 9293 3.10.7.4), the queues
//! are flushed and the unaccepted connection is gone.

mod script;
use script::*;
use synack_tcp::{ConnConfig, ConnectionError, RecvError, State};

const I: u32 = ISS;
const T: u32 = IRS;

fn cfg(keep: bool) -> ConnConfig {
    ConnConfig { reset_keeps_socket: keep, ..plain() }
}

/// Data, then a RST at RCV.NXT on an accepted connection.
#[test]
fn unread_bytes_come_before_the_error() {
    for keep in [false, true] {
        let mut s = Script::established_passive(cfg(keep));
        s.inject(Seg::new(A, T + 1, I + 1).data(&[7; 10]));
        s.inject(Seg::new(R, T + 11, 0));
        let mut buf = [0u8; 64];
        let first = s.ep.recv(s.id(), &mut buf);
        if keep {
            assert_eq!(first, Ok(10));
            assert_eq!(&buf[..10], &[7; 10]);
            assert_eq!(
                s.ep.recv(s.id(), &mut buf),
                Err(RecvError::Connection(ConnectionError::Reset))
            );
        } else {
            assert_eq!(first, Err(RecvError::Connection(ConnectionError::Reset)));
        }
    }
}

/// The handshake completes, data arrives, a RST follows, and only then the application
/// accepts.
#[test]
fn a_connection_reset_before_accept() {
    for keep in [false, true] {
        let mut s = Script::listening(cfg(keep));
        let l = s.listener.unwrap();
        s.inject(Seg::new(S, T, 0).mss(1460));
        s.one();
        s.inject(Seg::new(A, T + 1, I + 1));
        s.inject(Seg::new(A, T + 1, I + 1).data(&[7; 10]));
        s.inject(Seg::new(R, T + 11, 0));
        let c = s.ep.accept(l);
        if !keep {
            assert_eq!(c, None);
            continue;
        }
        let c = c.expect("still in the accept queue");
        assert_eq!(s.ep.state(c), Ok(State::Closed));
        assert_eq!(s.ep.error(c), Ok(Some(ConnectionError::Reset)));
        let mut buf = [0u8; 64];
        assert_eq!(s.ep.recv(c, &mut buf), Ok(10));
        assert_eq!(s.ep.recv(c, &mut buf), Err(RecvError::Connection(ConnectionError::Reset)));
        assert_eq!(s.ep.accept(l), None);
        s.ep.close(c).unwrap();
    }
}

/// Closing the listener frees a reset child nobody accepted.
#[test]
fn closing_the_listener_frees_a_reset_child() {
    let mut s = Script::listening(cfg(true));
    let l = s.listener.unwrap();
    s.inject(Seg::new(S, T, 0).mss(1460));
    s.one();
    s.inject(Seg::new(A, T + 1, I + 1));
    s.inject(Seg::new(R, T + 1, 0));
    assert_eq!(s.ep.accept_queue_len(l), 1);
    s.ep.close_listener(l);
    assert_eq!(s.ep.connection_count(), 0);
}
