//! The CLI's TCP servers on synack's tokio API: one task per connection, no thread per
//! connection, no polling timeouts.
//!
//! What keeps a server standing under load and attack:
//! * accept errors are sorted by kind: a connection that died before it was accepted is
//!   skipped, running out of a resource backs off (10 ms doubling to 1 s) and retries, and
//!   only an error that will not go away (the stack stopped) ends the loop;
//! * a dead connection ends its task at once: a read or write error is final, there is no
//!   read-timeout tick to confuse it with;
//! * dead peers are reaped by keep-alive and the user timeout (set on the listener, so every
//!   accepted connection has them from the handshake on), and live peers that say nothing are
//!   closed after an application idle timeout;
//! * an idle connection costs no buffer: reading borrows a buffer on the polling thread's
//!   stack for the duration of one poll, so 100,000 waiting connections hold only their task
//!   state and the engine's per-connection memory.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use sha2::{Digest, Sha256};
use synack::tokio::{ShardedListener, TcpListener, TcpStream};
use synack::{Shards, Stack};
use synack_tcp::{ConnConfig, KeepAlive, ListenCounters};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;

use crate::services::{Kind, Service};

/// Bytes one read may take; lives on the stack of the thread that polls, only during a poll.
const READ_CHUNK: usize = 16 * 1024;

/// How a server treats its connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Keep-alive probes (dead or vanished peers are detected and reset); `None`: off.
    pub(crate) keep_alive: Option<KeepAlive>,
    /// Abort a connection whose sent data stays unacknowledged this long; `None`: no limit.
    pub(crate) user_timeout: Option<Duration>,
    /// Close a connection on which the peer sent nothing for this long; `None`: never.
    pub(crate) idle_timeout: Option<Duration>,
    /// Accept-queue length.
    pub(crate) backlog: usize,
    /// Print a line per connection (accepted, done).
    pub(crate) verbose: bool,
    /// Print the SHA-256 of what each connection received.
    pub(crate) hash: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            keep_alive: Some(KeepAlive {
                idle: Duration::from_secs(60),
                interval: Duration::from_secs(10),
                probes: 5,
            }),
            user_timeout: Some(Duration::from_secs(60)),
            idle_timeout: Some(Duration::from_secs(600)),
            backlog: 1024,
            verbose: true,
            hash: false,
        }
    }
}

/// Counters a server keeps, readable while it runs.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Connections accepted.
    pub(crate) accepted: AtomicU64,
    /// Connections whose task has ended.
    pub(crate) finished: AtomicU64,
    /// Accept calls that failed.
    pub(crate) accept_errors: AtomicU64,
    /// Connections closed by the idle timeout.
    pub(crate) idle_closed: AtomicU64,
}

impl Counters {
    /// Connections whose task is still running.
    pub(crate) fn active(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed).saturating_sub(self.finished.load(Ordering::Relaxed))
    }
}

/// Gives freed heap memory back to the OS after a load peak: every `period`, when the live
/// heap (the counting allocator's bytes allocated less freed) has fallen a quarter, and at
/// least 256 KiB, below the most it held since the last trim. The engine and the server free a
/// closed connection's memory, but glibc's malloc keeps freed small blocks in its arenas (RSS
/// stays at the peak) unless asked to trim them. Watching the heap rather than the
/// connections also catches what is freed after the connections' tasks end (TIME-WAIT
/// expiring, spares and pools shrinking); a steady load, whose heap stays level, never trims.
///
/// Each look first has the engines of `stacks` give back the spares an old peak left
/// (`Endpoint::trim_spares`): they were allocated all through the peak, so each pins a page
/// of its own, and once they go (a quiet endpoint has no connection ending to trim them)
/// those pages are trimmed too.
pub(crate) async fn trim_after_peaks(period: Duration, stacks: Vec<Arc<Stack>>) {
    keep_large_blocks_mapped();
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut peak = live_heap();
    loop {
        tick.tick().await;
        let spares: usize =
            stacks.iter().map(|s| s.with(|st, now| st.endpoint.trim_spares(now))).sum();
        let live = live_heap();
        peak = peak.max(live);
        if spares > 0 || should_trim(peak, live) {
            release_free_memory();
            peak = live;
        }
    }
}

