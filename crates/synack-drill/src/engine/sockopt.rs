//! Socket options as the scripts set and read them (`setsockopt`/`getsockopt`), and
//! `tcp_info` as Linux and FreeBSD report it, over the engine's settings and statistics.

use super::*;

impl EngineTarget {
    pub(super) fn apply_option(
        &mut self,
        s: SockId,
        opt: SockOpt,
        value: i64,
    ) -> Result<(), Errno> {
        let kind = self.sock(s)?.kind;
        if opt == SockOpt::Linger2 {
            //~ linux: do_tcp_setsockopt takes a negative TCP_LINGER2 as no FIN-WAIT-2 at all,
            //~ 0 as tcp_fin_timeout and caps the rest at TCP_FIN_TIMEOUT_MAX (120 s).
            let secs = match value {
                v if v < 0 => 0,
                0 => FIN_TIMEOUT_SECS,
                v => v.min(FIN_TIMEOUT_MAX_SECS) as u64,
            };
            self.sock(s)?.cfg.fin_wait2_timeout = Duration::from_secs(secs);
            return self.push_config(s, kind);
        }
        if opt == SockOpt::Md5Sig {
            return self.set_md5sig(value);
        }
        if matches!(opt, SockOpt::IpTtl | SockOpt::IpTos) {
            //~ linux: IP_TTL and IPV6_UNICAST_HOPS take 1..=255 (0 too for the hop limit), -1
            //~ for the default; IP_TOS and IPV6_TCLASS a byte (-1: 0), whose ECN bits TCP
            //~ keeps for itself.
            let byte = |v: i64| u8::try_from(v).map_err(|_| Errno::EINVAL);
            let ip = &mut self.sock(s)?.cfg.ip;
            match opt {
                SockOpt::IpTtl if value == -1 => ip.ttl = None,
                SockOpt::IpTtl => ip.ttl = Some(byte(value)?),
                _ if value == -1 => ip.tos = 0,
                _ => ip.tos = byte(value)? & !3,
            }
            return self.push_config(s, kind);
        }
        let v = usize::try_from(value).map_err(|_| Errno::EINVAL)?;
        //~ linux: TCP_FASTOPEN_CONNECT is refused while client Fast Open is off
        //~ (tcp_fastopen bit 0x1).
        if opt == SockOpt::FastOpenConnect && v <= 1 && !self.ep.fast_open().client {
            return Err(Errno::EOPNOTSUPP);
        }
        let sysctl_lowat = self.base_conn.notsent_lowat;
        let doubling = self.doubling;
        let tunnel = self.udp_tunnel_port;
        let sk = self.sock(s)?;
        match opt {
            SockOpt::ReuseAddr => return Ok(()),
            SockOpt::SndBuf => sk.cfg.send_buffer = super::sndbuf_for(v, doubling),
            SockOpt::RcvBuf => sk.cfg.recv_buffer = v,
            SockOpt::NoDelay => sk.cfg.nodelay = v != 0,
            //~ linux: ~0 (32 or 64 bits) is no cap.
            SockOpt::MaxPacingRate => {
                sk.cfg.max_pacing_rate = (v < u32::MAX as usize).then_some(v as u64)
            }
            SockOpt::UserTimeout => {
                sk.cfg.user_timeout = (v != 0).then(|| Duration::from_millis(v as u64))
            }
            SockOpt::KeepAlive => {
                sk.ka.on = v != 0;
                sk.cfg.keep_alive = sk.ka.config();
            }
            //~ linux: keepalive_time and friends are kept with the socket whether or not
            //~ SO_KEEPALIVE is on (tcp_sock_set_keepidle); FreeBSD's t_keepidle likewise.
            SockOpt::KeepIdle | SockOpt::KeepIntvl | SockOpt::KeepCnt => {
                let ka = &mut sk.ka.timing;
                match opt {
                    SockOpt::KeepIdle => ka.idle = Duration::from_secs(v as u64),
                    SockOpt::KeepIntvl => ka.interval = Duration::from_secs(v as u64),
                    _ => ka.probes = u32::try_from(v).map_err(|_| Errno::EINVAL)?,
                }
                sk.cfg.keep_alive = sk.ka.config();
            }
            // Linux accepts 88..=32767 (TCP_MIN_MSS .. MAX_TCP_WINDOW).
            SockOpt::MaxSeg => {
                let m = u16::try_from(v).ok().filter(|m| (88..=32767).contains(m));
                sk.cfg.mss_clamp = Some(m.ok_or(Errno::EINVAL)?);
            }
            SockOpt::FastOpen => {
                sk.fo.queue = Some(v);
                if let Kind::Listening(l) = kind {
                    self.ep.set_listener_fast_open(l, v);
                }
                return Ok(());
            }
            SockOpt::FastOpenConnect => {
                sk.fo.connect = v != 0;
                return Ok(());
            }
            SockOpt::FastOpenNoCookie => {
                sk.fo.no_cookie = v != 0;
                return Ok(());
            }
            //~ linux: TCP_SYNCNT takes 1..=MAX_TCP_SYNCNT (127).
            SockOpt::SynCnt if !(1..=127).contains(&v) => return Err(Errno::EINVAL),
            SockOpt::SynCnt => sk.cfg.syn_retries = Some(v as u32),
            SockOpt::ZeroCopy => {
                sk.lx.zerocopy = v != 0;
                return Ok(());
            }
            SockOpt::Mark => {
                sk.lx.mark = value;
                return Ok(());
            }
            SockOpt::Timestamping => {
                let flags = u32::try_from(v).map_err(|_| Errno::EINVAL)?;
                return self.set_timestamping(s, flags);
            }
            SockOpt::Inq => {
                sk.lx.inq = v != 0;
                return Ok(());
            }
            //~ linux: do_tcp_setsockopt stores the int as the socket's mark (0: the sysctl's
            //~ applies, tcp_notsent_lowat) and calls sk_write_space, which may wake a writer.
            SockOpt::NotsentLowat => {
                let mark = u32::try_from(v).map_err(|_| Errno::EINVAL)?;
                sk.lx.notsent_lowat = mark;
                let lowat = if mark == 0 { sysctl_lowat } else { lowat_mark(mark) };
                sk.cfg.notsent_lowat = lowat;
                if let Kind::Conn(c) = kind {
                    return self.ep.set_notsent_lowat(c, lowat).map_err(|_| Errno::ENOTCONN);
                }
            }
            //~ freebsd: tcp_ctloutput takes a port number (0 clears it) and refuses one while
            //~ net.inet.tcp.udp_tunneling_port is 0.
            SockOpt::RemoteUdpEncapsPort => {
                let port = u16::try_from(v).map_err(|_| Errno::EINVAL)?;
                if port != 0 && tunnel == 0 {
                    return Err(Errno::EINVAL);
                }
                sk.cfg.udp_encapsulation = core::num::NonZeroU16::new(port);
            }
            //~ freebsd: TCP_KEEPINIT takes seconds; 0 leaves no limit on the open attempt.
            SockOpt::KeepInit => {
                sk.cfg.connect_timeout = (v != 0).then(|| Duration::from_secs(v as u64))
            }
            SockOpt::NoOpt => sk.cfg.no_options = v != 0,
            SockOpt::IpTtl | SockOpt::IpTos => unreachable!("handled above"),
            SockOpt::Error | SockOpt::FastOpenKey | SockOpt::FunctionBlk | SockOpt::Md5Sig => {
                return Err(Errno::ENOPROTOOPT);
            }
            //~ freebsd: tcp_default_ctloutput answers an option it does not know, such as the
            //~ RACK stack's, with ENOPROTOOPT.
            SockOpt::RackStack => return Err(Errno::ENOPROTOOPT),
            SockOpt::Linger2 => unreachable!("handled above"),
        }
        self.push_config(s, kind)
    }

