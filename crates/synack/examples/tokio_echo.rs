//! The Echo service from the project's study notes, on the tokio API, no root needed.
//!
//! Two synack stacks joined by the in-memory link; a tokio task per connection on the server
//! (10.0.0.2:2333) greets, answers `Echo: <line>` and closes after `bye`. Three clients run at
//! once on the other stack. Both sides split their streams with `into_split`: lines are read
//! through a `BufReader` on the read half and written on the write half.
//!
//! ```text
//! cargo run -p synack --example tokio_echo
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use synack::net::memory_pair;
use synack::tokio::{TcpListener, TcpStream};
use synack::{IpCidr, Stack};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::timeout;

const SERVER: &str = "10.0.0.2:2333";

async fn serve(stream: TcpStream) -> io::Result<()> {
    let peer = stream.peer_addr()?;
    let (rd, mut wr) = stream.into_split();
    wr.write_all(b"Hello! Enter BYE to exit.\r\n").await?;
    let mut lines = BufReader::new(rd).lines();
    while let Some(line) = lines.next_line().await? {
        wr.write_all(format!("Echo: {line}\r\n").as_bytes()).await?;
        if line.trim().eq_ignore_ascii_case("bye") {
            break;
        }
    }
    println!("[server] {peer} done; closing");
    Ok(())
}

/// A client: sends `words` then `bye`, one line at a time, printing the dialogue.
async fn client(stack: Arc<Stack>, n: usize, words: &[&str]) -> io::Result<()> {
    let addr: SocketAddr = SERVER.parse().unwrap();
    let stream = timeout(Duration::from_secs(5), TcpStream::connect(&stack, addr)).await??;
    let me = stream.local_addr()?;
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    let greeting = lines.next_line().await?.unwrap_or_default();
    println!("[client {n} {me}] < {greeting}");
    for w in words.iter().chain(["bye"].iter()) {
        wr.write_all(format!("{w}\r\n").as_bytes()).await?;
        let reply = timeout(Duration::from_secs(5), lines.next_line()).await??;
        println!("[client {n} {me}] > {w} < {}", reply.unwrap_or_default());
    }
    // After "bye" the server closes: the stream ends.
    let end = timeout(Duration::from_secs(5), lines.next_line()).await??;
    println!("[client {n} {me}] end of stream: {}", end.is_none());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cidr = |ip: &str| IpCidr::new(ip.parse().unwrap(), 24).unwrap();
    let (client_stack, server_stack) = memory_pair(cidr("10.0.0.1"), cidr("10.0.0.2"))?;

    let listener = TcpListener::bind(&server_stack, SERVER).await?;
    println!("[server] listening on {}", listener.local_addr()?);
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((s, _)) => {
                    tokio::spawn(async move {
                        if let Err(e) = serve(s).await {
                            eprintln!("[server] {e}");
                        }
                    });
                }
                Err(e) => eprintln!("[server] accept: {e}"),
            }
        }
    });

    let sessions =
        [vec!["a", "hello echo server!"], vec!["tokio", "over", "synack"], vec!["third client"]];
    let mut tasks = Vec::new();
    for (n, words) in sessions.into_iter().enumerate() {
        let stack = client_stack.clone();
        tasks.push(tokio::spawn(async move { client(stack, n, &words).await }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}
