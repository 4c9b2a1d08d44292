//! `synack serve`: a small TCP service (echo, discard, chargen, hello) served by synack on a
//! TUN device, for the kernel (nc, telnet, curl, python) to talk to. Runs until Ctrl-C.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};
use synack::net::{Shutdown, TcpListener, TcpStream};

use crate::services::{Kind, Service};
use crate::tunhost::{self, TunArgs};

/// Arguments of `synack serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The service: echo (the notes' Echo server), discard, chargen or hello.
    #[arg(value_name = "SERVICE")]
    service: Kind,
    #[command(flatten)]
    tun: TunArgs,
    /// Port to listen on (default: 7 echo, 9 discard, 19 chargen, 2333 hello).
    #[arg(long, value_name = "P")]
    port: Option<u16>,
    /// Print the SHA-256 of what each connection received (costs CPU on bulk transfers).
    #[arg(long)]
    sha256: bool,
    /// Stop after this many connections have finished (default: run until interrupted).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

/// How long a blocked call waits before looking at the stop flag again.
const TICK: Duration = Duration::from_millis(200);

pub(crate) fn default_port(k: Kind) -> u16 {
    match k {
        Kind::Echo => 7,
        Kind::Discard => 9,
        Kind::Chargen => 19,
        Kind::Hello => 2333,
    }
}

/// Runs one connection to its end; returns (bytes in, bytes out, SHA-256 of the bytes in when
/// `hash`).
fn serve_conn(
    mut s: TcpStream,
    kind: Kind,
    stop: &AtomicBool,
    hash: bool,
) -> std::io::Result<(u64, u64, Option<String>)> {
    let mut svc = Service::new(kind);
    // The digest of everything received, so a sender can check a transfer arrived intact.
    let mut digest = Sha256::new();
    let mut sent = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    s.set_read_timeout(Some(TICK))?;
    s.set_write_timeout(Some(TICK))?;
    let write_all = |s: &mut TcpStream, data: &[u8], sent: &mut u64| -> std::io::Result<()> {
        let mut off = 0;
        while off < data.len() {
            match s.write(&data[off..]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    if stop.load(Ordering::Relaxed) {
                        return Err(ErrorKind::Interrupted.into());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        *sent += data.len() as u64;
        Ok(())
    };
    let r = svc.on_open();
    write_all(&mut s, &r.data, &mut sent)?;
    if r.close {
        s.shutdown(Shutdown::Write)?;
    }
    let mut closed = r.close;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if svc.streams() {
            let chunk = svc.chargen(16 * 1024);
            write_all(&mut s, &chunk, &mut sent)?;
            continue;
        }
        match s.read(&mut buf) {
            Ok(0) => {
                let r = svc.on_eof();
                if !closed {
                    write_all(&mut s, &r.data, &mut sent)?;
                    s.shutdown(Shutdown::Write)?;
                }
                break;
            }
            Ok(n) => {
                if hash {
                    digest.update(&buf[..n]);
                }
                let r = svc.on_data(&buf[..n]);
                if !closed {
                    write_all(&mut s, &r.data, &mut sent)?;
                    if r.close {
                        s.shutdown(Shutdown::Write)?;
                        closed = true;
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(e) => return Err(e),
        }
    }
    let hex = hash.then(|| digest.finalize().iter().map(|b| format!("{b:02x}")).collect());
    Ok((svc.received, sent, hex))
}

/// Accepts connections on `listener` and serves each on a thread of its own until `stop` is
/// raised or `count` connections have finished; then waits for the connection threads.
pub(crate) fn accept_loop(
    listener: &TcpListener,
    kind: Kind,
    stop: &Arc<AtomicBool>,
    count: Option<u64>,
    hash: bool,
) -> anyhow::Result<()> {
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut workers = Vec::new();
    let result = loop {
        if stop.load(Ordering::Relaxed) || count.is_some_and(|c| done.load(Ordering::Relaxed) >= c)
        {
            break Ok(());
        }
        let (s, peer) = match listener.accept_timeout(TICK) {
            Ok(x) => x,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                continue;
            }
            Err(e) => break Err(anyhow::Error::new(e).context("accepting")),
        };
        let id = s.id();
        println!("{id}: {kind} accepted from {peer}");
        let _ = std::io::stdout().flush();
        let (stop2, done2) = (stop.clone(), done.clone());
        workers.push(std::thread::spawn(move || {
            match serve_conn(s, kind, &stop2, hash) {
                Ok((rx, tx, Some(sha))) => {
                    println!("{id}: done, {rx} bytes in (sha256 {sha}), {tx} bytes out")
                }
                Ok((rx, tx, None)) => println!("{id}: done, {rx} bytes in, {tx} bytes out"),
                Err(e) => println!("{id}: ended: {e}"),
            }
            let _ = std::io::stdout().flush();
            done2.fetch_add(1, Ordering::Relaxed);
        }));
        workers.retain(|w| !w.is_finished());
    };
    if count.is_some() {
        stop.store(true, Ordering::Relaxed);
    }
    for w in workers {
        let _ = w.join();
    }
    result
}

/// Runs `synack serve`.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stop = tunhost::stop_flag()?;
    let stack = tunhost::start(&args.tun)?;
    tunhost::print_events(&stack);
    let port = args.port.unwrap_or_else(|| default_port(args.service));
    let addr = SocketAddr::new(args.tun.addr.0.addr(), port);
    let listener =
        TcpListener::bind(&stack, addr).with_context(|| format!("listening on {addr}"))?;
    println!(
        "synack serves {} on {addr} through {}; the kernel is {}. Ctrl-C stops.",
        args.service, args.tun.tun, args.tun.kernel_addr.0
    );
    let _ = std::io::stdout().flush();
    let r = accept_loop(&listener, args.service, &stop, args.count, args.sha256);
    drop(listener);
    tunhost::finish(stack);
    println!("stopped");
    r.map(|()| ExitCode::SUCCESS)
}
