//! packetdrill's number mapping (README §1.5) and outbound checks (§1.6), as pure functions.
//!
//! * Our numbers: the script's SYN/SYN-ACK seq stands for the stack's real ISN; every later
//!   outbound seq and every inbound ack and SACK block is shifted by that offset.
//! * The peer's numbers go on the wire as written.
//! * Inbound TSecr is rewritten to the live TSval the stack sent for that script value.
//! * Consecutive outbound segments are merged until their payload adds up to the line's length.

use crate::ast::{Ecn, OptSpec, OptionsSpec, PacketSpec};
use crate::segment::{Segment, flag_letters, options_text};
use synack_wire::tcp::TcpFlags;

/// How strictly outbound segments are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    /// packetdrill's rules: option kinds in the same order, NOP/EOL positions count, the ack
    /// and urgent fields compared even without their flags.
    Strict,
    /// Options compared as a set with NOP/EOL padding ignored (values still checked); ack and
    /// urgent compared only when their flag is set.
    Relaxed,
}

/// The live↔script number translation of one script run.
#[derive(Clone, Debug, Default)]
pub struct Mapping {
    /// live − script for our sequence space, once the stack's SYN or SYN-ACK has been seen.
    local_offset: Option<u32>,
    /// (script TSval, live TSval) pairs seen on outbound packets, newest last.
    ts_table: Vec<(u32, u32)>,
    /// The first (script, live) TSval pair: the origin for tick checks.
    ts_origin: Option<(u32, u32)>,
    /// Newest live TSval the stack sent.
    last_live_tsval: Option<u32>,
    /// The peer's ISN: the sequence number of the last SYN the script injected. As in
    /// packetdrill (`remote_seq_script_to_live_offset`), the peer's sequence numbers on lines
    /// without SYN are relative to it: inbound seqs, and our ACKs and SACK blocks.
    remote_isn: u32,
    /// A SYN reached a listening socket: the next SYN-ACK starts a connection with its own ISN.
    passive_open: bool,
}

/// Settings the checks need.
#[derive(Clone, Copy, Debug)]
pub struct CheckConfig {
    /// Strict or relaxed.
    pub mode: MatchMode,
    /// `--tcp_ts_tick_usecs`: 0 means TSval is not checked.
    pub ts_tick_usecs: u64,
    /// Live timestamp clock rate.
    pub live_ts_hz: u32,
    /// Time tolerance used for the TSval check.
    pub tolerance_usecs: u64,
    /// `--tcp_ts_ecr_scaled`: an inbound TSecr the stack never sent as a TSval is still
    /// taken, shifted onto the live clock, instead of failing the script.
    pub ts_ecr_scaled: bool,
}

impl Mapping {
    /// Live value of one of our sequence numbers written in the script.
    pub fn local_to_live(&self, script: u32) -> u32 {
        script.wrapping_add(self.local_offset.unwrap_or(0))
    }

    /// Script value of one of our live sequence numbers.
    pub fn local_to_script(&self, live: u32) -> u32 {
        live.wrapping_sub(self.local_offset.unwrap_or(0))
    }

    /// True once the stack's ISN is known.
    pub fn isn_known(&self) -> bool {
        self.local_offset.is_some()
    }

    /// Script value of a live sequence number of the peer's on a segment without SYN.
    pub fn remote_to_script(&self, live: u32) -> u32 {
        live.wrapping_sub(self.remote_isn)
    }

    /// Records the peer's ISN from an injected SYN that opens a connection (call before
    /// [`Self::inbound`]): packetdrill learns it from a SYN reaching a listening socket (or
    /// none) and from the SYN-ACK answering our SYN, not from a SYN to an open connection.
    pub fn note_inbound(&mut self, spec: &PacketSpec, opens: bool) {
        if spec.flags.syn && opens {
            self.remote_isn = spec.seq;
            self.passive_open = !spec.flags.ack;
        }
    }

