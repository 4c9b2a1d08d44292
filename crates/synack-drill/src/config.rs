//! Run settings from the script's `--option` header lines, overridden by the command line
//! (README §1.2).

use crate::ast::HeaderOption;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The settings packetdrill options control.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptConfig {
    /// `--tolerance_usecs` (default 4000).
    pub tolerance_usecs: u64,
    /// `--tolerance_percent` (default 12.5).
    pub tolerance_percent: f64,
    /// `--tcp_ts_tick_usecs` (0: TSval not checked).
    pub ts_tick_usecs: u64,
    /// `--tcp_ts_ecr_scaled`.
    pub ts_ecr_scaled: bool,
    /// `--mss`, if given: packetdrill cuts the stack's TSO/GSO packets at this size (synack
    /// sends whole segments, so outbound it changes nothing), and hands the stack an inbound
    /// packet longer than it as a GSO packet of segments this size, which the stack takes
    /// as a coalesced (GRO) segment.
    pub mss: Option<u16>,
    /// `--mtu` (default 1500).
    pub mtu: u32,
    /// Local address (default 192.168.0.1; with IPv6 fd3d:a0b:17d6::1 as Linux's kselftest uses).
    pub local_ip: IpAddr,
    /// Remote address (default 192.0.2.1; with IPv6 fd3d:fa7b:d17d::1).
    pub remote_ip: IpAddr,
    /// `--ip_version=ipv6`.
    pub ipv6: bool,
    /// Addresses given explicitly (an IP version switch then keeps them).
    explicit_addrs: (bool, bool),
    /// `--bind_port` (default 8080).
    pub bind_port: u16,
    /// `--connect_port` (default 8080).
    pub connect_port: u16,
    /// `--strict_segments`: no merging of outbound segments.
    pub strict_segments: bool,
    /// `--non_fatal=packet`: packet mismatches are noted, not fatal.
    pub non_fatal_packet: bool,
    /// `--non_fatal=syscall`: syscall mismatches are noted, not fatal.
    pub non_fatal_syscall: bool,
    /// `--tcp_md5_secret` (FreeBSD's packetdrill): the key the script's side signs inbound
    /// segments written `md5 valid` with and checks outbound `md5 valid` against (RFC 2385).
    pub tcp_md5_secret: Option<String>,
}

impl Default for ScriptConfig {
    fn default() -> Self {
        ScriptConfig {
            tolerance_usecs: 4000,
            tolerance_percent: 12.5,
            ts_tick_usecs: 0,
            ts_ecr_scaled: false,
            mss: None,
            mtu: 1500,
            local_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
            remote_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            ipv6: false,
            explicit_addrs: (false, false),
            bind_port: 8080,
            connect_port: 8080,
            strict_segments: false,
            non_fatal_packet: false,
            non_fatal_syscall: false,
            tcp_md5_secret: None,
        }
    }
}

impl ScriptConfig {
    /// Applies header options in order; an option the runner does not know, or an IPv6 run,
    /// is an error naming it (the script is then unsupported).
    pub fn apply(&mut self, opts: &[HeaderOption]) -> Result<(), String> {
        for o in opts {
            self.set(&o.name, o.value.as_deref())?;
        }
        Ok(())
    }