/// Bytes allocated and not freed, process-wide.
fn live_heap() -> usize {
    let s = crate::ALLOCATOR.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

/// Whether the heap fell far enough from `peak` to `live` for a trim to be worth its walk of
/// the arenas.
fn should_trim(peak: usize, live: usize) -> bool {
    peak.saturating_sub(live) >= (peak / 4).max(256 << 10)
}

/// Large blocks (128 KiB and up: the engine's slot table and hash maps, grown receive and
/// send rings) get mappings of their own, which go back to the OS when freed. glibc's
/// default threshold is dynamic: each freed mapped block raises it to that block's size (up
/// to 32 MiB), so after the first peak large blocks come from the arenas instead, where the
/// small blocks allocated among them pin the pages and `malloc_trim` cannot return them.
/// Setting the threshold fixes it (mallopt(3): setting M_MMAP_THRESHOLD turns the dynamic
/// adjustment off). Measured with `synack load --conns 100000`: RSS after the load 1.31 of
/// before with it, 2.57 without (docs/BENCHMARKS.md).
fn keep_large_blocks_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tuning parameters; it takes the allocator's
    // locks itself and is safe to call from any thread at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Returns free pages of every malloc arena to the OS.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes the arena locks
    // itself and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Prints a line when the stack's listeners go into SYN-cookie mode (a half-open queue
/// filled, as under a SYN flood) and when they leave it (every queue has room again), checked
/// every `period`, with the listen counters at that moment.
pub(crate) async fn report_cookie_mode(stacks: Vec<Arc<Stack>>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut on = false;
    loop {
        tick.tick().await;
        let c = listen_counters(&stacks);
        let now_on = c.listeners_in_cookie_mode > 0;
        if now_on != on {
            on = now_on;
            let what = if on { "on" } else { "off" };
            println!("synack: SYN cookies {what}; {}", listen_summary(&c));
        }
    }
}

/// The listen counters of every stack of a host (the shards of one device), summed.
pub(crate) fn listen_counters(stacks: &[Arc<Stack>]) -> ListenCounters {
    let mut sum = ListenCounters::default();
    for s in stacks {
        sum += s.with(|st, _| st.endpoint.listen_counters());
    }
    sum
}

/// One line on what the listeners did with SYNs and handshake ACKs (flood handling).
pub(crate) fn listen_summary(c: &ListenCounters) -> String {
    format!(
        "listen: {} SYNs ({} half-open, {} cookies, {} dropped for a full accept queue, {} for a \
         full SYN queue); cookies: {} accepted, {} rejected; {} completing ACKs dropped for a \
         full accept queue; half-open: {} expired, {} evicted, {} held",
        c.syns,
        c.half_open_admitted,
        c.cookies_sent,
        c.syns_dropped_accept_full,
        c.syns_dropped_queue_full,
        c.cookies_accepted,
        c.cookies_rejected,
        c.acks_dropped_accept_full,
        c.half_open_expired,
        c.half_open_evicted,
        c.half_open,
    )
}

/// Listens on `addr` with the connection settings of `policy`.
pub(crate) fn listen(
    stack: &Arc<Stack>,
    addr: SocketAddr,
    policy: &Policy,
) -> io::Result<TcpListener> {
    let mut cfg: ConnConfig = stack.with(|st, _| st.endpoint.config().conn);
    cfg.keep_alive = policy.keep_alive;
    cfg.user_timeout = policy.user_timeout;
    TcpListener::bind_with(stack, addr, policy.backlog, Some(cfg))
}

/// Listens on `addr` on every shard, with the connection settings of `policy`.
pub(crate) fn listen_sharded(
    shards: &Shards,
    addr: SocketAddr,
    policy: &Policy,
) -> io::Result<Listener> {
    let mut cfg: ConnConfig = shards.stacks()[0].with(|st, _| st.endpoint.config().conn);
    cfg.keep_alive = policy.keep_alive;
    cfg.user_timeout = policy.user_timeout;
    if shards.len() == 1 {
        return TcpListener::bind_with(&shards.stacks()[0], addr, policy.backlog, Some(cfg))
            .map(Listener::One);
    }
    ShardedListener::bind_with(shards, addr, policy.backlog, Some(cfg)).map(Listener::Sharded)
}

/// What a server accepts on: one stack's listener, or one on each shard.
#[derive(Debug)]
pub(crate) enum Listener {
    One(TcpListener),
    Sharded(ShardedListener),
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Listener::One(l)
    }
}