    /// Builds the live segment for an inbound line (addresses and time are set by the caller).
    pub fn inbound(&self, spec: &PacketSpec, cfg: &CheckConfig) -> Result<Segment, String> {
        let win = spec.win.ok_or("inbound packet without 'win'")?;
        if spec.len > 65_495 {
            return Err(format!(
                "inbound payload of {} bytes does not fit in an IP packet",
                spec.len
            ));
        }
        let mut flags = TcpFlags::NONE;
        for (on, bit) in flag_bits(spec) {
            if on {
                flags |= bit;
            }
        }
        let options = match &spec.options {
            OptionsSpec::Absent => Vec::new(),
            OptionsSpec::Any => return Err("'<...>' on an inbound packet".into()),
            OptionsSpec::List(list) => {
                let mut out = Vec::with_capacity(list.len());
                for o in list {
                    out.push(match o {
                        OptSpec::Sack(blocks) => OptSpec::Sack(
                            blocks
                                .iter()
                                .map(|&(l, r)| (self.local_to_live(l), self.local_to_live(r)))
                                .collect(),
                        ),
                        OptSpec::Timestamp { val, ecr } => {
                            OptSpec::Timestamp { val: *val, ecr: self.live_ecr(*ecr, cfg)? }
                        }
                        other => other.clone(),
                    });
                }
                out
            }
        };
        Ok(Segment {
            at: 0,
            src: unspecified(),
            dst: unspecified(),
            flags,
            seq: if spec.flags.syn { spec.seq } else { spec.seq.wrapping_add(self.remote_isn) },
            // packetdrill shifts the ack field of an inbound ACK by our ISN even when the
            // script leaves it out (0): `< . 1:10001(10000) win 320` acknowledges our ISN, an
            // old duplicate ACK the data it carries is still taken with (run_packet.c).
            ack: match spec.ack {
                Some(a) => self.local_to_live(a),
                None if spec.flags.ack => self.local_to_live(0),
                None => 0,
            },
            window: win,
            urgent: spec.urg.unwrap_or(0),
            options,
            payload: vec![0; spec.len as usize],
            tos: ecn_bits(spec.ip.ecn).unwrap_or(0) | spec.ip.tos.unwrap_or(0),
            ttl: spec.ip.ttl.unwrap_or(64),
            checksum_ok: true,
            udp: spec.udp_encapsulation,
        })
    }

    /// The live TSval to echo for a script TSecr.
    fn live_ecr(&self, script: u32, cfg: &CheckConfig) -> Result<u32, String> {
        if script == 0 {
            return Ok(script);
        }
        if let Some(&(_, live)) = self.ts_table.iter().rev().find(|(s, _)| *s == script) {
            return Ok(live);
        }
        if cfg.ts_ecr_scaled {
            // A value the stack never sent is placed on the live clock by its distance from
            // the newest outbound TSval (packetdrill interpolates from the socket's first).
            return Ok(match self.ts_table.last() {
                Some(&(s, l)) => script.wrapping_sub(s).wrapping_add(l),
                None => script,
            });
        }
        match cfg.mode {
            MatchMode::Strict => Err(format!(
                "inbound TS ecr {script}: the stack never sent a TSval the script calls {script}"
            )),
            // Relaxed: outbound lines written `<...>` give no script TSval; echo the newest.
            MatchMode::Relaxed => self
                .last_live_tsval
                .ok_or_else(|| format!("inbound TS ecr {script} before any outbound TSval")),
        }
    }

