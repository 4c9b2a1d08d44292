//! Accurate ECN feedback (RFC 9768): the counters one end keeps of the IP-ECN codepoints it
//! received and feeds back (the 3-bit ACE field and the AccECN option), the counters it reads
//! back from its peer, and the handshake encodings. It knows nothing of connections; the
//! connection calls it from its input and output paths (`conn/accecn.rs`).

use crate::time::{Duration, Instant};
use synack_wire::SeqNum;
use synack_wire::tcp::{AccEcnOption, TcpFlags};

/// IP-ECN codepoints (RFC 3168): the two ECN bits of the IP header.
pub(crate) const NOT_ECT: u8 = 0;
pub(crate) const ECT1: u8 = 1;
pub(crate) const ECT0: u8 = 2;
pub(crate) const CE: u8 = 3;

//= rfc9768#3.2.1
//~ paraphrase: r.cep starts at 5, so the ACE of a connection that has seen no CE is 0b101;
//~ r.e0b and r.e1b start at 1 and r.ceb at 0, so a zeroed option can be told apart.
pub(crate) const CEP_INIT: u32 = 5;
const E0B_INIT: u32 = 1;
const E1B_INIT: u32 = 1;
const CEB_INIT: u32 = 0;

/// The ACE field: AE, CWR and ECE read as a 3-bit number, AE the most significant.
pub(crate) fn ace(f: TcpFlags) -> u8 {
    (f.contains(TcpFlags::AE) as u8) << 2
        | (f.contains(TcpFlags::CWR) as u8) << 1
        | f.contains(TcpFlags::ECE) as u8
}

/// The flags that carry `ace` (its low three bits).
pub(crate) fn ace_flags(ace: u8) -> TcpFlags {
    let mut f = TcpFlags::default();
    if ace & 4 != 0 {
        f |= TcpFlags::AE;
    }
    if ace & 2 != 0 {
        f |= TcpFlags::CWR;
    }
    if ace & 1 != 0 {
        f |= TcpFlags::ECE;
    }
    f
}

/// The three ECN flags, to clear before setting an ACE value.
pub(crate) fn ecn_flags() -> TcpFlags {
    TcpFlags::AE | TcpFlags::CWR | TcpFlags::ECE
}

//= rfc9768#3.1.2
//~ paraphrase: The SYN-ACK (and the ACK of the SYN-ACK) reflects the IP-ECN field the SYN (or
//~ SYN-ACK) arrived with: Not-ECT 0b010, ECT(1) 0b011, ECT(0) 0b100, CE 0b110.
pub(crate) fn reflect(ip_ecn: u8) -> u8 {
    [0b010, 0b011, 0b100, 0b110][(ip_ecn & 3) as usize]
}

/// The IP-ECN codepoint a handshake ACE value reports (Linux's reading of RFC 9768 Table 2,
/// undefined values taken as the ECT codepoint least likely to be a mangling).
fn reflected_codepoint(ace: u8) -> u8 {
    [ECT0, ECT1, NOT_ECT, ECT1, ECT0, ECT1, CE, ECT1][(ace & 7) as usize]
}

//= rfc9768#3.1.1
//~ paraphrase: A SYN asks for AccECN with AE, CWR and ECE all set; a server MUST treat any
//~ combination other than 000, 011 (classic ECN) or 111 as if it were 111.
/// Whether a SYN's ECN flags ask for AccECN.
pub(crate) fn syn_requests(f: TcpFlags) -> bool {
    let a = ace(f);
    a != 0 && a != 0b011
}

/// What a client makes of the ACE on the SYN-ACK that answered its AccECN request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SynAckMode {
    /// 0b000 (the server has no ECN) or 0b111 (broken): no ECN.
    None,
    /// 0b001: the server does classic ECN (RFC 3168).
    Classic,
    /// Any other value: AccECN.
    AccEcn,
}

//= rfc9768#3.1.2
//~ paraphrase: Table 2: a SYN-ACK with 000 means no ECN, 001 classic ECN feedback, 111 a
//~ broken server (no ECN); the values that reflect an IP-ECN codepoint mean AccECN.
pub(crate) fn synack_mode(f: TcpFlags) -> SynAckMode {
    match ace(f) {
        0 | 7 => SynAckMode::None,
        1 => SynAckMode::Classic,
        _ => SynAckMode::AccEcn,
    }
}

