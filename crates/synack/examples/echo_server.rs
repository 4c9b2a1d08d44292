//! The Echo service from the project's study notes, on the blocking API, no root needed.
//!
//! Two synack stacks (10.0.0.1 and 10.0.0.2) are joined by the in-memory link, each with its
//! own driver thread. The server on 10.0.0.2:2333 greets, answers every line with
//! `Echo: <line>`, and closes after `bye`; the client on 10.0.0.1 sends a few lines and prints
//! the conversation and its connection's TCP_INFO-like counters.
//!
//! ```text
//! cargo run -p synack --example echo_server
//! ```

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use synack::IpCidr;
use synack::net::{TcpListener, TcpStream, memory_pair};

const SERVER: &str = "10.0.0.2:2333";

/// One client's session: greeting, echoes, and the end on `bye`.
fn serve(stream: TcpStream) -> io::Result<()> {
    let peer = stream.peer_addr()?;
    let mut out = &stream;
    out.write_all(b"Hello! Enter BYE to exit.\r\n")?;
    for line in BufReader::new(&stream).lines() {
        let line = line?;
        out.write_all(format!("Echo: {line}\r\n").as_bytes())?;
        if line.trim().eq_ignore_ascii_case("bye") {
            break;
        }
    }
    println!("[server] {peer} done; closing");
    Ok(()) // dropping the stream closes the connection (FIN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cidr = |ip: &str| IpCidr::new(ip.parse().unwrap(), 24).unwrap();
    let (client_stack, server_stack) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2"))?;
    let addr: SocketAddr = SERVER.parse()?;

    let listener = TcpListener::bind(&server_stack, addr)?;
    println!("[server] listening on {}", listener.local_addr()?);
    thread::spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(s) => {
                    thread::spawn(move || {
                        if let Err(e) = serve(s) {
                            eprintln!("[server] {e}");
                        }
                    });
                }
                Err(e) => eprintln!("[server] accept: {e}"),
            }
        }
    });

    let stream = TcpStream::connect_timeout(&client_stack, &addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    println!("[client] connected {} -> {}", stream.local_addr()?, stream.peer_addr()?);
    let mut lines = BufReader::new(&stream).lines();
    let mut recv_line = || -> io::Result<String> {
        lines.next().unwrap_or_else(|| Err(io::ErrorKind::UnexpectedEof.into()))
    };
    println!("[client] < {}", recv_line()?);
    for line in ["a", "hello echo server!", "bye"] {
        println!("[client] > {line}");
        (&stream).write_all(format!("{line}\r\n").as_bytes())?;
        println!("[client] < {}", recv_line()?);
    }
    // The server closes after "bye": the next read is the end of stream.
    match recv_line() {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => println!("[client] server closed"),
        other => println!("[client] unexpected: {other:?}"),
    }
    let st = stream.stats()?;
    println!(
        "[client] state {}, segments out/in {}/{}, bytes sent/received {}/{}, srtt {:?}",
        st.state, st.segs_out, st.segs_in, st.bytes_sent, st.bytes_received, st.srtt
    );
    Ok(())
}