    /// Checks a (possibly merged) live segment against an outbound line, learning the ISN and
    /// TSvals on the way. The error text names the first field that differs.
    pub fn check_outbound(
        &mut self,
        spec: &PacketSpec,
        live: &Segment,
        cfg: &CheckConfig,
    ) -> Result<(), String> {
        let mut probe = self.clone();
        // Our SYN, or our SYN-ACK to a SYN that reached a listener, starts a connection with
        // its own ISN: packetdrill learns it afresh there (run_packet.c, `live.local_isn`).
        let new_isn = probe.local_offset.is_none()
            || (live.flags.syn() && !live.flags.ack())
            || (live.flags.syn() && probe.passive_open);
        if spec.flags.syn && live.flags.syn() && new_isn {
            probe.local_offset = Some(live.seq.wrapping_sub(spec.seq));
            probe.passive_open = false;
        }
        let mut want = TcpFlags::NONE;
        for (on, bit) in flag_bits(spec) {
            if on {
                want |= bit;
            }
        }
        let have = live.flags.without(TcpFlags::RESERVED);
        if have != want {
            return Err(format!(
                "flags: expected {} but got {}",
                flag_letters(want),
                flag_letters(have)
            ));
        }
        let seq = if spec.absolute_seq { live.seq } else { probe.local_to_script(live.seq) };
        if !spec.any_seq && seq != spec.seq {
            return Err(format!("seq: expected {} but got {seq}", spec.seq));
        }
        if live.len() != spec.len {
            return Err(format!("payload length: expected {} but got {}", spec.len, live.len()));
        }
        if cfg.mode == MatchMode::Strict || live.flags.ack() {
            let want_ack = spec.ack.unwrap_or(0);
            let ack = if live.flags.syn() || !live.flags.ack() {
                live.ack
            } else {
                probe.remote_to_script(live.ack)
            };
            if ack != want_ack {
                return Err(format!("ack: expected {want_ack} but got {ack}"));
            }
        }
        if let Some(w) = spec.win
            && live.window != w
        {
            return Err(format!("win: expected {w} but got {}", live.window));
        }
        if cfg.mode == MatchMode::Strict || live.flags.urg() {
            let u = spec.urg.unwrap_or(0);
            if live.urgent != u {
                return Err(format!("urg: expected {u} but got {}", live.urgent));
            }
        }
        if let Some(e) = spec.ip.ecn {
            let got = live.tos & 3;
            let ok = match e {
                Ecn::Ect01 => got == 1 || got == 2,
                _ => Some(got) == ecn_bits(Some(e)),
            };
            if !ok {
                return Err(format!("ECN: expected {e:?} but got codepoint {got}"));
            }
        }
        if let Some(t) = spec.ip.tos
            && live.tos != t
        {
            return Err(format!("tos: expected {t:#x} but got {:#x}", live.tos));
        }
        if let Some(t) = spec.ip.ttl
            && live.ttl != t
        {
            return Err(format!("ttl: expected {t} but got {}", live.ttl));
        }
        if live.udp != spec.udp_encapsulation {
            let way = |u: Option<(u16, u16)>| match u {
                Some((s, d)) => format!("inside UDP {s} > {d}"),
                None => "plain TCP".to_string(),
            };
            return Err(format!(
                "encapsulation: expected {} but got {}",
                way(spec.udp_encapsulation),
                way(live.udp)
            ));
        }
        //= rfc9293#3.1
        // Every segment sent carries a correct checksum (MUST-2).
        if !live.checksum_ok {
            return Err("checksum: the TCP checksum of the sent segment is wrong".into());
        }
        if live.payload.iter().any(|&b| b != 0) {
            return Err("payload: expected the zero bytes the script wrote".into());
        }
        probe.check_options(spec, live, cfg)?;
        *self = probe;
        Ok(())
    }

    fn check_options(
        &mut self,
        spec: &PacketSpec,
        live: &Segment,
        cfg: &CheckConfig,
    ) -> Result<(), String> {
        if let Some(ts) = live.options.iter().find_map(|o| match o {
            OptSpec::Timestamp { val, .. } => Some(*val),
            _ => None,
        }) {
            self.last_live_tsval = Some(ts);
        }
        let want: &[OptSpec] = match &spec.options {
            OptionsSpec::Any => return Ok(()),
            OptionsSpec::Absent => &[],
            OptionsSpec::List(l) => l,
        };
        let mismatch = || {
            format!(
                "options: expected {} but got {}",
                if want.is_empty() { "none".to_string() } else { options_text(want) },
                if live.options.is_empty() {
                    "none".to_string()
                } else {
                    options_text(&live.options)
                }
            )
        };
        let (w, l): (Vec<&OptSpec>, Vec<&OptSpec>) = match cfg.mode {
            MatchMode::Strict => (want.iter().collect(), live.options.iter().collect()),
            MatchMode::Relaxed => {
                let pad = |o: &&OptSpec| !matches!(o, OptSpec::Nop | OptSpec::Eol);
                let mut w: Vec<&OptSpec> = want.iter().filter(pad).collect();
                let mut l: Vec<&OptSpec> = live.options.iter().filter(pad).collect();
                w.sort_by_key(|o| kind_rank(o));
                l.sort_by_key(|o| kind_rank(o));
                (w, l)
            }
        };
        if w.len() != l.len() {
            return Err(mismatch());
        }
        for (a, b) in w.iter().zip(&l) {
            let same = match (a, b) {
                (OptSpec::Timestamp { val: sv, .. }, OptSpec::Timestamp { val: lv, .. }) => {
                    self.check_tsval(*sv, *lv, cfg)?;
                    true
                }
                (OptSpec::Sack(x), OptSpec::Sack(y)) => {
                    x.len() == y.len()
                        && x.iter().zip(y).all(|(s, l)| {
                            (s.0, s.1) == (self.remote_to_script(l.0), self.remote_to_script(l.1))
                        })
                }
                (x, y) => x == y,
            };
            if !same {
                return Err(mismatch());
            }
        }
        Ok(())
    }

