//! A SOCKS5 client: the method negotiation and requests of RFC 1928 (CONNECT and UDP
//! ASSOCIATE), the username/password login of RFC 1929, and the header of relayed UDP
//! datagrams.
//!
//! Written here rather than taken from a crate: the clients on crates.io either lack UDP
//! ASSOCIATE or connect the datagram socket to an unspecified relay address (0.0.0.0) taken
//! verbatim from the reply, which only works when the proxy runs on the same host.

use std::io::{self, ErrorKind};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const VERSION: u8 = 5;
const METHOD_NONE: u8 = 0x00;
const METHOD_USERPASS: u8 = 0x02;
const METHOD_REFUSED: u8 = 0xFF;
const CMD_CONNECT: u8 = 0x01;
const CMD_UDP_ASSOCIATE: u8 = 0x03;
const ATYP_V4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_V6: u8 = 0x04;

/// A username and password for the RFC 1929 login (each 1 to 255 bytes).
#[derive(Clone)]
pub(crate) struct Credentials {
    user: String,
    pass: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).finish_non_exhaustive()
    }
}

impl Credentials {
    /// Checks the lengths RFC 1929 can carry.
    pub(crate) fn new(user: String, pass: String) -> Result<Credentials, String> {
        for (what, v) in [("username", &user), ("password", &pass)] {
            if v.is_empty() || v.len() > 255 {
                return Err(format!("the SOCKS5 {what} must be 1 to 255 bytes"));
            }
        }
        Ok(Credentials { user, pass })
    }
}

fn protocol(msg: String) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, format!("SOCKS5 proxy: {msg}"))
}

/// Negotiates the method (no authentication, or username/password when `creds` is given) and
/// logs in.
pub(crate) async fn handshake<S>(s: &mut S, creds: Option<&Credentials>) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match creds {
        Some(_) => s.write_all(&[VERSION, 2, METHOD_NONE, METHOD_USERPASS]).await?,
        None => s.write_all(&[VERSION, 1, METHOD_NONE]).await?,
    }
    let mut reply = [0u8; 2];
    s.read_exact(&mut reply).await?;
    if reply[0] != VERSION {
        return Err(protocol(format!("answered version {} to the greeting", reply[0])));
    }
    match (reply[1], creds) {
        (METHOD_NONE, _) => Ok(()),
        (METHOD_USERPASS, Some(c)) => login(s, c).await,
        (METHOD_REFUSED, None) => Err(io::Error::new(
            ErrorKind::PermissionDenied,
            "SOCKS5 proxy requires authentication (give --user and --pass)",
        )),
        (METHOD_REFUSED, Some(_)) => Err(io::Error::new(
            ErrorKind::PermissionDenied,
            "SOCKS5 proxy accepts neither no authentication nor username/password",
        )),
        (m, _) => Err(protocol(format!("chose method {m:#04x}, which was not offered"))),
    }
}

/// RFC 1929: version 1, the username and password each behind its length; status 0 is success.
async fn login<S>(s: &mut S, c: &Credentials) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut msg = Vec::with_capacity(3 + c.user.len() + c.pass.len());
    msg.push(1);
    msg.push(c.user.len() as u8);
    msg.extend_from_slice(c.user.as_bytes());
    msg.push(c.pass.len() as u8);
    msg.extend_from_slice(c.pass.as_bytes());
    s.write_all(&msg).await?;
    let mut reply = [0u8; 2];
    s.read_exact(&mut reply).await?;
    if reply[1] != 0 {
        return Err(io::Error::new(
            ErrorKind::PermissionDenied,
            "SOCKS5 proxy rejected the username or password",
        ));
    }
    Ok(())
}

