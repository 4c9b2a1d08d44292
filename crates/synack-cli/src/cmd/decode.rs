//! `synack decode HEX`: parse one packet and print its tcpdump-style line.
//!
//! The hex starts at the IP header (version picked from the first nibble), or at an Ethernet II
//! header with `--ethernet` (then ARP decodes too). Checksums are verified; a packet whose
//! checksum is wrong still prints, with a warning on stderr and exit status 2.

use anyhow::{Context, bail};
use std::process::ExitCode;
use synack_wire::dump::{ArpLine, PacketLine};
use synack_wire::{
    ArpPacket, ArpRepr, ChecksumMode, Error, EtherType, EthernetFrame, IpPacketRepr,
};

/// Arguments of `synack decode`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The packet as hex (spaces, colons and a leading 0x allowed).
    hex: Vec<String>,
    /// The bytes start with an Ethernet II header rather than the IP header.
    #[arg(long)]
    ethernet: bool,
    /// Do not verify checksums (for captures where the NIC or loopback left them partial).
    #[arg(long)]
    no_verify: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = parse_hex(&args.hex.join(""))?;
    let mode = if args.no_verify { ChecksumMode::Skip } else { ChecksumMode::Verify };
    let (line, warning) = decode(&bytes, args.ethernet, mode)?;
    println!("{line}");
    match warning {
        None => Ok(ExitCode::SUCCESS),
        Some(w) => {
            eprintln!("synack: warning: {w}");
            Ok(ExitCode::from(2))
        }
    }
}

/// The tcpdump-style line for one packet, and a warning when its checksum is wrong (the line
/// is then made without verifying).
fn decode(
    bytes: &[u8],
    ethernet: bool,
    mode: ChecksumMode,
) -> anyhow::Result<(String, Option<Error>)> {
    let ip: &[u8] = if ethernet {
        let frame = EthernetFrame::new_checked(bytes).context("Ethernet header")?;
        match frame.ethertype() {
            EtherType::IPV4 | EtherType::IPV6 => &bytes[14..],
            EtherType::ARP => {
                let arp = ArpRepr::parse(&ArpPacket::new_checked(&bytes[14..])?)?;
                return Ok((ArpLine { arp: &arp, len: bytes.len() - 14 }.to_string(), None));
            }
            EtherType(t) => bail!("ethertype 0x{t:04x} is not decoded"),
        }
    } else {
        bytes
    };
    match IpPacketRepr::parse(ip, mode) {
        Ok(p) => Ok((PacketLine { packet: &p, relative: None }.to_string(), None)),
        Err(e @ Error::BadChecksum { .. }) => {
            let p = IpPacketRepr::parse(ip, ChecksumMode::Skip)?;
            Ok((PacketLine { packet: &p, relative: None }.to_string(), Some(e)))
        }
        Err(e) => Err(e).context("cannot decode packet"),
    }
}

fn parse_hex(s: &str) -> anyhow::Result<Vec<u8>> {
    let s = s.trim();
    let s = s.strip_prefix("0x").unwrap_or(s);
    let digits: Vec<u8> = s
        .bytes()
        .filter(|c| !matches!(c, b' ' | b':' | b'\n' | b'\t' | b'-'))
        .map(|c| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => bail!("not a hex digit: {:?}", c as char),
        })
        .collect::<anyhow::Result<_>>()?;
    if !digits.len().is_multiple_of(2) {
        bail!("odd number of hex digits ({})", digits.len());
    }
    Ok(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::{decode, parse_hex};
    use synack_wire::{ChecksumMode, Error, Layer};

    /// The README's example: a real Linux SYN.
    const README_SYN: &str = "4500003c19f3400040060cc70a0000010a000002dd481389694e850f00000000a002faf090db0000020405b40402080a382a90d4000000000103030a";

    #[test]
    fn readme_example_prints_tcpdumps_line() {
        let (line, warn) =
            decode(&parse_hex(README_SYN).unwrap(), false, ChecksumMode::Verify).unwrap();
        assert_eq!(
            line,
            "IP 10.0.0.1.56648 > 10.0.0.2.5001: Flags [S], seq 1766753551, win 64240, options [mss 1460,sackOK,TS val 942313684 ecr 0,nop,wscale 10], length 0"
        );
        assert_eq!(warn, None);
    }

    #[test]
    fn bad_checksum_still_prints_with_a_warning() {
        let mut b = parse_hex(README_SYN).unwrap();
        b[36] ^= 1; // inside the TCP checksum field
        let (line, warn) = decode(&b, false, ChecksumMode::Verify).unwrap();
        assert!(line.starts_with("IP 10.0.0.1.56648 > 10.0.0.2.5001: Flags [S]"));
        assert_eq!(warn, Some(Error::BadChecksum { layer: Layer::Tcp }));
        assert!(decode(&b[..30], false, ChecksumMode::Verify).is_err());
    }

    #[test]
    fn hex_with_separators() {
        assert_eq!(parse_hex("0x45 00:0a").unwrap(), vec![0x45, 0x00, 0x0a]);
        assert!(parse_hex("450").is_err());
        assert!(parse_hex("4g").is_err());
    }
}