    /// Records a script→live TSval pair and, with `--tcp_ts_tick_usecs`, checks that the live
    /// clock advanced as much as the script's since the first TSval.
    fn check_tsval(&mut self, script: u32, live: u32, cfg: &CheckConfig) -> Result<(), String> {
        self.ts_table.push((script, live));
        if self.ts_table.len() > 1024 {
            self.ts_table.remove(0);
        }
        let (s0, l0) = *self.ts_origin.get_or_insert((script, live));
        if cfg.ts_tick_usecs == 0 || cfg.live_ts_hz == 0 {
            return Ok(());
        }
        let want_us = i64::from(script.wrapping_sub(s0) as i32) * cfg.ts_tick_usecs as i64;
        let live_us = i64::from(live.wrapping_sub(l0) as i32) * (1_000_000 / cfg.live_ts_hz as i64);
        let slack = cfg.tolerance_usecs as i64 + cfg.ts_tick_usecs as i64;
        if (want_us - live_us).abs() > slack {
            return Err(format!(
                "TS val: expected {script} (+{want_us} us from the first) but the stack's clock moved {live_us} us"
            ));
        }
        Ok(())
    }
}

fn kind_rank(o: &OptSpec) -> u8 {
    match o {
        OptSpec::Eol => 0,
        OptSpec::Nop => 1,
        OptSpec::Mss(_) => 2,
        OptSpec::WScale(_) => 3,
        OptSpec::SackOk => 4,
        OptSpec::Sack(_) => 5,
        OptSpec::Timestamp { .. } => 8,
        OptSpec::Md5(_) => 19,
        OptSpec::FastOpen(_) => 34,
        OptSpec::FastOpenExp(_) => 254,
        OptSpec::AccEcn(o) => o.kind(),
    }
}

fn flag_bits(spec: &PacketSpec) -> [(bool, TcpFlags); 9] {
    let f = &spec.flags;
    // packetdrill: a non-zero ACE digit stands for AE, CWR and ECE; 0 leaves the letters.
    let (ece, cwr, ae) = match f.ace {
        Some(a @ 1..=7) => (a & 1 != 0, a & 2 != 0, a & 4 != 0),
        _ => (f.ece, f.cwr, f.ae),
    };
    [
        (f.syn, TcpFlags::SYN),
        (f.fin, TcpFlags::FIN),
        (f.rst, TcpFlags::RST),
        (f.psh, TcpFlags::PSH),
        (f.ack, TcpFlags::ACK),
        (f.urg, TcpFlags::URG),
        (ece, TcpFlags::ECE),
        (cwr, TcpFlags::CWR),
        (ae, TcpFlags::AE),
    ]
}

fn ecn_bits(e: Option<Ecn>) -> Option<u8> {
    Some(match e? {
        Ecn::NoEcn => 0,
        Ecn::Ect1 => 1,
        Ecn::Ect0 => 2,
        Ecn::Ect01 => 2,
        Ecn::Ce => 3,
    })
}

fn unspecified() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([0, 0, 0, 0], 0))
}

/// Merges the front of `queue` into one segment of `want_len` payload bytes, packetdrill style:
/// contiguous segments sharing ack and window, all the size of the first but the last; the
/// result has the first one's seq and time and the last one's flags.
///
/// Returns the merged segment, how many queue entries it used, and whether it is complete
/// (reached `want_len`, or stopped at a segment that cannot be merged, so waiting longer cannot
/// change the verdict). `None` when the queue is empty. With `strict_segments`, or when the first
/// segment already has `want_len` bytes or more, the first segment alone is returned.
pub fn merge_front(
    queue: &[Segment],
    want_len: u32,
    strict_segments: bool,
) -> Option<(Segment, usize, bool)> {
    let first = queue.first()?;
    if strict_segments || first.len() >= want_len || first.is_empty() {
        return Some((first.clone(), 1, true));
    }
    let mut merged = first.clone();
    let size = first.len();
    let mut used = 1;
    while merged.len() < want_len {
        let Some(next) = queue.get(used) else {
            return Some((merged, used, false));
        };
        let prev_size = queue[used - 1].len();
        let continues = next.seq == merged.seq.wrapping_add(merged.len())
            && next.ack == merged.ack
            && next.window == merged.window
            && prev_size == size
            && !next.is_empty()
            && !merged.flags.intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST);
        if !continues {
            return Some((merged, used, true));
        }
        merged.payload.extend_from_slice(&next.payload);
        merged.flags = next.flags;
        used += 1;
    }
    Some((merged, used, true))
}

#[cfg(test)]
mod tests;