    /// One option.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<(), String> {
        let v = || value.ok_or_else(|| format!("--{name} needs a value"));
        let bad = |v: &str| format!("--{name}={v}: bad value");
        match name {
            "tolerance_usecs" => {
                self.tolerance_usecs = v()?.parse().map_err(|_| bad(v().unwrap_or("")))?
            }
            "tolerance_percent" => {
                self.tolerance_percent = v()?.parse().map_err(|_| bad(v().unwrap_or("")))?
            }
            "tcp_ts_tick_usecs" => {
                self.ts_tick_usecs = v()?.parse().map_err(|_| bad(v().unwrap_or("")))?
            }
            "tcp_ts_ecr_scaled" => self.ts_ecr_scaled = value.is_none_or(|x| x != "0"),
            "mss" => self.mss = Some(v()?.parse().map_err(|_| bad(v().unwrap_or("")))?),
            "mtu" => self.mtu = v()?.parse().map_err(|_| bad(v().unwrap_or("")))?,
            "local_ip" => {
                self.local_ip = v()?.parse().map_err(|_| bad(v().unwrap_or("")))?;
                self.explicit_addrs.0 = true;
            }
            "remote_ip" => {
                self.remote_ip = v()?.parse().map_err(|_| bad(v().unwrap_or("")))?;
                self.explicit_addrs.1 = true;
            }
            "gateway_ip" | "netmask_ip" => {
                v()?.parse::<IpAddr>().map_err(|_| bad(v().unwrap_or("")))?;
            }
            "bind_port" => self.bind_port = v()?.parse().map_err(|_| bad(v().unwrap_or("")))?,
            "connect_port" => {
                self.connect_port = v()?.parse().map_err(|_| bad(v().unwrap_or("")))?
            }
            "strict_segments" => self.strict_segments = true,
            "tcp_md5_secret" => self.tcp_md5_secret = Some(v()?.to_string()),
            // FreeBSD's packetdrill: packet lines may end in `/udp(SPORT > DPORT)`, a segment
            // inside UDP (TCP over UDP); the lines say it, so the option only names the kind.
            "udp_encapsulation" => match v()? {
                "tcp" => {}
                other => return Err(format!("--udp_encapsulation={other}: not modelled")),
            },
            // packetdrill keeps the buffers of its own send calls alive (for zerocopy
            // completions); the runner hands the stack copies, so there is nothing to keep.
            "send_omit_free" => {}
            "non_fatal" => {
                for part in v()?.split(',') {
                    match part {
                        "packet" => self.non_fatal_packet = true,
                        "syscall" => self.non_fatal_syscall = true,
                        _ => return Err(bad(part)),
                    }
                }
            }
            "ip_version" => {
                let v6 = match v()? {
                    "ipv4" => false,
                    "ipv6" => true,
                    other => return Err(format!("--ip_version={other}: not modelled")),
                };
                self.ipv6 = v6;
                let (local, remote): (IpAddr, IpAddr) = if v6 {
                    (
                        Ipv6Addr::new(0xfd3d, 0x0a0b, 0x17d6, 0, 0, 0, 0, 1).into(),
                        Ipv6Addr::new(0xfd3d, 0xfa7b, 0xd17d, 0, 0, 0, 0, 1).into(),
                    )
                } else {
                    (Ipv4Addr::new(192, 168, 0, 1).into(), Ipv4Addr::new(192, 0, 2, 1).into())
                };
                if !self.explicit_addrs.0 {
                    self.local_ip = local;
                }
                if !self.explicit_addrs.1 {
                    self.remote_ip = remote;
                }
            }
            _ => return Err(format!("unknown option --{name}")),
        }
        Ok(())
    }

    /// Tolerance for an event `gap` µs after the previous one: max(usecs, percent × gap).
    pub fn tolerance(&self, gap: u64) -> u64 {
        let pct = (gap as f64 * self.tolerance_percent / 100.0) as u64;
        self.tolerance_usecs.max(pct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_tolerance() {
        let mut c = ScriptConfig::default();
        c.set("tolerance_usecs", Some("7000")).unwrap();
        c.set("tcp_ts_tick_usecs", Some("1000")).unwrap();
        c.set("ip_version", Some("ipv4")).unwrap();
        c.set("non_fatal", Some("packet,syscall")).unwrap();
        assert_eq!(c.tolerance(0), 7000);
        assert_eq!(c.tolerance(1_000_000), 125_000);
        c.set("ip_version", Some("ipv6")).unwrap();
        assert!(c.local_ip.is_ipv6() && c.remote_ip.is_ipv6());
        assert!(c.set("ip_version", Some("ipv4-mapped-ipv6")).is_err());
        assert!(c.set("frobnicate", None).is_err());
        assert!(c.set("mtu", Some("x")).is_err());
        assert!(c.set("mtu", None).is_err());
    }
}
