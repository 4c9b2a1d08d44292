//! Waking per socket: many threads (and tasks) blocked on many sockets of one stack each get
//! every wake-up meant for them, and a thread blocked on an idle socket sleeps through the
//! traffic of the others. Every blocking call has a timeout, so a lost wake-up fails the test
//! (`WouldBlock` / `TimedOut`) instead of hanging it.

use std::io::{Read, Write};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use synack::Stack;
use synack::net::{TcpListener, TcpStream};

mod common;
use common::{STEP, addr, data, pair};

/// Long enough for a loaded CI machine, short enough that a lost wake-up fails in time.
const BLOCKED: Duration = Duration::from_secs(30);

/// `n` connections from `a` to a listener on `b` at `port`, accepted by four threads at once
/// (several threads blocked in `accept` on one listener), with read and write timeouts.
fn connections(a: &Arc<Stack>, b: &Arc<Stack>, port: u16, n: usize) -> Vec<(TcpStream, TcpStream)> {
    let listener = Arc::new(TcpListener::bind(b, addr(&format!("10.0.0.2:{port}"))).unwrap());
    let acceptors: Vec<_> = (0..4)
        .map(|i| {
            let l = listener.clone();
            let mine = n / 4 + usize::from(i < n % 4);
            thread::spawn(move || {
                (0..mine).map(|_| l.accept_timeout(BLOCKED).expect("accept").0).collect::<Vec<_>>()
            })
        })
        .collect();
    let clients: Vec<TcpStream> = (0..n)
        .map(|_| TcpStream::connect_timeout(a, &addr(&format!("10.0.0.2:{port}")), STEP).unwrap())
        .collect();
    let mut servers: Vec<TcpStream> =
        acceptors.into_iter().flat_map(|t| t.join().expect("acceptor")).collect();
    // Pair each client with the server end of its own connection.
    servers.sort_by_key(|s| s.peer_addr().unwrap());
    let mut pairs: Vec<(TcpStream, TcpStream)> = clients
        .into_iter()
        .map(|c| {
            let i = servers
                .binary_search_by_key(&c.local_addr().unwrap(), |s| s.peer_addr().unwrap())
                .expect("an accepted end for every client");
            (c, servers[i].try_clone().unwrap())
        })
        .collect();
    for (c, s) in &mut pairs {
        for x in [c, s] {
            x.set_read_timeout(Some(BLOCKED)).unwrap();
            x.set_write_timeout(Some(BLOCKED)).unwrap();
        }
    }
    pairs
}

/// 24 connections, a thread at each end, ping-pong of one byte 100 times each, all at once:
/// every read blocks, and each wake-up belongs to one socket among 48 blocked threads.
#[test]
fn many_threads_on_many_sockets_lose_no_wake_up() {
    let (a, b) = pair();
    let pairs = connections(&a, &b, 7000, 24);
    let start = Arc::new(Barrier::new(2 * pairs.len()));
    let mut threads = Vec::new();
    for (i, (mut c, mut s)) in pairs.into_iter().enumerate() {
        let go = start.clone();
        threads.push(thread::spawn(move || {
            go.wait();
            let mut b = [0u8; 1];
            for r in 0..100u8 {
                s.read_exact(&mut b).unwrap_or_else(|e| panic!("server {i} round {r}: {e}"));
                assert_eq!(b[0], r);
                s.write_all(&[r.wrapping_add(1)]).unwrap();
            }
        }));
        let go = start.clone();
        threads.push(thread::spawn(move || {
            go.wait();
            let mut b = [0u8; 1];
            for r in 0..100u8 {
                c.write_all(&[r]).unwrap();
                c.read_exact(&mut b).unwrap_or_else(|e| panic!("client {i} round {r}: {e}"));
                assert_eq!(b[0], r.wrapping_add(1));
            }
        }));
    }
    for t in threads {
        t.join().expect("no thread missed its wake-up");
    }
}

/// 64 threads blocked in `read` on idle connections are not woken while another connection
/// on the same stack moves 2 MiB (each driver pass wakes at most that connection's reader),
/// and each is woken when its own data comes.
#[test]
fn idle_blocked_threads_sleep_through_other_traffic() {
    let (a, b) = pair();
    let idle = connections(&a, &b, 7100, 64);
    let (clients, servers): (Vec<_>, Vec<_>) = idle.into_iter().unzip();
    let readers: Vec<_> = servers
        .into_iter()
        .map(|mut s| {
            thread::spawn(move || {
                let mut buf = [0u8; 8];
                s.read(&mut buf).map(|n| buf[..n].to_vec())
            })
        })
        .collect();
    // Every reader blocked before the traffic starts.
    let deadline = b.now() + STEP;
    while b.with(|st, _| st.waiting()) < readers.len() {
        assert!(b.now() < deadline, "the idle readers did not all block");
        thread::sleep(Duration::from_millis(5));
    }
    let mut busy = connections(&a, &b, 7101, 1);
    let (mut tx, mut rx) = busy.pop().unwrap();
    let before = b.with(|st, _| st.stats());
    const BYTES: usize = 2 << 20;
    let sent = data(BYTES, 7);
    let expect = sent.clone();
    let writer = thread::spawn(move || {
        for chunk in sent.chunks(64 * 1024) {
            tx.write_all(chunk).unwrap();
        }
        tx
    });
    let mut got = vec![0u8; BYTES];
    rx.read_exact(&mut got).unwrap();
    assert!(got == expect, "the busy connection's bytes arrived intact");
    let _tx = writer.join().expect("writer");
    let after = b.with(|st, _| st.stats());
    // Passes that took frames in: the driver's, and those of a blocked thread standing in
    // for it (the latest to block: the busy reader).
    let passes =
        (after.wakeups - before.wakeups) + (after.passes_standing_in - before.passes_standing_in);
    let woken = after.woken - before.woken;
    assert!(woken > 0, "the busy reader was woken");
    assert!(
        woken <= passes,
        "{woken} wake-ups in {passes} passes: idle readers were woken by others' traffic"
    );
    for (i, mut c) in clients.into_iter().enumerate() {
        c.write_all(&[i as u8]).unwrap();
    }
    for (i, r) in readers.into_iter().enumerate() {
        let got = r.join().expect("reader").unwrap_or_else(|e| panic!("idle reader {i}: {e}"));
        assert_eq!(got, vec![i as u8]);
    }
}