    /// `SO_SNDBUF` and `SO_RCVBUF` as `getsockopt` reports them (doubled as Linux doubles
    /// them); the receive buffer is the connection's once it exists, so FreeBSD's rounding to
    /// whole segments (`ConnConfig::recv_buffer_mss_rounding`) shows.
    pub(super) fn reported_buffers(&self, s: SockId) -> Option<(i64, i64)> {
        let doubling = if self.doubling { 2 } else { 1 };
        let sk = self.socks.get(&s)?;
        let live = match sk.kind {
            Kind::Conn(c) => self.ep.stats(c).map_or(0, |st| st.recv_buffer),
            _ => 0,
        };
        Some((
            // The send buffer holds the doubled value itself (`sndbuf_for`).
            sk.cfg.send_buffer as i64,
            (sk.cfg.recv_buffer.max(live) * doubling) as i64,
        ))
    }

    pub(super) fn read_option(&mut self, s: SockId, opt: SockOpt) -> Result<i64, Errno> {
        let mtu = self.mtu;
        let sk = self.sock(s)?.clone();
        let conn = match sk.kind {
            Kind::Conn(c) => Some(c),
            _ => None,
        };
        Ok(match opt {
            SockOpt::ReuseAddr => 1,
            SockOpt::SndBuf => self.reported_buffers(s).map_or(0, |b| b.0),
            SockOpt::RcvBuf => self.reported_buffers(s).map_or(0, |b| b.1),
            SockOpt::NoDelay => sk.cfg.nodelay as i64,
            SockOpt::MaxPacingRate => sk
                .cfg
                .max_pacing_rate
                .map_or(i64::from(u32::MAX), |r| i64::try_from(r).unwrap_or(i64::MAX)),
            SockOpt::KeepAlive => sk.ka.on as i64,
            SockOpt::UserTimeout => sk.cfg.user_timeout.map(|d| d.as_millis() as i64).unwrap_or(0),
            SockOpt::KeepIdle => sk.ka.timing.idle.as_secs() as i64,
            SockOpt::KeepIntvl => sk.ka.timing.interval.as_secs() as i64,
            SockOpt::KeepCnt => i64::from(sk.ka.timing.probes),
            SockOpt::Linger2 => sk.cfg.fin_wait2_timeout.as_secs() as i64,
            SockOpt::MaxSeg => match conn.and_then(|c| self.ep.stats(c).ok()) {
                Some(st) => i64::from(st.snd_mss),
                None => match sk.cfg.mss_clamp {
                    Some(m) => i64::from(m),
                    None => i64::from(mtu.saturating_sub(40)),
                },
            },
            SockOpt::FastOpen => sk.fo.queue.unwrap_or(0) as i64,
            SockOpt::FastOpenConnect => sk.fo.connect as i64,
            SockOpt::FastOpenNoCookie => sk.fo.no_cookie as i64,
            SockOpt::FastOpenKey | SockOpt::Md5Sig => return Err(Errno::EINVAL),
            SockOpt::KeepInit => sk.cfg.connect_timeout.map_or(0, |d| d.as_secs() as i64),
            SockOpt::NoOpt => sk.cfg.no_options as i64,
            SockOpt::IpTtl => i64::from(sk.cfg.ip.ttl.unwrap_or(DEFAULT_TTL)),
            SockOpt::IpTos => i64::from(sk.cfg.ip.tos),
            SockOpt::ZeroCopy => sk.lx.zerocopy as i64,
            SockOpt::Mark => sk.lx.mark,
            SockOpt::Timestamping => i64::from(sk.lx.tsflags),
            SockOpt::Inq => sk.lx.inq as i64,
            SockOpt::NotsentLowat => i64::from(sk.lx.notsent_lowat),
            // Linux's tcp_syn_retries default when the socket set none.
            SockOpt::SynCnt => i64::from(sk.cfg.syn_retries.unwrap_or(6)),
            SockOpt::RemoteUdpEncapsPort => sk.cfg.udp_encapsulation.map_or(0, |p| p.get().into()),
            SockOpt::FunctionBlk | SockOpt::RackStack => return Err(Errno::ENOPROTOOPT),
            SockOpt::Error => {
                let e = conn.and_then(|c| self.ep.error(c).ok().flatten());
                match e {
                    Some(e) if !sk.error_taken => {
                        self.sock(s)?.error_taken = true;
                        conn_error(e, self.implied_connect).number()
                    }
                    _ => 0,
                }
            }
        })
    }