/// When to put the AccECN option on a segment (Linux's `tcp_ecn_option`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum AccEcnOptionPolicy {
    /// Never.
    Never,
    /// On the handshake, on the change-triggered ACKs and a few times per round trip (the
    /// beacon).
    Minimum,
    /// Whenever it fits, until the peer's handling of it was found broken.
    #[default]
    Full,
    /// Whenever it fits, even then.
    Persist,
}

/// Counter indices: by codepoint, ECT(1), ECT(0), CE (Linux's order, `codepoint - 1`).
fn slot(codepoint: u8) -> usize {
    (codepoint as usize).wrapping_sub(1).min(2)
}

/// The AccECN option field a codepoint's counter sits in when sent in order 1 (EE1B, ECEB,
/// EE0B): how many fields an option must carry to report a change of it.
fn order1_field(codepoint: u8) -> u8 {
    match codepoint {
        ECT1 => 1,
        CE => 2,
        ECT0 => 3,
        _ => 0,
    }
}

/// Reads a 24-bit counter value as a change of a full-width counter `cnt` (after taking off
/// `init`), sign-extended so a reordered option moves it back: the change.
fn update24(cnt: &mut u32, wire: u32, init: u32) -> i32 {
    let truncated = wire.wrapping_sub(init) & 0xff_ffff;
    let delta = truncated.wrapping_sub(*cnt) & 0xff_ffff;
    let delta = ((delta << 8) as i32) >> 8;
    *cnt = cnt.wrapping_add(delta as u32);
    delta
}

/// A connection's AccECN state, present once AccECN was negotiated.
#[derive(Clone, Debug)]
pub(crate) struct AccEcn {
    // As a data receiver: what we feed back.
    /// r.cep, less its initial 5: CE-marked packets received.
    pub(crate) r_cep: u32,
    /// Payload bytes received with ECT(1), ECT(0) and CE.
    pub(crate) r_bytes: [u32; 3],
    /// The most option fields (order 1) needed to report what changed since the option was
    /// last sent.
    pub(crate) minlen: u8,
    /// How many more ACKs must carry the option (change-triggered ACKs).
    pub(crate) demand: u8,
    /// The IP-ECN codepoint of the last segment received (to see a change of it).
    prev_codepoint: u8,
    /// The ACE to send on the next ACK instead of r.cep: the reflection of a SYN's or
    /// SYN-ACK's IP-ECN field.
    pub(crate) reflect: Option<u8>,
    /// The peer's option arrived at least once (so ours is worth sending).
    pub(crate) saw_option: bool,
    /// The option we send may be dropped on the path: stop sending it.
    pub(crate) option_failed: bool,
    /// The last option went out with a D-SACK block.
    pub(crate) option_sent_with_dsack: bool,
    /// When the option was last sent (for the beacon).
    pub(crate) option_sent_at: Option<Instant>,
    /// The handshake's feedback of our IP-ECN field was wrong or zero: send Not-ECT.
    pub(crate) ace_failed: bool,
    /// The codepoint our SYN or SYN-ACK went out with.
    pub(crate) syn_sent_codepoint: u8,
    /// The codepoint the peer's SYN arrived with (reflected on our SYN-ACK).
    pub(crate) syn_codepoint: u8,
    /// Where the last duplicate data began (reported in a D-SACK block).
    pub(crate) last_dsack: Option<SeqNum>,

    // As a data sender: what the peer feeds back.
    /// CE-marked packets the peer reported (Linux's `delivered_ce`).
    pub(crate) delivered_ce: u32,
    /// Bytes the peer reported as received with ECT(1), ECT(0) and CE.
    pub(crate) delivered_bytes: [u32; 3],
    /// The codepoint whose byte counter alone grew on the last option, to attribute bytes
    /// acknowledged without an option to (0: none known).
    est_codepoint: u8,
    /// A moving average of packets acknowledged per ACK, 6 bits of fraction.
    acked_ewma: u16,
    /// CE marks reported before SND.UNA passes this point belong to the reduction already
    /// made (one per window of data).
    pub(crate) recover: Option<SeqNum>,
}

