//! TCP MD5 signatures (RFC 2385) against segments Linux 6.18 signed: a SYN and a data segment
//! captured on loopback between two sockets given the key `synack-md5-test` with
//! `TCP_MD5SIG` (see `tests/data/capture-md5.py`). Linux computed these digests; ours must
//! agree byte for byte, on the raw bytes and on the parsed representation. (Loopback leaves
//! the checksum field partial, so it is skipped.)

use core::net::{IpAddr, Ipv4Addr};

use synack_wire::ChecksumMode;
use synack_wire::tcp::md5sig::{self, segment_digest, sign, verify_repr};
use synack_wire::tcp::{OptionLayout, TcpOptions, TcpRepr, options};

const KEY: &[u8] = b"synack-md5-test";

fn lo() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// `127.0.0.1.48678 > 127.0.0.1.47179: Flags [S], seq 2552915932, win 65495, options
/// [nop,nop,md5 ..,mss 65495,nop,nop,sackOK,nop,wscale 10]`
const LINUX_SYN: &str = "be26b84b982a67dc00000000d002ffd7fe3c000001011312b923421e9a470764dde3\
50554cc09c8d0204ffd7010104020103030a";
/// `127.0.0.1.48678 > 127.0.0.1.47179: Flags [P.], seq 1:20, ack 1, win 64, options
/// [nop,nop,md5 ..], length 19` (payload `hello, signed world`)
const LINUX_DATA: &str = "be26b84b982a67ddc308ee25a0180040fe43000001011312519e6128eba7ace8d98e\
f8ae1240bb6d68656c6c6f2c207369676e656420776f726c64";

#[test]
fn digests_of_linux_segments_match() {
    for (hex, want) in [
        (LINUX_SYN, "b923421e9a470764dde350554cc09c8d"),
        (LINUX_DATA, "519e6128eba7ace8d98ef8ae1240bb6d"),
    ] {
        let seg = unhex(hex);
        assert_eq!(segment_digest(lo(), lo(), &seg, KEY).unwrap().to_vec(), unhex(want));
        let repr = TcpRepr::parse_bytes(&seg, lo(), lo(), ChecksumMode::Skip).unwrap();
        assert_eq!(repr.options.md5.unwrap().to_vec(), unhex(want));
        assert!(verify_repr(&repr, lo(), lo(), KEY));
        assert!(!verify_repr(&repr, lo(), lo(), b"synack-md5-tesT"));
        // Another address changes the pseudo-header, so the digest.
        let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert!(!verify_repr(&repr, other, lo(), KEY));
    }
}

/// tcpdump 4.99's line for the captured SYN (`tcpdump -nn -t -S`, no `-M`).
#[test]
fn tcpdump_text_of_a_signed_syn() {
    let seg = unhex(LINUX_SYN);
    let repr = TcpRepr::parse_bytes(&seg, lo(), lo(), ChecksumMode::Skip).unwrap();
    let line = synack_wire::dump::TcpDumpLine { src: lo(), dst: lo(), tcp: &repr, relative: None };
    assert_eq!(
        line.to_string(),
        "IP 127.0.0.1.48678 > 127.0.0.1.47179: Flags [S], seq 2552915932, win 65495, options \
         [nop,nop,md5 shared secret not supplied with -M, can't check - \
         b923421e9a470764dde350554cc09c8d,mss 65495,nop,nop,sackOK,nop,wscale 10], length 0"
    );
}

#[test]
fn linux_layout_re_emits_the_linux_syn() {
    let seg = unhex(LINUX_SYN);
    let repr = TcpRepr::parse_bytes(&seg, lo(), lo(), ChecksumMode::Skip).unwrap();
    assert_eq!(repr.raw_options, None, "typed options rebuild Linux's bytes");
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut out, lo(), lo(), ChecksumMode::Skip).unwrap();
    out[16..18].copy_from_slice(&seg[16..18]);
    assert_eq!(out, seg);
}

#[test]
fn signing_a_reserved_option_gives_the_linux_digest() {
    let seg = unhex(LINUX_DATA);
    let mut repr = TcpRepr::parse_bytes(&seg, lo(), lo(), ChecksumMode::Skip).unwrap();
    repr.options.md5 = Some([0; 16]);
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut out, lo(), lo(), ChecksumMode::Skip).unwrap();
    assert!(sign(lo(), lo(), &mut out, KEY).is_some());
    out[16..18].copy_from_slice(&seg[16..18]); // the checksum, which signing leaves alone
    assert_eq!(out, seg);
}

#[test]
fn a_segment_without_the_option_is_not_signed() {
    let mut seg = unhex("be26b84b982a67dc00000000500200000000000000");
    seg.truncate(20);
    let before = seg.clone();
    assert!(sign(lo(), lo(), &mut seg, KEY).is_none());
    assert_eq!(seg, before);
    let repr = TcpRepr::parse_bytes(&seg, lo(), lo(), ChecksumMode::Skip).unwrap();
    assert!(!verify_repr(&repr, lo(), lo(), KEY));
}

#[test]
fn option_layouts() {
    let o = TcpOptions {
        mss: Some(1460),
        sack_permitted: true,
        md5: Some([7; 16]),
        ..TcpOptions::default()
    };
    let mut b = [0u8; 40];
    // FreeBSD's SYN-ACK `mss,sackOK,md5` (the signature at 2 mod 4 needs no NOP there).
    let n = options::write_layout(&o, OptionLayout::Bsd, &mut b).unwrap();
    assert_eq!(&b[..8], &[2, 4, 0x05, 0xb4, 4, 2, 19, 18]);
    assert_eq!(n, 24);
    // Linux: `nop,nop,md5` first.
    let n = options::write_layout(&o, OptionLayout::Linux, &mut b).unwrap();
    assert_eq!(&b[..4], &[1, 1, 19, 18]);
    assert_eq!(n, 20 + 4 + 4);
    assert_eq!(options::collect(&b[..n]).unwrap(), o);
    // A data segment of FreeBSD with timestamps: `nop,nop,TS,nop,nop,md5`.
    let d = TcpOptions {
        timestamps: Some(synack_wire::tcp::Timestamps { tsval: 1, tsecr: 2 }),
        md5: Some([0; 16]),
        ..TcpOptions::default()
    };
    let n = options::write_layout(&d, OptionLayout::Bsd, &mut b).unwrap();
    assert_eq!(n, 32);
    assert_eq!(&b[12..16], &[1, 1, 19, 18]);
    // An MD5 option of the wrong length is not taken for a signature.
    assert_eq!(options::collect(&[19, 4, 0, 0]).unwrap().md5, None);
    assert_eq!(md5sig::MAX_KEY_LEN, 80);
}