/// Appends ATYP, the address and the port.
fn put_addr(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr.ip() {
        IpAddr::V4(a) => {
            out.push(ATYP_V4);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            out.push(ATYP_V6);
            out.extend_from_slice(&a.octets());
        }
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

/// The error a reply code stands for, with the kind a direct connection would have given.
fn reply_error(rep: u8) -> io::Error {
    let (kind, what) = match rep {
        1 => (ErrorKind::Other, "general SOCKS server failure"),
        2 => (ErrorKind::PermissionDenied, "connection not allowed by ruleset"),
        3 => (ErrorKind::NetworkUnreachable, "network unreachable"),
        4 => (ErrorKind::HostUnreachable, "host unreachable"),
        5 => (ErrorKind::ConnectionRefused, "connection refused"),
        6 => (ErrorKind::TimedOut, "TTL expired"),
        7 => (ErrorKind::Unsupported, "command not supported"),
        8 => (ErrorKind::Unsupported, "address type not supported"),
        _ => (ErrorKind::Other, "unassigned reply code"),
    };
    io::Error::new(kind, format!("SOCKS5 proxy: {what} (reply {rep})"))
}

/// Sends a request and reads the reply; returns BND.ADDR/BND.PORT (`None` if the proxy named
/// a domain there).
async fn request<S>(s: &mut S, cmd: u8, addr: SocketAddr) -> io::Result<Option<SocketAddr>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut msg = Vec::with_capacity(22);
    msg.extend_from_slice(&[VERSION, cmd, 0]);
    put_addr(&mut msg, addr);
    s.write_all(&msg).await?;
    // The reply in two reads, never past its end (relayed bytes may follow at once): the
    // fixed head with the address's first byte (enough to know the length), then the rest.
    let mut r = [0u8; 4 + 1 + 255 + 2];
    s.read_exact(&mut r[..5]).await?;
    if r[0] != VERSION {
        return Err(protocol(format!("answered version {} to a request", r[0])));
    }
    if r[1] != 0 {
        return Err(reply_error(r[1]));
    }
    let addr_len = match r[3] {
        ATYP_V4 => 4,
        ATYP_V6 => 16,
        // One length byte, then the name.
        ATYP_DOMAIN => 1 + usize::from(r[4]),
        t => return Err(protocol(format!("replied with address type {t}"))),
    };
    let end = 4 + addr_len + 2;
    s.read_exact(&mut r[5..end]).await?;
    let port = u16::from_be_bytes([r[end - 2], r[end - 1]]);
    let ip = match r[3] {
        ATYP_V4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&r[4..8]).expect("4 bytes"))),
        ATYP_V6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&r[4..20]).expect("16 bytes"))),
        _ => return Ok(None),
    };
    Ok(Some(SocketAddr::new(ip, port)))
}

/// CONNECT to `dst` over an established control connection (after [`handshake`]). On return
/// the stream carries the relayed bytes.
pub(crate) async fn connect<S>(s: &mut S, dst: SocketAddr) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    request(s, CMD_CONNECT, dst).await.map(drop)
}

/// UDP ASSOCIATE over an established control connection (after [`handshake`]): `client` is the
/// address our datagrams will come from (the unspecified address of its family if not yet
/// known). Returns the relay's address; an unspecified BND.ADDR means "the proxy's own
/// address", so `proxy`'s address is put in its place.
pub(crate) async fn udp_associate<S>(
    s: &mut S,
    client: SocketAddr,
    proxy: SocketAddr,
) -> io::Result<SocketAddr>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let relay = request(s, CMD_UDP_ASSOCIATE, client).await?;
    let relay = relay.ok_or_else(|| protocol("named its UDP relay by a domain name".into()))?;
    if relay.ip().is_unspecified() {
        return Ok(SocketAddr::new(proxy.ip(), relay.port()));
    }
    Ok(relay)
}

/// Writes a relayed datagram for `dst`: RSV(2) FRAG(1)=0, the address, then the payload.
pub(crate) fn encode_udp(dst: SocketAddr, payload: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[0, 0, 0]);
    put_addr(out, dst);
    out.extend_from_slice(payload);
}

