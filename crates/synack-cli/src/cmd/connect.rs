//! `synack connect`: a netcat through synack on a TUN device. Standard input goes to the
//! connection, the connection to standard output; at the end of the input synack half-closes
//! (sends its FIN) and keeps reading until the peer closes.

use std::io::{ErrorKind, IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use synack::net::{Shutdown, TcpStream};

use crate::tunhost::{self, TunArgs};

/// Arguments of `synack connect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    tun: TunArgs,
    /// Where to connect: an IP address and port (`10.7.0.1:8000`, `[fd00::1]:80`).
    #[arg(value_name = "HOST:PORT")]
    target: SocketAddr,
    /// Give up connecting after this many seconds.
    #[arg(long, value_name = "S", default_value_t = 10)]
    timeout: u64,
    /// Print each state change of the connection on stderr.
    #[arg(short, long)]
    verbose: bool,
}

/// Exit codes beyond 0 (done) and 1 (other errors).
const EXIT_REFUSED: u8 = 3;
const EXIT_TIMED_OUT: u8 = 4;
const EXIT_RESET: u8 = 5;

fn exit_for(e: &std::io::Error) -> u8 {
    match e.kind() {
        ErrorKind::ConnectionRefused => EXIT_REFUSED,
        ErrorKind::TimedOut => EXIT_TIMED_OUT,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => EXIT_RESET,
        _ => 1,
    }
}

/// A byte counter on stderr, only when stderr is a terminal and stdout is not (a download).
fn progress() -> ProgressBar {
    if !std::io::stderr().is_terminal() || std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {bytes} received ({bytes_per_sec}) {elapsed}")
    {
        pb.set_style(style);
    }
    pb
}

/// Runs `synack connect`.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.target.is_ipv4() != args.tun.addr.0.addr().is_ipv4() {
        anyhow::bail!(
            "{} and --addr {} are of different IP versions",
            args.target,
            args.tun.addr.0
        );
    }
    let stop = tunhost::stop_flag()?;
    let stack = tunhost::start(&args.tun)?;
    if args.verbose {
        tunhost::print_events(&stack);
    }
    let conn = match TcpStream::connect_timeout(
        &stack,
        &args.target,
        Duration::from_secs(args.timeout.max(1)),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("synack: connect to {}: {e}", args.target);
            tunhost::finish(stack);
            return Ok(ExitCode::from(exit_for(&e)));
        }
    };
    if args.verbose {
        eprintln!("connected to {} from {}", args.target, conn.local_addr()?);
    }
    let writer = conn.try_clone()?;
    // stdin -> connection, then our FIN. The thread may stay blocked on stdin after the peer
    // has finished; the process exits without waiting for it.
    let stdin_err = std::sync::Arc::new(std::sync::Mutex::new(None::<std::io::Error>));
    let se = stdin_err.clone();
    std::thread::spawn(move || {
        let mut w = writer;
        let r = std::io::copy(&mut std::io::stdin().lock(), &mut w)
            .and_then(|_| w.shutdown(Shutdown::Write));
        if let Err(e) = r
            && let Ok(mut g) = se.lock()
        {
            *g = Some(e);
        }
    });
    let mut reader = conn;
    reader.set_read_timeout(Some(Duration::from_millis(200)))?;
    let pb = progress();
    let mut out = std::io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    let mut code = 0u8;
    loop {
        if stop.load(Ordering::Relaxed) {
            code = 130;
            break;
        }
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = out.write_all(&buf[..n]) {
                    // stdout went away (a closed pipe): stop like netcat does.
                    if e.kind() == ErrorKind::BrokenPipe {
                        break;
                    }
                    return Err(e.into());
                }
                pb.inc(n as u64);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
            Err(e) => {
                eprintln!("synack: {}: {e}", args.target);
                code = exit_for(&e);
                break;
            }
        }
    }
    out.flush()?;
    pb.finish_and_clear();
    if let Ok(g) = stdin_err.lock()
        && let Some(e) = g.as_ref()
        && code == 0
    {
        eprintln!("synack: sending: {e}");
        code = exit_for(e);
    }
    // Close our end (FIN, or nothing more if already sent) and let the stack say it.
    drop(reader);
    std::thread::sleep(Duration::from_millis(100));
    tunhost::finish(stack);
    Ok(ExitCode::from(code))
}