impl AccEcn {
    /// A fresh state; `prev` is the codepoint the handshake segment that opened it arrived with.
    pub(crate) fn new(prev: u8) -> AccEcn {
        AccEcn {
            r_cep: 0,
            r_bytes: [0; 3],
            minlen: 0,
            demand: 0,
            prev_codepoint: prev & 3,
            reflect: None,
            saw_option: false,
            option_failed: false,
            option_sent_with_dsack: false,
            option_sent_at: None,
            ace_failed: false,
            syn_sent_codepoint: NOT_ECT,
            syn_codepoint: NOT_ECT,
            last_dsack: None,
            delivered_ce: 0,
            delivered_bytes: [0; 3],
            est_codepoint: 0,
            acked_ewma: 0,
            recover: None,
        }
    }

    /// The ACE for the next non-SYN segment: a pending reflection, else r.cep (mod 8).
    pub(crate) fn take_ace(&mut self) -> u8 {
        match self.reflect.take() {
            Some(a) => a,
            None => (self.r_cep.wrapping_add(CEP_INIT) & 7) as u8,
        }
    }

    /// The ACE the next segment would carry (without consuming a reflection).
    #[cfg(test)]
    pub(crate) fn peek_ace(&self) -> u8 {
        self.reflect.unwrap_or((self.r_cep.wrapping_add(CEP_INIT) & 7) as u8)
    }

    //= rfc9768#3.2.2
    //~ paraphrase: The data receiver counts every packet that arrives CE-marked (r.cep) and the
    //~ payload bytes of each ECN codepoint (r.e0b, r.e1b, r.ceb), pure ACKs included in r.cep.
    /// A segment arrived with `codepoint` and `payload` bytes. Returns true when an ACK should
    /// go out at once (the codepoint changed: a change-triggered ACK, RFC 9768 3.2.2.5).
    pub(crate) fn on_receive(&mut self, codepoint: u8, payload: u32) -> bool {
        let cp = codepoint & 3;
        if cp != NOT_ECT {
            if cp == CE {
                self.r_cep = self.r_cep.wrapping_add(1);
            }
            if payload > 0 {
                let i = slot(cp);
                let old = self.r_bytes[i];
                self.r_bytes[i] = old.wrapping_add(payload);
                self.minlen = self.minlen.max(order1_field(cp));
                //~ linux: the option goes out at least once per 2^22 bytes of any counter, so
                //~ the 24-bit fields cannot wrap unseen.
                if (self.r_bytes[i] ^ old) & !((1 << 22) - 1) != 0 {
                    self.demand = self.demand.max(1);
                }
            }
        }
        let edge = self.prev_codepoint != cp;
        if edge || cp == CE {
            self.prev_codepoint = cp;
            //~ linux: two ACKs carry the option after a change, so the second shows
            //~ unambiguously which counter the new codepoint moves.
            self.demand = 2;
        }
        edge
    }

    /// The option as we would send it with `fields` fields (order 1: EE1B, ECEB, EE0B).
    pub(crate) fn option(&self, fields: u8) -> AccEcnOption {
        AccEcnOption::order1(
            self.r_bytes[slot(ECT1)].wrapping_add(E1B_INIT),
            self.r_bytes[slot(CE)].wrapping_add(CEB_INIT),
            self.r_bytes[slot(ECT0)].wrapping_add(E0B_INIT),
            fields,
        )
    }

    /// The handshake's option: every counter at its initial value.
    pub(crate) fn handshake_option(fields: u8) -> AccEcnOption {
        AccEcnOption::order1(E1B_INIT, CEB_INIT, E0B_INIT, fields)
    }

    /// Whether the option goes on the next segment under `policy` (before the space check).
    pub(crate) fn option_wanted(
        &self,
        policy: AccEcnOptionPolicy,
        beacon: u8,
        now: Instant,
        srtt: Option<Duration>,
    ) -> bool {
        if !self.saw_option {
            return false;
        }
        match policy {
            AccEcnOptionPolicy::Never => false,
            AccEcnOptionPolicy::Persist => true,
            AccEcnOptionPolicy::Full => !self.option_failed,
            AccEcnOptionPolicy::Minimum => {
                !self.option_failed && (self.demand > 0 || self.beacon_due(beacon, now, srtt))
            }
        }
    }

