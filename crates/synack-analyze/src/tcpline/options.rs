//! TCP options as tcpdump 4.99 prints them (`-nn`), with its `[bad opt]`, `[len N]` and
//! truncation marks: the standard options, MD5, UTO, SCPS, TCP-AO, Fast Open, the RFC 6994
//! experiments and MPTCP.

use core::fmt::Write;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::{be16, be32, be64};

/// How an option list ended early.
pub(super) enum Stop {
    /// tcpdump's `goto bad`: a malformed option.
    Bad,
    /// tcpdump's `goto trunc`: the bytes were not captured.
    Trunc,
    /// A read past the captured bytes outside a length check (tcpdump's longjmp).
    Jump,
}

pub(super) struct OptCtx {
    pub(super) flags: u8,
    pub(super) rev: bool,
    pub(super) th_seq: u32,
    pub(super) th_ack: u32,
    /// The whole segment was captured (tcpdump can only try to check an MD5 signature then).
    pub(super) md5_data_captured: bool,
}

/// Writes the options (without brackets); `cap` holds the captured option bytes, `hlen` the
/// option length the header claims. The error says how it stopped and whether an option came
/// before the stop.
pub(super) fn options(
    out: &mut String,
    cap: &[u8],
    mut hlen: usize,
    ctx: &OptCtx,
) -> Result<(), (Stop, bool)> {
    let mut cp = 0usize;
    let mut any = false;
    while hlen > 0 {
        if any {
            out.push(',');
        }
        let Some(&opt) = cap.get(cp) else { return Err((Stop::Jump, any)) };
        cp += 1;
        let len = if opt <= 1 {
            1
        } else {
            let Some(&l) = cap.get(cp) else { return Err((Stop::Jump, any)) };
            cp += 1;
            let l = usize::from(l);
            if l < 2 || l > hlen {
                return Err((Stop::Bad, any));
            }
            hlen -= 1;
            l
        };
        hlen -= 1;
        let body = &cap[cp.min(cap.len())..];
        // tcpdump's LENCHECK: `l` bytes must be left in the header and captured.
        let check = |l: usize, hlen: usize| -> Result<(), (Stop, bool)> {
            if l > hlen {
                Err((Stop::Bad, any))
            } else if l > body.len() {
                Err((Stop::Trunc, any))
            } else {
                Ok(())
            }
        };
        let name = match opt {
            0 => "eol",
            1 => "nop",
            2 => "mss",
            3 => "wscale",
            4 => "sackOK",
            5 => "sack",
            6 => "echo",
            7 => "echoreply",
            8 => "TS",
            11 => "cc",
            12 => "ccnew",
            13 => "",
            19 => "md5",
            20 => "scps",
            28 => "uto",
            29 => "tcp-ao",
            30 => "mptcp",
            34 => "tfo",
            254 => "exp",
            _ => "",
        };
        if name.is_empty() && opt != 13 {
            let _ = write!(out, "unknown-{opt}");
        } else {
            out.push_str(name);
        }
        let mut datalen = 0usize;
        match opt {
            0 | 1 | 4 => {}
            2 => {
                datalen = 2;
                check(2, hlen)?;
                let _ = write!(out, " {}", be16(body, 0).unwrap_or(0));
            }
            3 => {
                datalen = 1;
                check(1, hlen)?;
                let _ = write!(out, " {}", body[0]);
            }
            5 => {
                datalen = len - 2;
                if !datalen.is_multiple_of(8) {
                    out.push_str(" invalid sack");
                } else {
                    let _ = write!(out, " {} ", datalen / 8);
                    let mut i = 0;
                    while i < datalen {
                        check(i + 4, hlen)?;
                        let mut s = be32(body, i).unwrap_or(0);
                        check(i + 8, hlen)?;
                        let mut e = be32(body, i + 4).unwrap_or(0);
                        let base = if ctx.rev { ctx.th_seq } else { ctx.th_ack };
                        s = s.wrapping_sub(base);
                        e = e.wrapping_sub(base);
                        let _ = write!(out, "{{{s}:{e}}}");
                        i += 8;
                    }
                }
            }
            6 | 7 | 11 | 12 | 13 => {
                datalen = 4;
                check(4, hlen)?;
                let _ = write!(out, " {}", be32(body, 0).unwrap_or(0));
            }
            8 => {
                datalen = 8;
                check(8, hlen)?;
                let _ = write!(
                    out,
                    " val {} ecr {}",
                    be32(body, 0).unwrap_or(0),
                    be32(body, 4).unwrap_or(0)
                );
            }
            19 => {
                datalen = 16;
                check(16, hlen)?;
                out.push(' ');
                if ctx.md5_data_captured {
                    out.push_str("shared secret not supplied with -M, ");
                } else {
                    out.push_str("snaplen too short, ");
                }
                out.push_str("can't check - ");
                hex(out, &body[..16]);
            }
            20 => {
                datalen = 2;
                check(2, hlen)?;
                let _ = write!(out, " cap {:02x} id {}", body[0], body[1]);
            }
            29 => {
                datalen = len - 2;
                if datalen < 2 {
                    out.push_str(" (invalid)");
                } else {
                    check(1, hlen)?;
                    let _ = write!(out, " keyid {}", body[0]);
                    check(2, hlen)?;
                    let _ = write!(out, " rnextkeyid {}", body[1]);
                    if datalen > 2 {
                        out.push_str(" mac 0x");
                        for i in 2..datalen {
                            check(i + 1, hlen)?;
                            let _ = write!(out, "{:02x}", body.get(i).copied().unwrap_or(0));
                        }
                    }
                }
            }
            28 => {
                datalen = 2;
                check(2, hlen)?;
                let v = be16(body, 0).unwrap_or(0);
                let secs = if v & 1 != 0 { u32::from(v >> 1) * 60 } else { u32::from(v >> 1) };
                let _ = write!(out, " 0x{v:x} {secs}");
            }
            30 => {
                datalen = len - 2;
                check(datalen, hlen)?;
                // The option with its kind and length bytes, as tcpdump's MPTCP printer sees it.
                let mut whole = vec![30u8, len as u8];
                whole.extend_from_slice(&body[..datalen]);
                if !mptcp(out, &whole, ctx.flags) {
                    return Err((Stop::Bad, any));
                }
            }
            34 => {
                datalen = len - 2;
                check(datalen, hlen)?;
                out.push(' ');
                fast_open_cookie(out, &body[..datalen]);
            }
            254 => {
                datalen = len - 2;
                check(datalen, hlen)?;
                if datalen < 2 {
                    return Err((Stop::Bad, any));
                }
                out.push('-');
                let magic = be16(body, 0).unwrap_or(0);
                if magic == 0xf989 {
                    out.push_str("tfo");
                    fast_open_cookie(out, &body[2..datalen]);
                } else {
                    let _ = write!(out, "{magic:04x}");
                }
            }
            _ => {
                datalen = len - 2;
                if datalen > 0 {
                    out.push_str(" 0x");
                }
                for i in 0..datalen {
                    check(i + 1, hlen)?;
                    let _ = write!(out, "{:02x}", body.get(i).copied().unwrap_or(0));
                }
            }
        }
        cp += datalen;
        hlen -= datalen;
        let seen = datalen + 1 + usize::from(opt > 1);
        if seen != len {
            let _ = write!(out, "[len {len}]");
        }
        any = true;
        if opt == 0 {
            break;
        }
    }
    Ok(())
}

