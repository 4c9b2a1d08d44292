//! Heap allocations per connection lifetime, counted by a global allocator in this test binary.
//!
//! Two endpoints back to back on a virtual clock run many whole connection lifetimes (connect,
//! handshake, one byte each way, close from both ends, TIME-WAIT to CLOSED) in batches. The
//! first batches warm up what an endpoint keeps across connections (slot table, hash map,
//! timer heap, event queue, and the storage finished connections leave for the next ones);
//! after that, every allocation the allocator sees belongs to a connection's own lifetime. The
//! bound is both ends of a connection together. `ALLOC_TRACE=1` prints a backtrace for every
//! counted allocation (to find a new one).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use synack_tcp::{ConnConfig, ConnId, Duration, Endpoint, EndpointConfig, Instant};
use synack_wire::ChecksumMode;
use synack_wire::tcp::TcpRepr;

/// The system allocator, counting `alloc` and `realloc` calls made on the thread that armed it.
struct Counting;

static TRACE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Only the measuring thread counts (the test harness's own threads allocate too).
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// Allocations counted on this thread while armed.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static IN_TRACE: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    let armed = ARMED.try_with(Cell::get).unwrap_or(false);
    if !armed {
        return;
    }
    ALLOCS.with(|c| c.set(c.get() + 1));
    if TRACE.load(Ordering::Relaxed) && !IN_TRACE.with(Cell::get) {
        IN_TRACE.with(|c| c.set(true));
        eprintln!("{}", std::backtrace::Backtrace::force_capture());
        IN_TRACE.with(|c| c.set(false));
    }
}

// SAFETY: every call is passed to the system allocator unchanged; the counter has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Moves every pending segment between the endpoints until both are quiet.
fn settle(a: &mut Endpoint, b: &mut Endpoint, now: Instant, buf: &mut [u8]) {
    loop {
        let mut moved = 0;
        for to_b in [true, false] {
            let (from, to) = if to_b { (&mut *a, &mut *b) } else { (&mut *b, &mut *a) };
            while let Some(t) = from.poll_transmit(now, buf) {
                let seg = TcpRepr::parse_bytes(
                    &buf[..t.len],
                    t.src.ip(),
                    t.dst.ip(),
                    ChecksumMode::Verify,
                )
                .expect("a segment the engine emitted parses");
                to.on_segment(now, t.src.ip(), t.dst.ip(), &seg);
                moved += 1;
            }
        }
        if moved == 0 {
            return;
        }
    }
}

/// Runs `batches` batches of `n` whole connection lifetimes; returns the allocations counted in
/// the batches after the first `warm` ones, per connection.
fn allocations_per_connection(cfg: ConnConfig, warm: usize, batches: usize, n: usize) -> f64 {
    let ec =
        EndpointConfig { conn: cfg, msl: Duration::from_millis(1), ..EndpointConfig::default() };
    let mut a = Endpoint::new(ec, [1; 16], 1);
    let mut b = Endpoint::new(ec, [2; 16], 2);
    let lid = b.listen(addr("10.0.0.2:80"), n).unwrap();
    let mut now = Instant::from_secs(1);
    let mut buf = vec![0u8; 2048];
    let mut one = [0u8; 16];
    let mut cs: Vec<ConnId> = Vec::with_capacity(n);
    let mut ss: Vec<ConnId> = Vec::with_capacity(n);
    let mut counted = 0;
    for batch in 0..batches {
        if batch == warm {
            ALLOCS.with(|c| c.set(0));
            ARMED.with(|c| c.set(true));
            TRACE.store(std::env::var_os("ALLOC_TRACE").is_some(), Ordering::Relaxed);
        }
        cs.clear();
        ss.clear();
        for _ in 0..n {
            cs.push(a.connect(now, addr("10.0.0.1:0"), addr("10.0.0.2:80"), cfg).unwrap());
        }
        settle(&mut a, &mut b, now, &mut buf);
        while let Some(s) = b.accept(lid) {
            ss.push(s);
        }
        assert_eq!(ss.len(), n, "every connection accepted");
        for (&c, &s) in cs.iter().zip(&ss) {
            assert_eq!(a.send(c, b"q"), Ok(1));
            assert_eq!(b.send(s, b"r"), Ok(1));
        }
        settle(&mut a, &mut b, now, &mut buf);
        for (&c, &s) in cs.iter().zip(&ss) {
            assert_eq!(a.recv(c, &mut one), Ok(1));
            assert_eq!(b.recv(s, &mut one), Ok(1));
            a.close(c).unwrap();
        }
        settle(&mut a, &mut b, now, &mut buf);
        for &s in &ss {
            b.close(s).unwrap();
        }
        settle(&mut a, &mut b, now, &mut buf);
        // TIME-WAIT (2 MSL) and the delayed ACKs run out on virtual time.
        now += Duration::from_millis(50);
        a.on_timeout(now);
        b.on_timeout(now);
        settle(&mut a, &mut b, now, &mut buf);
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        assert_eq!(a.connection_count() + b.connection_count(), 0, "every connection ended");
        if batch >= warm {
            counted += n;
        }
    }
    ARMED.with(|c| c.set(false));
    ALLOCS.with(Cell::get) as f64 / counted as f64
}