    //~ linux: the beacon sends the option `beacon` times per smoothed RTT even when nothing
    //~ asks for it.
    fn beacon_due(&self, beacon: u8, now: Instant, srtt: Option<Duration>) -> bool {
        if beacon == 0 {
            return false;
        }
        let since = self.option_sent_at.map_or(Duration::MAX, |t| now.saturating_since(t));
        let srtt = srtt.unwrap_or(Duration::ZERO);
        since.as_micros().saturating_mul(beacon as u128) >= srtt.as_micros()
    }

    /// The option went out (`sent`) or not on a segment that is leaving now.
    pub(crate) fn on_option_sent(&mut self, sent: bool, now: Instant, dsack: bool) {
        if sent {
            self.minlen = 0;
            self.option_sent_at = Some(now);
            self.option_sent_with_dsack = dsack;
            self.demand = self.demand.saturating_sub(1);
        } else {
            self.option_sent_with_dsack = false;
        }
    }

    /// The peer's option: it has one (so ours is worth sending), unless its first ECT counter
    /// reads zero (zeroed by a middlebox).
    pub(crate) fn on_peer_option(&mut self, o: Option<&AccEcnOption>) {
        if let Some(o) = o
            && !self.saw_option
        {
            //~ linux: an option whose ECT(0)/ECT(1) fields read zero was zeroed on the path:
            //~ its counters are not used and ours is not sent.
            let zeroed = o.values().first() == Some(&0) || o.values().get(2) == Some(&0);
            self.saw_option = true;
            if zeroed {
                self.option_failed = true;
            }
        }
    }

    /// The SYN-ACK answering our (not ECN-capable) SYN arrived with `ace` and `codepoint`.
    //= rfc9768#3.2.2.5.1
    //~ paraphrase: The client checks that the SYN-ACK's ACE reflects a codepoint its SYN could
    //~ have turned into, and counts a CE-marked SYN-ACK in r.cep.
    pub(crate) fn on_synack(&mut self, ace: u8, codepoint: u8, fallback: bool) {
        let seen = reflected_codepoint(ace);
        let valid = !fallback || transition_valid(self.syn_sent_codepoint, seen);
        if !valid {
            self.ace_failed = true;
        }
        self.reflect = Some(reflect(codepoint));
        self.demand = 2;
        if codepoint & 3 == CE && valid {
            self.r_cep = self.r_cep.wrapping_add(1);
        }
    }

    //= rfc9768#3.2.2.5.1
    //~ paraphrase: The server checks the ACE on the ACK of its SYN-ACK: 0b000 means the flags
    //~ were cleared on the path (feedback failed); the reflected codepoint must be one the
    //~ SYN-ACK could have turned into.
    /// The ACK of our SYN-ACK (a pure ACK when `pure`).
    pub(crate) fn on_third_ack(&mut self, ace: u8, pure: bool, fallback: bool) {
        match ace {
            0 => self.ace_failed = true,
            1 | 5 | 7 => {}
            _ if pure => {
                let seen = reflected_codepoint(ace);
                if fallback && !transition_valid(self.syn_sent_codepoint, seen) {
                    self.ace_failed = true;
                } else if seen == CE && self.delivered_ce == 0 {
                    self.delivered_ce = 1;
                }
            }
            _ => {}
        }
    }

    /// The peer's byte counters from its option (`None` without one), with `acked_bytes`
    /// newly delivered. Returns whether the byte counters can be trusted for this ACK.
    fn on_option_counters(&mut self, o: Option<&AccEcnOption>, acked_bytes: u32) -> bool {
        let est = self.est_codepoint;
        let Some(o) = o.filter(|_| !self.option_failed) else {
            if est != 0 {
                let i = slot(est);
                self.delivered_bytes[i] = self.delivered_bytes[i].wrapping_add(acked_bytes);
                return true;
            }
            return false;
        };
        let mut ok = est != 0;
        let mut ambiguous = false;
        let mut first_changed = false;
        let fields =
            [(ECT0, o.e0b(), E0B_INIT), (CE, o.ceb(), CEB_INIT), (ECT1, o.e1b(), E1B_INIT)];
        // Walk in wire order so "the first counter that changed" means what it does on the wire.
        let order: [usize; 3] = if o.is_order1() { [2, 1, 0] } else { [0, 1, 2] };
        for k in order {
            let (cp, value, init) = fields[k];
            let Some(v) = value else { continue };
            let d = update24(&mut self.delivered_bytes[slot(cp)], v, init);
            if d != 0 {
                if d < 0 {
                    ok = false;
                    ambiguous = true;
                }
                if cp != est {
                    if first_changed {
                        ok = false;
                        ambiguous = true;
                    } else {
                        self.est_codepoint = cp;
                        first_changed = true;
                    }
                }
            }
        }
        if ambiguous {
            self.est_codepoint = 0;
        }
        ok
    }