/// The same ping-pong through the tokio streams: 48 tasks on a multi-thread runtime, the
/// whole run under a timeout.
#[test]
fn many_tasks_on_many_sockets_lose_no_wake_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (a, b) = pair();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(async move {
        let listener = synack::tokio::TcpListener::bind(&b, "10.0.0.2:7200").await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..24usize {
            let a = a.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = synack::tokio::TcpStream::connect(&a, "10.0.0.2:7200").await.unwrap();
                let mut b = [0u8; 1];
                for r in 0..100u8 {
                    c.write_all(&[r]).await.unwrap();
                    c.read_exact(&mut b).await.unwrap_or_else(|e| panic!("client {i}: {e}"));
                    assert_eq!(b[0], r.wrapping_add(1));
                }
            }));
        }
        for _ in 0..24 {
            let (mut s, _) = listener.accept().await.unwrap();
            tasks.push(tokio::spawn(async move {
                let mut b = [0u8; 1];
                for r in 0..100u8 {
                    s.read_exact(&mut b).await.unwrap();
                    assert_eq!(b[0], r);
                    s.write_all(&[r.wrapping_add(1)]).await.unwrap();
                }
            }));
        }
        for t in tasks {
            tokio::time::timeout(BLOCKED, t)
                .await
                .expect("a task missed its wake-up")
                .expect("task");
        }
    });
}

/// A thread blocked in `read` stands in for its stack's sleeping driver: the frames the
/// in-memory link brings wake it, and it runs the pass that takes them in itself. A bulk
/// transfer arrives whole that way, a one-byte write still reaches a blocked reader at once
/// (each round of a ping-pong is a blocked read on either side, with a timeout that would
/// fail a raise nobody acted on), and a thread standing in on one connection while another's
/// data comes wakes that connection's reader.
#[test]
fn a_blocked_reader_takes_its_frames_in_itself() {
    let (a, b) = pair();
    let mut conns = connections(&a, &b, 7200, 2);
    let (mut c2, mut s2) = conns.pop().unwrap();
    let (mut c1, mut s1) = conns.pop().unwrap();
    let before = b.with(|st, _| st.stats());
    const BYTES: usize = 4 << 20;
    let sent = data(BYTES, 11);
    let expect = sent.clone();
    let writer = thread::spawn(move || {
        for chunk in sent.chunks(64 * 1024) {
            c1.write_all(chunk).unwrap();
        }
        c1
    });
    let mut got = vec![0u8; BYTES];
    s1.read_exact(&mut got).unwrap();
    assert!(got == expect, "the bytes arrived intact");
    let mut c1 = writer.join().expect("writer");
    let after = b.with(|st, _| st.stats());
    assert!(
        after.passes_standing_in > before.passes_standing_in,
        "the blocked reader ran no pass for the link: {after:?}"
    );
    for r in 0..200u8 {
        c1.write_all(&[r]).unwrap();
        let mut x = [0u8; 1];
        s1.read_exact(&mut x).unwrap_or_else(|e| panic!("round {r}: {e}"));
        assert_eq!(x[0], r);
        s1.write_all(&[r ^ 0xff]).unwrap();
        c1.read_exact(&mut x).unwrap_or_else(|e| panic!("answer {r}: {e}"));
        assert_eq!(x[0], r ^ 0xff);
    }
    // The latest to block stands in: here a reader on the other connection, while the data
    // is for the first; its pass wakes the first reader.
    let reader = thread::spawn(move || {
        let mut x = [0u8; 3];
        s1.read_exact(&mut x).map(|()| x)
    });
    let deadline = b.now() + STEP;
    while b.with(|st, _| st.waiting()) < 1 {
        assert!(b.now() < deadline, "the first reader did not block");
        thread::sleep(Duration::from_millis(5));
    }
    let idle = thread::spawn(move || {
        let mut x = [0u8; 1];
        s2.read_exact(&mut x).map(|()| x[0])
    });
    while b.with(|st, _| st.waiting()) < 2 {
        assert!(b.now() < deadline, "the second reader did not block");
        thread::sleep(Duration::from_millis(5));
    }
    c1.write_all(b"abc").unwrap();
    assert_eq!(&reader.join().unwrap().unwrap(), b"abc");
    assert!(!idle.is_finished(), "the other reader has nothing to read");
    c2.write_all(b"z").unwrap();
    assert_eq!(idle.join().unwrap().unwrap(), b'z');
}