/// What a whole connection lifetime costs the allocator, both ends together, with the default
/// buffers.
#[test]
fn allocations_per_connection_lifetime_are_bounded() {
    let per = allocations_per_connection(ConnConfig::default(), 3, 8, 256);
    eprintln!("heap allocations per connection lifetime, both ends: {per:.2}");
    // What is left (0.06) is the 4-tuple map regrowing each batch after the one before
    // emptied it and it gave its capacity back.
    assert!(per <= 0.25, "{per:.2} heap allocations per connection lifetime (both ends)");
}

/// The same with small buffers (the rings' first allocation is then the whole capacity).
#[test]
fn allocations_per_connection_lifetime_with_small_buffers() {
    let cfg = ConnConfig { send_buffer: 4096, recv_buffer: 4096, ..ConnConfig::default() };
    let per = allocations_per_connection(cfg, 3, 8, 256);
    eprintln!("heap allocations per connection lifetime, 4 KiB buffers, both ends: {per:.2}");
    assert!(per <= 0.25, "{per:.2} heap allocations per connection lifetime (both ends)");
}

/// A bulk sender's flights end each time everything sent is acknowledged: the next window's
/// flight reuses the loss and rate logs the last one grew, so window after window of data
/// costs the allocator nothing once the first windows have been sent.
#[test]
fn bulk_windows_allocate_nothing_once_warm() {
    let ec = EndpointConfig { msl: Duration::from_millis(1), ..EndpointConfig::default() };
    let mut a = Endpoint::new(ec, [1; 16], 1);
    let mut b = Endpoint::new(ec, [2; 16], 2);
    let lid = b.listen(addr("10.0.0.2:80"), 4).unwrap();
    let mut now = Instant::from_secs(1);
    let mut buf = vec![0u8; 2048];
    let c = a.connect(now, addr("10.0.0.1:0"), addr("10.0.0.2:80"), ConnConfig::default()).unwrap();
    settle(&mut a, &mut b, now, &mut buf);
    let s = b.accept(lid).expect("accepted");
    let window = vec![0x5au8; 64 * 1024];
    let mut sink = vec![0u8; 256 * 1024];
    let (warm, rounds) = (16, 40);
    for round in 0..warm + rounds {
        if round == warm {
            ALLOCS.with(|c| c.set(0));
            ARMED.with(|c| c.set(true));
            TRACE.store(std::env::var_os("ALLOC_TRACE").is_some(), Ordering::Relaxed);
        }
        assert_eq!(a.send(c, &window), Ok(window.len()));
        let mut got = 0;
        for _ in 0..100 {
            settle(&mut a, &mut b, now, &mut buf);
            while let Ok(n) = b.recv(s, &mut sink) {
                if n == 0 {
                    break;
                }
                got += n;
            }
            if got == window.len() {
                break;
            }
            // What waits for a timer (a delayed ACK) goes on virtual time.
            now += Duration::from_millis(10);
            a.on_timeout(now);
            b.on_timeout(now);
        }
        assert_eq!(got, window.len(), "the whole window arrived");
        settle(&mut a, &mut b, now, &mut buf);
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
    }
    ARMED.with(|c| c.set(false));
    let n = ALLOCS.with(Cell::get);
    eprintln!("heap allocations over {rounds} windows of 64 KiB: {n}");
    assert_eq!(n, 0, "{n} heap allocations over {rounds} bulk windows");
}