impl Listener {
    async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        match self {
            Listener::One(l) => l.accept().await,
            Listener::Sharded(l) => l.accept().await,
        }
    }
}

/// What an accept error means for the loop.
#[derive(Debug, PartialEq, Eq)]
enum AcceptFailure {
    /// That one connection died before it was taken: go on at once.
    Connection,
    /// A resource ran out: wait, then try again.
    Transient,
    /// Nothing will change (the stack or listener is gone).
    Fatal,
}

fn classify(e: &io::Error) -> AcceptFailure {
    match e.kind() {
        ErrorKind::ConnectionAborted
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionRefused
        | ErrorKind::TimedOut
        | ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::Interrupted => AcceptFailure::Connection,
        ErrorKind::OutOfMemory
        | ErrorKind::ResourceBusy
        | ErrorKind::WouldBlock
        | ErrorKind::QuotaExceeded
        | ErrorKind::AddrNotAvailable => AcceptFailure::Transient,
        _ => AcceptFailure::Fatal,
    }
}

/// The first and the longest wait after an accept error.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accepts on `listener` and serves each connection in a task of its own until `stop` turns
/// true or `count` connections have finished; then waits for the running connections (which
/// end when `stop` turns true).
pub(crate) async fn accept_loop(
    listener: impl Into<Listener>,
    kind: Kind,
    policy: Policy,
    mut stop: watch::Receiver<bool>,
    count: Option<u64>,
    counters: Arc<Counters>,
) -> anyhow::Result<()> {
    let listener = listener.into();
    let mut tasks = tokio::task::JoinSet::new();
    let mut backoff = BACKOFF_MIN;
    let result = loop {
        if count.is_some_and(|c| counters.finished.load(Ordering::Relaxed) >= c) {
            break Ok(());
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|s| *s) => break Ok(()),
            // Reap finished tasks so the set does not grow with every connection served.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (s, peer) = match accepted {
            Ok(x) => {
                backoff = BACKOFF_MIN;
                x
            }
            Err(e) => {
                counters.accept_errors.fetch_add(1, Ordering::Relaxed);
                match classify(&e) {
                    AcceptFailure::Connection => continue,
                    AcceptFailure::Transient => {
                        eprintln!("synack: accept: {e} (retrying in {backoff:?})");
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = stop.wait_for(|s| *s) => break Ok(()),
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                    AcceptFailure::Fatal => {
                        break Err(anyhow::Error::new(e).context("accepting"));
                    }
                }
            }
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        let id = s.id();
        if policy.verbose {
            println!("{id}: {kind} accepted from {peer}");
        }
        let (stop2, counters2) = (stop.clone(), counters.clone());
        tasks.spawn(async move {
            let r = serve_conn(s, kind, &policy, stop2, &counters2).await;
            if policy.verbose {
                match r {
                    Ok((rx, tx, Some(sha))) => {
                        println!("{id}: done, {rx} bytes in (sha256 {sha}), {tx} bytes out")
                    }
                    Ok((rx, tx, None)) => println!("{id}: done, {rx} bytes in, {tx} bytes out"),
                    Err(e) => println!("{id}: ended: {e}"),
                }
            }
            counters2.finished.fetch_add(1, Ordering::Relaxed);
        });
    };
    drop(listener);
    if count.is_some() {
        // The count is reached: the connections still open end now.
        tasks.abort_all();
    }
    while tasks.join_next().await.is_some() {}
    result
}

/// Reads once into a buffer borrowed for this poll only, and hands the bytes to `f`: an idle
/// connection waiting here holds no buffer. `Ok(None)` is the end of the stream.
async fn read_with<R>(s: &mut TcpStream, mut f: impl FnMut(&[u8]) -> R) -> io::Result<Option<R>> {
    std::future::poll_fn(|cx| {
        let mut mem = [0u8; READ_CHUNK];
        let mut buf = ReadBuf::new(&mut mem);
        match Pin::new(&mut *s).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(Ok(None)),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(Some(f(buf.filled())))),
        }
    })
    .await
}

