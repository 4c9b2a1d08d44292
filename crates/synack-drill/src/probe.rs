//! Backtick commands that look at the stack rather than configure it, answered from the
//! target's own sockets and counters: FreeBSD's `sockstat ... | grep -c STATE | grep N` (how
//! many sockets are in a TCP state), `tcpdrop -s STATE` (drop every connection in a state),
//! and Linux's `nstat` and `/proc/net/tcp` listings ([`crate::listing`]).
//!
//! In packetdrill a failing command fails the script, so a count that differs fails the line.

use crate::shell::Words;

/// One TCP socket as `sockstat -s` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SockState {
    /// Local port.
    pub local_port: u16,
    /// Remote port (none for a listener).
    pub remote_port: Option<u16>,
    /// FreeBSD's name of its state (`ESTABLISHED`, `TIME_WAIT`, `SYN_RCVD`, ...).
    pub state: &'static str,
    /// Still held by the script through a file descriptor (sockstat shows the process name
    /// `packetdrill` for it; a connection left behind after close is shown without one).
    pub owned: bool,
    /// Local address, once bound.
    pub local: Option<std::net::SocketAddr>,
    /// Remote address of a connection (none for a listener, or a listener's half-open entry,
    /// whose peer the engine does not report).
    pub remote: Option<std::net::SocketAddr>,
    /// Linux's number of its state (`TCP_ESTABLISHED` 1 ... `TCP_LISTEN` 10, `TCP_CLOSING` 11).
    pub linux_state: u8,
    /// Bytes in the send queue (sent and unacknowledged or unsent).
    pub tx_queue: u32,
    /// Bytes waiting to be read.
    pub rx_queue: u32,
}

/// A command this module answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `sockstat [-4|-6] -P tcp [-p PORT] -s [| grep NAME] | grep -c STATE | grep N`: the
    /// count of matching sockets must contain the digit string `N` (what `grep N` tests).
    Count {
        /// `-p PORT`: local or remote port.
        port: Option<u16>,
        /// `grep NAME` before the count: only sockets the script holds.
        owned_only: bool,
        /// The state counted.
        state: String,
        /// The text the count must contain.
        want: String,
    },
    /// `nstat` or a `/proc/net/tcp` table through `grep` stages ([`crate::listing`]).
    Listing(crate::listing::Listing),
    /// `tcpdrop -s STATE`.
    Drop {
        /// The state whose connections are dropped.
        state: String,
    },
}

impl Probe {
    /// Recognises a probe among the pipelines of a command; `None` for anything else.
    pub fn parse(pipelines: &[Vec<Words>]) -> Option<Probe> {
        if let Some(l) = crate::listing::Listing::parse(pipelines) {
            return Some(Probe::Listing(l));
        }
        let [pipeline] = pipelines else { return None };
        let first = pipeline.first()?;
        match first.first()?.as_str() {
            "tcpdrop" => match first.as_slice() {
                [_, s, state] if s == "-s" => Some(Probe::Drop { state: state.clone() }),
                _ => None,
            },
            "sockstat" => {
                let mut port = None;
                let mut tcp = false;
                let mut args = first[1..].iter();
                while let Some(a) = args.next() {
                    match a.as_str() {
                        "-4" | "-6" | "-s" | "-n" | "-N" => {}
                        "-P" => tcp = args.next()? == "tcp",
                        "-p" => port = Some(args.next()?.parse().ok()?),
                        _ => return None,
                    }
                }
                if !tcp {
                    return None;
                }
                let mut owned_only = false;
                let mut state = None;
                let mut want = None;
                for stage in &pipeline[1..] {
                    let args: Vec<&str> = stage.iter().map(String::as_str).collect();
                    match args.as_slice() {
                        ["grep", "-c", s] if state.is_none() => state = Some(s.to_string()),
                        ["grep", n] if state.is_some() && want.is_none() => {
                            want = Some(n.to_string())
                        }
                        // The process name, cut to sockstat's column width.
                        ["grep", name] if state.is_none() && "packetdrill".starts_with(name) => {
                            owned_only = true
                        }
                        _ => return None,
                    }
                }
                Some(Probe::Count { port, owned_only, state: state?, want: want? })
            }
            _ => None,
        }
    }

    /// For a count: whether `states` satisfy it, and the count found.
    pub fn check(&self, states: &[SockState]) -> Option<(bool, usize)> {
        let Probe::Count { port, owned_only, state, want } = self else { return None };
        let n = states
            .iter()
            .filter(|s| !owned_only || s.owned)
            .filter(|s| port.is_none_or(|p| s.local_port == p || s.remote_port == Some(p)))
            .filter(|s| s.state.contains(state.as_str()))
            .count();
        Some((n.to_string().contains(want.as_str()), n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::pipelines;

    fn probe(text: &str) -> Option<Probe> {
        Probe::parse(&pipelines(text).unwrap())
    }

    #[test]
    fn sockstat_counts_and_tcpdrop() {
        let p = probe("sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 1");
        assert_eq!(
            p,
            Some(Probe::Count {
                port: None,
                owned_only: true,
                state: "TIME_WAIT".into(),
                want: "1".into()
            })
        );
        let states = [
            SockState {
                local_port: 8080,
                remote_port: None,
                state: "LISTEN",
                owned: true,
                local: None,
                remote: None,
                linux_state: 10,
                tx_queue: 0,
                rx_queue: 0,
            },
            SockState {
                local_port: 8080,
                remote_port: Some(1),
                state: "TIME_WAIT",
                owned: false,
                local: None,
                remote: None,
                linux_state: 6,
                tx_queue: 0,
                rx_queue: 0,
            },
        ];
        assert_eq!(p.unwrap().check(&states), Some((false, 0)));
        let q = probe("sockstat -6 -P tcp -s -p 8080 | grep -c TIME_WAIT | grep 1").unwrap();
        assert_eq!(q.check(&states), Some((true, 1)));
        assert_eq!(probe("tcpdrop -s TIME_WAIT"), Some(Probe::Drop { state: "TIME_WAIT".into() }));
        assert_eq!(probe("sockstat -4 -P udp -s | grep -c X | grep 1"), None);
        assert_eq!(probe("sockstat -4 -P tcp -s | wc -l"), None);
        assert_eq!(probe("sysctl -w a=1"), None);
    }
}
