//! Load generator and servers for bench/forward.sh, std only (compiled with plain `rustc -O`
//! by the script). Every client mode can speak SOCKS5 itself (`--socks5 HOST:PORT`), which is
//! how the kernel's path through the proxy is measured.
//!
//!   forward_load serve                      sink :5001, source :5002, HTTP/1.0 :5003 on [::]
//!   forward_load up    DST --bytes N --write S [--socks5 P]   upload N bytes, print Gbit/s
//!   forward_load down  DST --bytes N --write S [--socks5 P]   download N bytes, print Gbit/s
//!   forward_load conns DST --threads T --secs D [--socks5 P]  short HTTP/1.0 requests
//!   forward_load idle  DST --count N [--socks5 P]             hold N connections until stdin ends

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: u64) -> u64 {
    arg(args, name).map_or(default, |v| v.parse().expect(name))
}

/// Connects to `dst`, through the SOCKS5 proxy (no authentication) if one is given.
fn dial(dst: SocketAddr, socks: Option<SocketAddr>, timeout: Duration) -> std::io::Result<TcpStream> {
    let Some(proxy) = socks else {
        let s = TcpStream::connect_timeout(&dst, timeout)?;
        s.set_nodelay(true)?;
        return Ok(s);
    };
    let mut s = TcpStream::connect_timeout(&proxy, timeout)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(timeout))?;
    s.write_all(&[5, 1, 0])?;
    let mut r = [0u8; 2];
    s.read_exact(&mut r)?;
    let mut req = vec![5, 1, 0];
    match dst {
        SocketAddr::V4(a) => {
            req.push(1);
            req.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            req.push(4);
            req.extend_from_slice(&a.ip().octets());
        }
    }
    req.extend_from_slice(&dst.port().to_be_bytes());
    s.write_all(&req)?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head)?;
    if head[1] != 0 {
        return Err(std::io::Error::other(format!("SOCKS5 reply {}", head[1])));
    }
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        _ => return Err(std::io::Error::other("SOCKS5 reply address type")),
    };
    let mut b = vec![0u8; rest];
    s.read_exact(&mut b)?;
    s.set_read_timeout(None)?;
    Ok(s)
}