    //= rfc9768#3.2.2.4
    //~ paraphrase: The data sender infers how many CE marks an ACK reports from the change of
    //~ ACE (mod 8); when more than 7 packets were acknowledged at once the change may have
    //~ wrapped, and the byte counters (or, without them, the assumption that the ACE changed as
    //~ little as possible) decide.
    /// An ACK that made progress (`progress`) acknowledged `pkts` packets and `bytes` bytes
    /// carrying `ace` and the option `o`; `mss` is the sending MSS. Returns the CE marks it
    /// reports (added to `delivered_ce`).
    pub(crate) fn on_ack(
        &mut self,
        ace: u8,
        o: Option<&AccEcnOption>,
        progress: bool,
        pkts: u32,
        bytes: u32,
        mss: u32,
    ) -> u32 {
        if !progress {
            return 0;
        }
        let old_ceb = self.delivered_bytes[slot(CE)];
        let opt_valid = self.on_option_counters(o, bytes);
        if pkts > 0 {
            let ewma = if self.acked_ewma == 0 {
                pkts << 6
            } else {
                let e = self.acked_ewma as u32;
                ((e << 6) - e + (pkts << 6)) >> 6
            };
            self.acked_ewma = ewma.min(0xffff) as u16;
        }
        let corrected = (ace as u32).wrapping_sub(CEP_INIT);
        let delta = corrected.wrapping_sub(self.delivered_ce) & 7;
        let d = if pkts <= 7 {
            delta
        } else {
            let safe = pkts - (pkts.wrapping_sub(delta) & 7);
            if opt_valid {
                let d_ceb = self.delivered_bytes[slot(CE)].wrapping_sub(old_ceb);
                if d_ceb == 0 {
                    delta
                } else if pkts >= 16 {
                    if bytes <= d_ceb {
                        safe
                    } else {
                        let est = ((d_ceb as u64 * pkts as u64).div_ceil(bytes as u64)) as u32;
                        safe.min(delta + (est & !7))
                    }
                } else if d_ceb > delta * mss {
                    safe
                } else if d_ceb < (safe * mss) >> 1 {
                    delta
                } else {
                    safe
                }
            } else if self.acked_ewma > (4 << 6) {
                delta
            } else {
                safe
            }
        };
        self.delivered_ce = self.delivered_ce.wrapping_add(d);
        d
    }

    /// Bytes the peer reported as received CE-marked, ECT(0) and ECT(1).
    pub(crate) fn delivered_bytes(&self) -> (u32, u32, u32) {
        (
            self.delivered_bytes[slot(CE)],
            self.delivered_bytes[slot(ECT0)],
            self.delivered_bytes[slot(ECT1)],
        )
    }
}

/// Whether a codepoint sent as `sent` may arrive as `seen` (a path may mark ECT as CE or
/// change one ECT into the other, but not add or remove ECN-capability or undo CE).
fn transition_valid(sent: u8, seen: u8) -> bool {
    sent == seen || (sent != NOT_ECT && seen != NOT_ECT && sent != CE)
}