/// Sleeps for the idle timeout, or for ever without one.
async fn idle(policy: &Policy) {
    match policy.idle_timeout {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

fn idle_error() -> io::Error {
    io::Error::new(ErrorKind::TimedOut, "idle timeout: the peer made no progress")
}

/// Writes all of `data`; a peer that takes none of it for the idle timeout (a zero window
/// held open) ends the connection. `Ok(false)`: `stop` turned true first.
async fn send(
    s: &mut TcpStream,
    data: &[u8],
    policy: &Policy,
    stop: &mut watch::Receiver<bool>,
    counters: &Counters,
) -> io::Result<bool> {
    let mut off = 0;
    while off < data.len() {
        tokio::select! {
            r = s.write(&data[off..]) => off += r?,
            _ = stop.wait_for(|s| *s) => return Ok(false),
            () = idle(policy) => {
                counters.idle_closed.fetch_add(1, Ordering::Relaxed);
                return Err(idle_error());
            }
        }
    }
    Ok(true)
}

/// Runs one connection to its end; returns (bytes in, bytes out, SHA-256 of the bytes in when
/// `policy.hash`). Ends early, with the connection reset, when `stop` turns true.
async fn serve_conn(
    mut s: TcpStream,
    kind: Kind,
    policy: &Policy,
    mut stop: watch::Receiver<bool>,
    counters: &Counters,
) -> io::Result<(u64, u64, Option<String>)> {
    let mut svc = Service::new(kind);
    // The digest of everything received, so a sender can check a transfer arrived intact.
    let mut digest = policy.hash.then(Sha256::new);
    let mut sent = 0u64;
    let r = svc.on_open();
    if !send(&mut s, &r.data, policy, &mut stop, counters).await? {
        return Err(ErrorKind::Interrupted.into());
    }
    sent += r.data.len() as u64;
    if r.close {
        s.shutdown().await?;
    }
    let mut closed = r.close;
    loop {
        if svc.streams() {
            let chunk = svc.chargen(16 * 1024);
            if !send(&mut s, &chunk, policy, &mut stop, counters).await? {
                break;
            }
            sent += chunk.len() as u64;
            continue;
        }
        let got = tokio::select! {
            r = read_with(&mut s, |data| {
                if let Some(d) = digest.as_mut() {
                    d.update(data);
                }
                svc.on_data(data)
            }) => r?,
            _ = stop.wait_for(|s| *s) => break,
            () = idle(policy) => {
                counters.idle_closed.fetch_add(1, Ordering::Relaxed);
                return Err(idle_error());
            }
        };
        let (r, eof) = match got {
            None => (svc.on_eof(), true),
            Some(r) => (r, false),
        };
        if !closed {
            if !send(&mut s, &r.data, policy, &mut stop, counters).await? {
                break;
            }
            sent += r.data.len() as u64;
            if r.close || eof {
                s.shutdown().await?;
                closed = true;
            }
        }
        if eof {
            break;
        }
    }
    let hex = digest.map(|d| d.finalize().iter().map(|b| format!("{b:02x}")).collect());
    Ok((svc.received, sent, hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_after_a_real_fall_only() {
        let mib = 1 << 20;
        assert!(should_trim(640 * mib, 20 * mib), "after a load peak");
        assert!(!should_trim(640 * mib, 600 * mib), "a small dip of a large heap");
        assert!(should_trim(3 * mib, 2 * mib), "the last connections' memory, freed late");
        assert!(!should_trim(mib, mib - 1000), "noise");
        assert!(!should_trim(5 * mib, 6 * mib), "growing");
    }

    #[test]
    fn accept_errors_sorted_by_kind() {
        let k = |kind| classify(&io::Error::from(kind));
        assert_eq!(k(ErrorKind::ConnectionAborted), AcceptFailure::Connection);
        assert_eq!(k(ErrorKind::TimedOut), AcceptFailure::Connection);
        assert_eq!(k(ErrorKind::OutOfMemory), AcceptFailure::Transient);
        assert_eq!(k(ErrorKind::ResourceBusy), AcceptFailure::Transient);
        assert_eq!(k(ErrorKind::NotConnected), AcceptFailure::Fatal);
        assert_eq!(k(ErrorKind::Other), AcceptFailure::Fatal);
    }
}