fn serve() {
    let spawn_listener = |port: u16, f: fn(TcpStream)| {
        let l = TcpListener::bind(("::", port)).expect("bind");
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::Builder::new().stack_size(64 * 1024).spawn(move || f(s)).ok();
            }
        });
    };
    // Sink: reads the byte count, then that many bytes (or to EOF), answers with the count
    // it read. No half-close is needed: microsocks ends both directions on the first FIN.
    spawn_listener(5001, |mut s| {
        let mut h = [0u8; 8];
        if s.read_exact(&mut h).is_err() {
            return;
        }
        let want = u64::from_be_bytes(h);
        let mut b = vec![0u8; 1 << 20];
        let mut n = 0u64;
        while n < want {
            match s.read(&mut b) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k as u64,
            }
        }
        let _ = s.write_all(&n.to_be_bytes());
    });
    // Source: reads the byte count and the write size, sends that many bytes.
    spawn_listener(5002, |mut s| {
        let mut h = [0u8; 16];
        if s.read_exact(&mut h).is_err() {
            return;
        }
        let n = u64::from_be_bytes(h[..8].try_into().unwrap());
        let w = u64::from_be_bytes(h[8..].try_into().unwrap()).clamp(1, 16 << 20) as usize;
        let b = vec![0x5au8; w];
        let mut left = n;
        while left > 0 {
            let k = left.min(w as u64) as usize;
            if s.write_all(&b[..k]).is_err() {
                return;
            }
            left -= k as u64;
        }
    });
    // HTTP/1.0: one short answer, then close.
    spawn_listener(5003, |mut s| {
        let mut req = Vec::new();
        let mut b = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&b[..n]),
            }
        }
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n");
    });
    println!("serving");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("");
    if mode == "serve" {
        serve();
    }
    let host: std::net::IpAddr = args.get(2).expect("DST address").parse().expect("DST address");
    let socks: Option<SocketAddr> = arg(&args, "--socks5").map(|p| p.parse().expect("--socks5"));
    let timeout = Duration::from_secs(num(&args, "--timeout", 5));
    match mode {
        "up" | "down" => {
            let bytes = num(&args, "--bytes", 1 << 30);
            let write = num(&args, "--write", 128 << 10) as usize;
            let t0 = Instant::now();
            let got = if mode == "up" {
                let mut s = dial((host, 5001).into(), socks, timeout).expect("connect");
                let b = vec![0xa5u8; write];
                s.write_all(&bytes.to_be_bytes()).unwrap();
                let mut left = bytes;
                while left > 0 {
                    let k = left.min(write as u64) as usize;
                    s.write_all(&b[..k]).expect("write");
                    left -= k as u64;
                }
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                let mut n = [0u8; 8];
                s.read_exact(&mut n).expect("the sink's count");
                u64::from_be_bytes(n)
            } else {
                let mut s = dial((host, 5002).into(), socks, timeout).expect("connect");
                let mut h = bytes.to_be_bytes().to_vec();
                h.extend_from_slice(&(write as u64).to_be_bytes());
                s.write_all(&h).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                let mut b = vec![0u8; write];
                let mut n = 0u64;
                loop {
                    match s.read(&mut b) {
                        Ok(0) => break,
                        Ok(k) => n += k as u64,
                        Err(e) => panic!("read after {n} bytes: {e}"),
                    }
                }
                n
            };
            let secs = t0.elapsed().as_secs_f64();
            assert_eq!(got, bytes, "stalled or short transfer");
            println!("{mode} bytes={bytes} write={write} secs={secs:.3} gbps={:.3}", bytes as f64 * 8.0 / secs / 1e9);
        }
        "conns" => {
            let threads = num(&args, "--threads", 16);
            let secs = num(&args, "--secs", 10);
            let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            let kinds = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<String, u64>::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let t0 = Instant::now();
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    let (ok, failed, stop, kinds) = (ok.clone(), failed.clone(), stop.clone(), kinds.clone());
                    std::thread::spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            let r = (|| -> std::io::Result<()> {
                                let mut s = dial((host, 5003).into(), socks, timeout)?;
                                s.set_read_timeout(Some(timeout))?;
                                s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
                                let mut v = Vec::new();
                                s.read_to_end(&mut v)?;
                                if !v.ends_with(b"hello world\n") {
                                    return Err(std::io::Error::other("short answer"));
                                }
                                Ok(())
                            })();
                            match r {
                                Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                                Err(e) => {
                                    *kinds.lock().unwrap().entry(format!("{:?}", e.kind())).or_default() += 1;
                                    failed.fetch_add(1, Ordering::Relaxed)
                                }
                            };
                        }
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_secs(secs));
            stop.store(true, Ordering::Relaxed);
            for h in hs {
                h.join().unwrap();
            }
            let el = t0.elapsed().as_secs_f64();
            let (o, f) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
            let kinds = kinds.lock().unwrap();
            let why = if kinds.is_empty() { String::new() } else { format!(" errors={kinds:?}") };
            println!("conns ok={o} failed={f} secs={el:.1} per_sec={:.0}{why}", o as f64 / el);
        }
        "idle" => {
            let count = num(&args, "--count", 10_000);
            let mut held = Vec::with_capacity(count as usize);
            let mut failed = 0;
            for _ in 0..count {
                match dial((host, 5003).into(), socks, timeout) {
                    Ok(s) => held.push(s),
                    Err(_) => failed += 1,
                }
            }
            println!("idle held={} failed={failed}", held.len());
            std::io::stdout().flush().unwrap();
            let mut rest = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut rest);
        }
        _ => {
            eprintln!("usage: forward_load serve | up|down|conns|idle DST [options]");
            std::process::exit(2);
        }
    }
}