fn hex(out: &mut String, b: &[u8]) {
    for x in b {
        let _ = write!(out, "{x:02x}");
    }
}

fn fast_open_cookie(out: &mut String, c: &[u8]) {
    if c.is_empty() {
        out.push_str(" cookiereq");
    } else if !c.len().is_multiple_of(2) || c.len() < 4 || c.len() > 16 {
        out.push_str(" (invalid)");
    } else {
        out.push_str(" cookie ");
        hex(out, c);
    }
}

/// tcpdump's Multipath TCP option text (RFC 8684, and RFC 6824's version 0): the length, the
/// subtype's name and its fields. `opt` is the whole option; false when tcpdump calls it bad.
fn mptcp(out: &mut String, opt: &[u8], flags: u8) -> bool {
    let len = opt.len();
    if len < 3 {
        return false;
    }
    let (syn, ackf) = (flags & 0x02 != 0, flags & 0x10 != 0);
    let subtype = (opt[2] >> 4).min(8);
    let names =
        ["capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close", "unknown"];
    let _ = write!(out, " {len} {}", names[usize::from(subtype)]);
    let u8at = |i: usize| opt.get(i).copied().unwrap_or(0);
    match subtype {
        0 => {
            if !((len == 12 || len == 4) && syn) && !((len == 20 || len == 22) && ackf && !syn) {
                return false;
            }
            let version = opt[2] & 0x0f;
            if version > 1 {
                let _ = write!(out, " Unknown Version ({version})");
                return true;
            }
            let _ = write!(out, " v{version}");
            if u8at(3) & 0x80 != 0 {
                out.push_str(" csum");
            }
            if len == 12 || len >= 20 {
                let _ = write!(out, " {{0x{:x}", be64(opt, 4).unwrap_or(0));
                if len >= 20 {
                    let _ = write!(out, ",0x{:x}", be64(opt, 12).unwrap_or(0));
                }
                out.push('}');
            }
            true
        }
        1 => {
            if !((len == 12 && syn) || (len == 16 && syn && ackf) || (len == 24 && ackf)) {
                return false;
            }
            if len != 24 {
                if opt[2] & 0x01 != 0 {
                    out.push_str(" backup");
                }
                let _ = write!(out, " id {}", u8at(3));
            }
            match len {
                12 => {
                    let _ = write!(
                        out,
                        " token 0x{:x} nonce 0x{:x}",
                        be32(opt, 4).unwrap_or(0),
                        be32(opt, 8).unwrap_or(0)
                    );
                }
                16 => {
                    let _ = write!(
                        out,
                        " hmac 0x{:x} nonce 0x{:x}",
                        be64(opt, 4).unwrap_or(0),
                        be32(opt, 12).unwrap_or(0)
                    );
                }
                _ => {
                    out.push_str(" hmac 0x");
                    hex(out, &opt[4..24]);
                }
            }
            true
        }
        2 => {
            if len < 4 || syn {
                return false;
            }
            let f = opt[3];
            if f & 0x10 != 0 {
                out.push_str(" fin");
            }
            let mut at = 4;
            if f & 0x01 != 0 {
                out.push_str(" ack ");
                if f & 0x02 != 0 {
                    let Some(v) = be64(opt, at) else { return false };
                    let _ = write!(out, "{v}");
                    at += 8;
                } else {
                    let Some(v) = be32(opt, at) else { return false };
                    let _ = write!(out, "{v}");
                    at += 4;
                }
            }
            if f & 0x04 != 0 {
                out.push_str(" seq ");
                if f & 0x08 != 0 {
                    let Some(v) = be64(opt, at) else { return false };
                    let _ = write!(out, "{v}");
                    at += 8;
                } else {
                    let Some(v) = be32(opt, at) else { return false };
                    let _ = write!(out, "{v}");
                    at += 4;
                }
                let Some(v) = be32(opt, at) else { return false };
                let _ = write!(out, " subseq {v}");
                at += 4;
                let Some(v) = be16(opt, at) else { return false };
                let _ = write!(out, " len {v}");
                at += 2;
                if len - at >= 2 {
                    let _ = write!(out, " csum 0x{:x}", be16(opt, at).unwrap_or(0));
                    at += 2;
                }
            }
            at == len
        }
        3 => {
            if ![8, 10, 16, 18, 20, 22, 28, 30].contains(&len) {
                return false;
            }
            let kind = match opt[2] & 0x0f {
                6 => "v0-ip6",
                4 => "v0-ip4",
                1 => "v1-echo",
                0 => "v1",
                _ => "[bad version/echo]",
            };
            let _ = write!(out, " {kind} id {}", u8at(3));
            if len <= 18 {
                let _ = write!(out, " {}", Ipv4Addr::new(opt[4], opt[5], opt[6], opt[7]));
                if len == 10 || len == 18 {
                    let _ = write!(out, ":{}", be16(opt, 8).unwrap_or(0));
                }
                if len == 16 {
                    let _ = write!(out, " hmac 0x{:x}", be64(opt, 8).unwrap_or(0));
                }
                if len == 18 {
                    let _ = write!(out, " hmac 0x{:x}", be64(opt, 10).unwrap_or(0));
                }
            } else {
                let mut a = [0u8; 16];
                a.copy_from_slice(&opt[4..20]);
                let _ = write!(out, " {}", Ipv6Addr::from(a));
                if len == 22 || len == 30 {
                    let _ = write!(out, ":{}", be16(opt, 20).unwrap_or(0));
                }
                if len == 28 {
                    let _ = write!(out, " hmac 0x{:x}", be64(opt, 20).unwrap_or(0));
                }
                if len == 30 {
                    let _ = write!(out, " hmac 0x{:x}", be64(opt, 22).unwrap_or(0));
                }
            }
            true
        }
        4 => {
            if len < 4 {
                return false;
            }
            out.push_str(" id");
            for id in &opt[3..] {
                let _ = write!(out, " {id}");
            }
            true
        }
        5 => {
            if len != 3 && len != 4 {
                return false;
            }
            out.push_str(if opt[2] & 0x01 != 0 { " backup" } else { " non-backup" });
            if len == 4 {
                let _ = write!(out, " id {}", opt[3]);
            }
            true
        }
        6 => {
            if len != 12 {
                return false;
            }
            let _ = write!(out, " seq {}", be64(opt, 4).unwrap_or(0));
            true
        }
        7 => {
            if len != 12 {
                return false;
            }
            let _ = write!(out, " key 0x{:x}", be64(opt, 4).unwrap_or(0));
            true
        }
        _ => true,
    }
}
