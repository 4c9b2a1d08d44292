//! Bulk transfer between synack on a TUN device and the kernel, through the blocking API with
//! 1 MiB reads and writes: the TUN benchmark without the command-line tool's own I/O (stdin
//! pipe, 8 KiB copies), and with the socket buffer size as a knob. A measurement tool, not a
//! test; `crates/synack-cli/bench/tun-throughput.sh` runs it next to `synack serve`/`connect`.
//!
//! ```text
//! # root, inside a network namespace (the device is created in the caller's namespace):
//! tun_bulk IFNAME A/N K/N send HOST:PORT MEGABYTES [BUFFER_KIB]   # synack -> kernel
//! tun_bulk IFNAME A/N K/N recv PORT [BUFFER_KIB]                  # kernel -> synack, one conn
//! ```
//!
//! Prints `READY` once listening (recv), then one line: bytes, seconds, Gbit/s, and the
//! driver's frames and wake-ups.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use synack::net::{TcpListener, TcpStream};
use synack::runtime::StackConfig;
use synack::{Clock, IpCidr, Stack};
use synack_tcp::State;
use synack_tun::{TunDevice, config};

const CHUNK: usize = 1 << 20;

fn cidr(s: &str) -> Result<IpCidr, String> {
    let (a, n) = s.split_once('/').ok_or_else(|| format!("{s:?} is not ADDRESS/PREFIX"))?;
    let a = a.parse().map_err(|e| format!("{a:?}: {e}"))?;
    let n = n.parse().map_err(|e| format!("{n:?}: {e}"))?;
    IpCidr::new(a, n).map_err(|e| e.to_string())
}

fn start(ifname: &str, ours: IpCidr, kernel: IpCidr, buf_kib: usize) -> Result<Arc<Stack>, String> {
    let dev = TunDevice::open(ifname, 1500).map_err(|e| format!("opening {ifname}: {e}"))?;
    let name = dev.name().to_string();
    config::set_mtu(&name, 1500).map_err(|e| e.to_string())?;
    config::add_address(&name, kernel.addr(), kernel.prefix()).map_err(|e| e.to_string())?;
    config::set_up(&name).map_err(|e| e.to_string())?;
    let mut cfg = StackConfig { addresses: vec![ours], ..StackConfig::default() };
    cfg.endpoint.conn.send_buffer = buf_kib * 1024;
    cfg.endpoint.conn.recv_buffer = buf_kib * 1024;
    Stack::new(dev, cfg, Clock::start()).map(Arc::new).map_err(|e| e.to_string())
}

fn report(stack: &Stack, bytes: u64, secs: f64) {
    let st = stack.with(|st, _| st.stats());
    println!(
        "{bytes} bytes in {secs:.2} s = {:.3} Gbit/s; driver: {} frames in, {} out, {} wake-ups",
        bytes as f64 * 8.0 / secs / 1e9,
        st.frames_in,
        st.frames_out,
        st.wakeups
    );
}

fn run(args: &[String]) -> Result<(), String> {
    let usage =
        "usage: tun_bulk IFNAME A/N K/N (send HOST:PORT MEGABYTES | recv PORT) [BUFFER_KIB]";
    let [ifname, ours, kernel, mode, rest @ ..] = args else { return Err(usage.into()) };
    let (ours, kernel) = (cidr(ours)?, cidr(kernel)?);
    let num = |s: &String| s.parse::<usize>().map_err(|e| format!("{s:?}: {e}"));
    match (mode.as_str(), rest) {
        ("send", [peer, mb, buf @ ..]) => {
            let peer: SocketAddr = peer.parse().map_err(|e| format!("{peer:?}: {e}"))?;
            let total = num(mb)? << 20;
            let buf_kib = buf.first().map(num).transpose()?.unwrap_or(256);
            let stack = start(ifname, ours, kernel, buf_kib)?;
            let mut s = TcpStream::connect_timeout(&stack, &peer, Duration::from_secs(10))
                .map_err(|e| format!("connect {peer}: {e}"))?;
            let data = vec![0u8; CHUNK];
            let t0 = stack.now();
            let mut left = total;
            while left > 0 {
                let k = left.min(CHUNK);
                s.write_all(&data[..k]).map_err(|e| format!("write: {e}"))?;
                left -= k;
            }
            s.shutdown(Shutdown::Write).map_err(|e| format!("shutdown: {e}"))?;
            let mut sink = [0u8; 64];
            while s.read(&mut sink).map_err(|e| format!("read: {e}"))? > 0 {}
            let secs = stack.now().saturating_since(t0).as_secs_f64();
            report(&stack, total as u64, secs);
            Ok(())
        }
        ("recv", [port, buf @ ..]) => {
            let port: u16 = port.parse().map_err(|e| format!("{port:?}: {e}"))?;
            let buf_kib = buf.first().map(num).transpose()?.unwrap_or(256);
            let stack = start(ifname, ours, kernel, buf_kib)?;
            let l = TcpListener::bind(&stack, SocketAddr::new(ours.addr(), port))
                .map_err(|e| format!("bind: {e}"))?;
            println!("READY");
            let _ = std::io::stdout().flush();
            let (mut s, _) =
                l.accept_timeout(Duration::from_secs(60)).map_err(|e| format!("accept: {e}"))?;
            let t0 = stack.now();
            let mut buf = vec![0u8; CHUNK];
            let mut n = 0u64;
            loop {
                match s.read(&mut buf).map_err(|e| format!("read: {e}"))? {
                    0 => break,
                    k => n += k as u64,
                }
            }
            let secs = stack.now().saturating_since(t0).as_secs_f64();
            // Our FIN, and its ACK, before the stack stops with the process.
            s.shutdown(Shutdown::Write).map_err(|e| format!("shutdown: {e}"))?;
            for _ in 0..500 {
                if !matches!(s.state(), Ok(State::LastAck | State::CloseWait)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            report(&stack, n, secs);
            Ok(())
        }
        _ => Err(usage.into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tun_bulk: {e}");
            ExitCode::FAILURE
        }
    }
}
