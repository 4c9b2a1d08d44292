//! The driver's `tracing` events reach a subscriber scoped around the stack's creation: a
//! connection that opens, then is reset by its peer, logs its opening, the reset sent by one
//! side, and the failure with its reason on the other.

use std::io::{ErrorKind, Read, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use synack::IpCidr;
use synack::net::{TcpListener, TcpStream, memory_pair};

/// A writer into a shared buffer, for the subscriber.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn connection_life_and_reset_are_logged() {
    let log = Buf::default();
    let w = log.clone();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    tracing::subscriber::with_default(sub, || {
        let cidr = |s: &str| IpCidr::new(s.parse().unwrap(), 24).unwrap();
        let (a, b) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2")).unwrap();
        let l = TcpListener::bind(&b, "10.0.0.2:7").unwrap();
        let mut c = TcpStream::connect(&a, "10.0.0.2:7").unwrap();
        let (s, _) = l.accept().unwrap();
        c.write_all(b"unread").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.peek(&mut [0u8; 1]).unwrap();
        drop(s); // unread data: a reset
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(c.read(&mut [0u8; 8]).unwrap_err().kind(), ErrorKind::ConnectionReset);
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("connection open"), "{text}");
    assert!(text.contains("10.0.0.1:") && text.contains("-> 10.0.0.2:7"), "{text}");
    assert!(text.contains("reset sent src=10.0.0.2:7"), "{text}");
    assert!(
        text.contains("connection failed") && text.contains("reason=connection reset by peer"),
        "{text}"
    );
    assert!(text.contains("synack_driver"), "the driver's span: {text}");
}