/// How many AccECN fields fit in `remaining` option bytes with at least `required` of them,
/// when `saving` bytes of padding after the option can take its last bytes (two in front of
/// SACK blocks). With more than two SACK blocks and nothing fitting, a block may give way
/// (`sack_blocks` is lowered); nothing is changed when no option fits.
///
//~ linux: tcp_options_fit_accecn: three fields when they fit, fewer otherwise, and SACK blocks
//~ give way only to the fields that must be sent.
pub(crate) fn fit(
    required: u8,
    remaining: usize,
    saving: usize,
    sack_blocks: &mut usize,
) -> Option<u8> {
    let mut fields: i32 = 3;
    let mut size: i32 = 11;
    let mut rem = remaining as i32;
    let mut blocks = *sack_blocks;
    while fields >= required as i32 {
        let left = size & 3;
        let aligned = if left as usize > saving { (size + 3) & !3 } else { size & !3 };
        if rem >= aligned {
            *sack_blocks = blocks;
            return Some(fields as u8);
        }
        if fields == required as i32 && blocks > 2 && required > 0 {
            blocks -= 1;
            rem += 8;
            fields = 3;
            size = 11;
            continue;
        }
        fields -= 1;
        size -= 3;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ace_round_trips_and_reflects() {
        for a in 0..8 {
            assert_eq!(ace(ace_flags(a)), a);
        }
        assert_eq!(reflect(NOT_ECT), 0b010);
        assert_eq!(reflect(ECT1), 0b011);
        assert_eq!(reflect(ECT0), 0b100);
        assert_eq!(reflect(CE), 0b110);
        for cp in 0..4 {
            assert_eq!(reflected_codepoint(reflect(cp)), cp);
        }
        let f = |a| ace_flags(a) | TcpFlags::SYN;
        assert!(syn_requests(f(7)) && syn_requests(f(4)) && syn_requests(f(1)));
        assert!(!syn_requests(f(3)) && !syn_requests(f(0)));
        assert_eq!(synack_mode(f(0)), SynAckMode::None);
        assert_eq!(synack_mode(f(7)), SynAckMode::None);
        assert_eq!(synack_mode(f(1)), SynAckMode::Classic);
        for a in [2, 3, 4, 5, 6] {
            assert_eq!(synack_mode(f(a)), SynAckMode::AccEcn);
        }
    }

    /// r.cep counts every CE packet; the ACE on the wire is r.cep + 5 modulo 8, wrapping
    /// after eight marks back to where it started.
    #[test]
    fn receiver_ace_wraps() {
        let mut a = AccEcn::new(NOT_ECT);
        assert_eq!(a.take_ace(), 5);
        for i in 1..=8u32 {
            a.on_receive(CE, 100);
            assert_eq!(a.take_ace() as u32, (5 + i) % 8);
        }
        assert_eq!(a.peek_ace(), 5, "eight marks wrap the 3-bit field");
        assert_eq!(a.option(3).ceb(), Some(800));
        a.reflect = Some(0b110);
        assert_eq!(a.take_ace(), 0b110);
        assert_eq!(a.take_ace(), 5);
    }

    /// Byte counters per codepoint, the fields an option must carry, and the demand for two
    /// option-bearing ACKs after a change of codepoint.
    #[test]
    fn receiver_counts_bytes_and_demands_options() {
        let mut a = AccEcn::new(NOT_ECT);
        assert!(a.on_receive(ECT0, 1000), "a change of codepoint is ACKed at once");
        assert_eq!((a.minlen, a.demand), (3, 2));
        assert!(!a.on_receive(ECT0, 1000));
        let o = a.option(3);
        assert_eq!((o.e1b(), o.ceb(), o.e0b()), (Some(1), Some(0), Some(2001)));
        a.on_option_sent(true, Instant::ZERO, false);
        assert_eq!((a.minlen, a.demand), (0, 1));
        a.on_receive(ECT1, 10);
        assert_eq!(a.minlen, 1);
        a.on_receive(ECT1, 0);
        assert_eq!(a.option(3).e1b(), Some(11), "a pure ACK adds no bytes");
    }

    /// Deltas of ACE up to 7 count as they are; a large ACK with the ACE unchanged or moved
    /// by one is read as the smallest change when ACKs usually cover many packets, and a
    /// change of 7 wrapping backwards stays 7.
    #[test]
    fn sender_reads_ace_deltas() {
        let mut a = AccEcn::new(NOT_ECT);
        assert_eq!(a.on_ack(5, None, true, 1, 1000, 1460), 0);
        assert_eq!(a.on_ack(6, None, true, 1, 1000, 1460), 1);
        assert_eq!(a.on_ack(6, None, false, 0, 0, 1460), 0, "no progress: not read");
        assert_eq!(a.on_ack(0, None, true, 2, 2000, 1460), 2);
        assert_eq!(a.delivered_ce, 3);
        // 10 packets at once, ACE one up: an ACK that covers many packets at a time
        // (the average says so) takes the small reading.
        let mut b = AccEcn::new(NOT_ECT);
        assert_eq!(b.on_ack(6, None, true, 10, 14600, 1460), 1);
        let mut c = AccEcn::new(NOT_ECT);
        assert_eq!(c.on_ack(4, None, true, 10, 14600, 1460), 7);
        // Wraparound: eight marks in eight ACKs bring the ACE back to 5 and count 8.
        let mut d = AccEcn::new(NOT_ECT);
        let mut ace = 5u8;
        for _ in 0..8 {
            ace = (ace + 1) & 7;
            d.on_ack(ace, None, true, 1, 1000, 1460);
        }
        assert_eq!((ace, d.delivered_ce), (5, 8));
    }

    /// The option's byte counters: deltas from the initial offsets, 24-bit wrap, and bytes
    /// acknowledged without an option attributed to the one codepoint that was moving.
    #[test]
    fn sender_reads_option_counters() {
        let mut a = AccEcn::new(NOT_ECT);
        let o = |e0, ce, e1| AccEcnOption::order0(e0, ce, e1, 3);
        a.on_ack(5, Some(&o(1461, 0, 1)), true, 1, 1460, 1460);
        assert_eq!(a.delivered_bytes(), (0, 1460, 0));
        a.on_ack(5, None, true, 1, 1000, 1460);
        assert_eq!(a.delivered_bytes(), (0, 2460, 0), "estimated from the last option");
        a.on_ack(6, Some(&o(2461, 1000, 1)), true, 1, 1000, 1460);
        assert_eq!(a.delivered_bytes(), (1000, 2460, 0));
        let mut w = 0u32;
        assert_eq!(update24(&mut w, 0x00_0010, 0), 16);
        let mut near = 0xff_fff0u32;
        assert_eq!(update24(&mut near, 0x00_0010, 0), 32, "24-bit wrap");
        assert_eq!(near, 0x100_0010);
    }

    /// Fitting the option beside timestamps and SACK blocks (Linux's choices in its
    /// `tcp_accecn_sack_space_grab*` scripts).
    #[test]
    fn fit_matches_linux_choices() {
        // No timestamps: 3 fields beside up to 3 SACK blocks; 4 blocks give one up.
        let mut b = 1;
        assert_eq!(fit(1, 40 - 12, 2, &mut b), Some(3));
        let mut b = 4;
        assert_eq!(fit(3, 40 - 36, 2, &mut b), Some(3));
        assert_eq!(b, 3);
        // Timestamps and two blocks leave 8 bytes: two fields.
        let mut b = 2;
        assert_eq!(fit(1, 40 - 12 - 20, 2, &mut b), Some(2));
        // Three blocks, CE needs two fields: a block gives way.
        let mut b = 3;
        assert_eq!(fit(2, 0, 2, &mut b), Some(2));
        assert_eq!(b, 2);
        // ECT(0) needs three fields, which never fit beside timestamps and two blocks.
        let mut b = 3;
        assert_eq!(fit(3, 0, 2, &mut b), None);
        assert_eq!(b, 3, "unchanged when nothing fits");
        // A SYN-ACK without timestamps folds one byte into SACK-permitted's NOPs.
        let mut b = 0;
        assert_eq!(fit(0, 40 - 4 - 4 - 4, 2, &mut b), Some(3));
    }

    #[test]
    fn third_ack_checks_the_reflection() {
        // Without the fallback check a reflected CE counts as one CE mark delivered.
        let mut a = AccEcn::new(NOT_ECT);
        a.on_third_ack(reflect(CE), true, false);
        assert_eq!(a.delivered_ce, 1);
        assert!(!a.ace_failed);
        // With it, a Not-ECT SYN-ACK cannot have become CE: the feedback failed.
        let mut c = AccEcn::new(NOT_ECT);
        c.on_third_ack(reflect(CE), true, true);
        assert!(c.ace_failed);
        let mut z = AccEcn::new(NOT_ECT);
        z.on_third_ack(0, true, true);
        assert!(z.ace_failed);
        let mut e = AccEcn::new(NOT_ECT);
        e.on_third_ack(reflect(ECT0), true, true);
        assert!(e.ace_failed, "Not-ECT cannot become ECT(0)");
    }
}