/// Reads a datagram from the relay: the remote address it came from and the payload's offset
/// in `buf`. Fragments (FRAG != 0, which RFC 1928 lets a client decline) and domain-named
/// sources are refused with an error, as is a datagram too short for its header.
pub(crate) fn decode_udp(buf: &[u8]) -> io::Result<(SocketAddr, usize)> {
    let short = || protocol("relayed a datagram shorter than its header".into());
    if buf.len() < 4 {
        return Err(short());
    }
    if buf[2] != 0 {
        return Err(protocol(format!("relayed fragment {}, which is not supported", buf[2])));
    }
    let (ip, at) = match buf[3] {
        ATYP_V4 => {
            let a: [u8; 4] = buf.get(4..8).ok_or_else(short)?.try_into().expect("4 bytes");
            (IpAddr::V4(Ipv4Addr::from(a)), 8)
        }
        ATYP_V6 => {
            let a: [u8; 16] = buf.get(4..20).ok_or_else(short)?.try_into().expect("16 bytes");
            (IpAddr::V6(Ipv6Addr::from(a)), 20)
        }
        t => return Err(protocol(format!("relayed a datagram with address type {t}"))),
    };
    let port = buf.get(at..at + 2).ok_or_else(short)?;
    let port = u16::from_be_bytes([port[0], port[1]]);
    Ok((SocketAddr::new(ip, port), at + 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    /// A scripted proxy side: checks what the client wrote against `expect`, then answers.
    async fn script(mut s: tokio::io::DuplexStream, steps: Vec<(Vec<u8>, Vec<u8>)>) {
        for (expect, answer) in steps {
            let mut got = vec![0u8; expect.len()];
            s.read_exact(&mut got).await.unwrap();
            assert_eq!(got, expect);
            s.write_all(&answer).await.unwrap();
        }
    }

    #[test]
    fn connect_without_auth_v4_and_v6() {
        rt().block_on(async {
            for (dst, wire) in [
                ("10.1.2.3:80", vec![1, 10, 1, 2, 3, 0, 80]),
                ("[2001:db8::1]:443", {
                    let mut v = vec![4];
                    v.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
                    v.extend_from_slice(&[1, 187]);
                    v
                }),
            ] {
                let (mut c, p) = duplex(1024);
                let mut req = vec![5, 1, 0];
                req.extend_from_slice(&wire);
                let server = tokio::spawn(script(
                    p,
                    vec![
                        (vec![5, 1, 0], vec![5, 0]),
                        (req, vec![5, 0, 0, 1, 127, 0, 0, 1, 0x12, 0x34]),
                    ],
                ));
                handshake(&mut c, None).await.unwrap();
                connect(&mut c, dst.parse().unwrap()).await.unwrap();
                server.await.unwrap();
            }
        });
    }

    /// Each address type in the reply is read to its end and no further: the relayed bytes
    /// the server sends in the same write stay in the stream.
    #[test]
    fn replies_of_every_address_type_are_read_exactly() {
        rt().block_on(async {
            let mut v6 = vec![5, 0, 0, 4];
            v6.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
            v6.extend_from_slice(&[0, 9]);
            let replies: [(Vec<u8>, Option<SocketAddr>); 4] = [
                (vec![5, 0, 0, 1, 10, 0, 0, 7, 0, 9], Some("10.0.0.7:9".parse().unwrap())),
                (v6, Some("[2001:db8::7]:9".parse().unwrap())),
                ([&[5, 0, 0, 3, 4][..], b"host", &[0, 9]].concat(), None),
                (vec![5, 0, 0, 3, 0, 0, 9], None),
            ];
            for (reply, want) in replies {
                let (mut c, mut p) = duplex(1024);
                let mut answer = reply.clone();
                answer.extend_from_slice(b"relayed");
                p.write_all(&answer).await.unwrap();
                let got = request(&mut c, CMD_CONNECT, "10.1.2.3:80".parse().unwrap()).await;
                assert_eq!(got.unwrap(), want, "{reply:?}");
                let mut rest = [0u8; 7];
                c.read_exact(&mut rest).await.unwrap();
                assert_eq!(&rest, b"relayed");
            }
        });
    }

    #[test]
    fn login_then_refused_maps_to_connection_refused() {
        rt().block_on(async {
            let (mut c, p) = duplex(1024);
            let creds = Credentials::new("ann".into(), "pw".into()).unwrap();
            let server = tokio::spawn(script(
                p,
                vec![
                    (vec![5, 2, 0, 2], vec![5, 2]),
                    (vec![1, 3, b'a', b'n', b'n', 2, b'p', b'w'], vec![1, 0]),
                    (vec![5, 1, 0, 1, 10, 0, 0, 9, 0, 7], vec![5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
                ],
            ));
            handshake(&mut c, Some(&creds)).await.unwrap();
            let e = connect(&mut c, "10.0.0.9:7".parse().unwrap()).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
            server.await.unwrap();
        });
    }

    #[test]
    fn bad_password_and_no_acceptable_method_are_clear_errors() {
        rt().block_on(async {
            let creds = Credentials::new("ann".into(), "no".into()).unwrap();
            let (mut c, p) = duplex(1024);
            let server = tokio::spawn(script(
                p,
                vec![
                    (vec![5, 2, 0, 2], vec![5, 2]),
                    (vec![1, 3, b'a', b'n', b'n', 2, b'n', b'o'], vec![1, 1]),
                ],
            ));
            let e = handshake(&mut c, Some(&creds)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PermissionDenied);
            assert!(e.to_string().contains("rejected the username"), "{e}");
            server.await.unwrap();

            let (mut c, p) = duplex(1024);
            let server = tokio::spawn(script(p, vec![(vec![5, 1, 0], vec![5, 0xFF])]));
            let e = handshake(&mut c, None).await.unwrap_err();
            assert!(e.to_string().contains("requires authentication"), "{e}");
            server.await.unwrap();

            // Not a SOCKS5 server at all: an error, not a hang or a panic.
            let (mut c, p) = duplex(1024);
            let server = tokio::spawn(script(p, vec![(vec![5, 1, 0], b"HT".to_vec())]));
            let e = handshake(&mut c, None).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidData);
            server.await.unwrap();
        });
    }

    #[test]
    fn udp_associate_replaces_an_unspecified_relay_address() {
        rt().block_on(async {
            let (mut c, p) = duplex(1024);
            let server = tokio::spawn(script(
                p,
                vec![(vec![5, 3, 0, 1, 0, 0, 0, 0, 0, 0], vec![5, 0, 0, 1, 0, 0, 0, 0, 4, 1])],
            ));
            let proxy: SocketAddr = "192.0.2.7:1080".parse().unwrap();
            let relay = udp_associate(&mut c, "0.0.0.0:0".parse().unwrap(), proxy).await.unwrap();
            assert_eq!(relay, "192.0.2.7:1025".parse().unwrap());
            server.await.unwrap();
        });
    }

    #[test]
    fn udp_header_round_trips_and_rejects_bad_input() {
        let mut out = Vec::new();
        for dst in ["10.0.0.1:53", "[fd00::5]:5353"] {
            let dst: SocketAddr = dst.parse().unwrap();
            encode_udp(dst, b"query", &mut out);
            let (from, at) = decode_udp(&out).unwrap();
            assert_eq!((from, &out[at..]), (dst, &b"query"[..]));
        }
        assert!(decode_udp(&[0, 0, 0, 1, 10, 0]).is_err());
        assert!(decode_udp(&[0, 0, 1, 1, 10, 0, 0, 1, 0, 53]).is_err());
        assert!(decode_udp(&[0, 0, 0, 3, 1, b'x', 0, 53]).is_err());
        for n in 0..out.len() {
            let _ = decode_udp(&out[..n]);
        }
    }

    #[test]
    fn credentials_lengths_are_checked() {
        assert!(Credentials::new(String::new(), "p".into()).is_err());
        assert!(Credentials::new("u".into(), "x".repeat(256)).is_err());
        assert!(Credentials::new("u".into(), "x".repeat(255)).is_ok());
    }
}