    pub(super) fn info(&self, s: SockId) -> Option<TcpInfo> {
        let mut i = TcpInfo::new();
        let c = match self.socks.get(&s)?.kind {
            Kind::Conn(c) => c,
            Kind::Listening(_) => {
                i.insert("tcpi_state".into(), linux_state_number(State::Listen));
                return Some(i);
            }
            Kind::Fresh => {
                i.insert("tcpi_state".into(), linux_state_number(State::Closed));
                return Some(i);
            }
        };
        // A connection the engine has let go (reset, timed out) is CLOSED to the socket.
        let state = self.ep.state(c).unwrap_or(State::Closed);
        i.insert("tcpi_state".into(), linux_state_number(state));
        let Ok(st) = self.ep.stats(c) else { return Some(i) };
        let mss = i64::from(st.snd_mss.max(1));
        i.insert("tcpi_snd_mss".into(), i64::from(st.snd_mss));
        i.insert("tcpi_advmss".into(), i64::from(st.rcv_mss));
        i.insert("tcpi_rcv_mss".into(), i64::from(st.peer_mss_estimate));
        i.insert("tcpi_pmtu".into(), i64::from(st.pmtu));
        i.insert("tcpi_rto".into(), st.rto.as_micros() as i64);
        if let Some(srtt) = st.srtt {
            i.insert("tcpi_rtt".into(), srtt.as_micros() as i64);
            i.insert("tcpi_rttvar".into(), st.rttvar.as_micros() as i64);
        }
        i.insert("tcpi_backoff".into(), i64::from(st.backoff));
        i.insert("tcpi_probes".into(), i64::from(st.probes));
        i.insert("tcpi_total_retrans".into(), st.retransmits as i64);
        // Payload bytes received in order and acknowledged by the peer (the SYN and FIN not
        // counted, as Linux counts them).
        i.insert("tcpi_bytes_received".into(), st.bytes_received as i64);
        i.insert("tcpi_bytes_acked".into(), st.bytes_acked as i64);
        i.insert("tcpi_notsent_bytes".into(), i64::from(st.notsent_bytes));
        i.insert("tcpi_snd_wscale".into(), i64::from(st.snd_wscale));
        i.insert("tcpi_rcv_wscale".into(), i64::from(st.rcv_wscale));
        if let Some(cwnd) = st.cwnd {
            i.insert("tcpi_snd_cwnd".into(), i64::from(cwnd) / mss);
        }
        // The engine knows only "in fast recovery" or not: Recovery (3) or Open (0); Linux's
        // Disorder, CWR and Loss states have no counterpart here.
        //~ linux: tcp_ca_state: Recovery (3) in fast recovery, else CWR (2) while an ECN echo's
        //~ reduction lasts, else Disorder (1) while segments are SACKed, marked lost or
        //~ retransmitted and unacknowledged (tcp_try_to_open), else Open (0).
        let disorder =
            st.sacked > 0 || st.lost_segments > 0 || st.retrans_segments.is_some_and(|r| r > 0);
        let ca_state = match () {
            _ if st.in_recovery => 3,
            _ if st.ecn_reducing => 2,
            _ if disorder => 1,
            _ => 0,
        };
        i.insert("tcpi_ca_state".into(), ca_state);
        // Segments marked lost and not yet delivered (Linux's lost_out).
        i.insert("tcpi_lost".into(), i64::from(st.lost_segments));
        // SACKed bytes in whole segments, as Linux counts them.
        i.insert("tcpi_sacked".into(), i64::from(st.sacked) / mss);
        // Counted from RACK's per-segment log, so reported only while RACK is on; a script
        // asserting them on a connection without RACK is unsupported rather than guessed.
        if let Some(n) = st.retrans_segments {
            i.insert("tcpi_retrans".into(), i64::from(n));
        }
        if let Some(n) = st.unacked_segments {
            i.insert("tcpi_unacked".into(), i64::from(n));
        }
        if let Some(n) = st.reordering {
            i.insert("tcpi_reordering".into(), i64::from(n));
        }
        if let Some(n) = st.reordering_events {
            i.insert("tcpi_reord_seen".into(), i64::from(n));
        }
        // Delivery-rate estimation: segments delivered (the SYN counted), those the peer got
        // CE-marked, and the last rate sample.
        i.insert("tcpi_delivered".into(), i64::from(st.delivered));
        i.insert("tcpi_delivered_ce".into(), i64::from(st.delivered_ce));
        if let Some(r) = st.delivery_rate {
            i.insert("tcpi_delivery_rate".into(), i64::try_from(r).unwrap_or(i64::MAX));
        }
        i.insert("tcpi_delivery_rate_app_limited".into(), i64::from(st.delivery_rate_app_limited));
        // Pacing: the rate the engine computes (paced or not, as Linux reports it) and the
        // SO_MAX_PACING_RATE cap; unlimited is ~0, shown as the largest i64.
        let rate = |r: Option<u64>| r.map_or(i64::MAX, |r| i64::try_from(r).unwrap_or(i64::MAX));
        i.insert("tcpi_pacing_rate".into(), rate(st.pacing_rate));
        i.insert("tcpi_max_pacing_rate".into(), rate(st.max_pacing_rate));
        if let Some(ss) = st.ssthresh {
            i.insert("tcpi_snd_ssthresh".into(), i64::from(ss) / mss);
        }
        // AccECN's byte counters; zero without AccECN, as Linux reports them.
        let (ce_bytes, e0_bytes, e1_bytes) = st.delivered_ecn_bytes;
        i.insert("tcpi_delivered_ce_bytes".into(), i64::from(ce_bytes));
        i.insert("tcpi_delivered_e0_bytes".into(), i64::from(e0_bytes));
        i.insert("tcpi_delivered_e1_bytes".into(), i64::from(e1_bytes));
        // TCPI_OPT_* bits: TIMESTAMPS 1, SACK 2, WSCALE 4, ECN 8, SYN_DATA 32, TFO_CHILD 128.
        // (ECN_SEEN 16 and USEC_TS 64 are never set: no CE tracking per socket, no
        // microsecond timestamps.)
        let opts = [
            (st.timestamps, 1),
            (st.sack, 2),
            (st.window_scaling, 4),
            (st.ecn, 8),
            (st.syn_data, 32),
            (st.fast_open_child, 128),
        ];
        let options = opts.iter().filter(|(on, _)| *on).fold(0, |a, (_, bit)| a | bit);
        i.insert("tcpi_options".into(), options);
        Some(i)
    }
}
