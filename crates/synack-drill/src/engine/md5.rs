//! TCP-MD5 (RFC 2385) in the runner: `TCP_MD5SIG` on a socket and the script side's view of
//! the signatures the stack sends.

use super::*;
use crate::ast::OptSpec;
use synack_tcp::Md5Key;
use synack_wire::tcp::md5sig::segment_digest;

impl EngineTarget {
    //~ freebsd: TCP_MD5SIG (an int) marks the socket; its segments are signed with the key of
    //~ the IPsec security association for the pair of addresses (setkey's `tcp-md5`).
    /// `TCP_MD5SIG` set to `value`: on, each security association with the script's peer
    /// (or between our address and another) becomes an engine key for that peer; off removes
    /// them. The peer is recognised by the script's remote address first, since the suites'
    /// IPv6 runs name another local address than the runner's.
    pub(super) fn set_md5sig(&mut self, value: i64) -> Result<(), Errno> {
        let (local, remote) = (self.local_ip, self.remote_ip);
        for sa in &self.md5_sas {
            let peer = match (sa.src, sa.dst) {
                (s, _) | (_, s) if s == remote => remote,
                (s, d) if s == local => d,
                (s, d) if d == local => s,
                _ => continue,
            };
            if value != 0 {
                self.ep.add_md5_key(Md5Key::new(peer, &sa.key).map_err(|_| Errno::EINVAL)?);
            } else {
                let bits = if peer.is_ipv4() { 32 } else { 128 };
                self.ep.remove_md5_key(peer, bits, None);
            }
        }
        Ok(())
    }

    /// The options of an outbound segment as the script reads them: with `--tcp_md5_secret`,
    /// an MD5 option is `valid` or `invalid` by whether its digest is the segment's signature
    /// under the secret; without, its digest in hex.
    pub(super) fn md5_checked(
        &self,
        mut opts: Vec<OptSpec>,
        seg: &[u8],
        src: IpAddr,
        dst: IpAddr,
    ) -> Vec<OptSpec> {
        for o in &mut opts {
            if let OptSpec::Md5(text) = o
                && let Some(hex) = text.strip_prefix(MD5_HEX_PREFIX)
            {
                let got = (0..16)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
                    .collect::<Vec<u8>>();
                *text = match &self.md5_secret {
                    Some(k) => {
                        let want = segment_digest(src, dst, seg, k);
                        if want.is_some_and(|w| w[..] == got[..]) { "valid" } else { "invalid" }
                            .to_string()
                    }
                    None => hex.to_string(),
                };
            }
        }
        opts
    }
}

/// How [`super::wire_form::wire_options`] marks an MD5 option's digest for
/// [`EngineTarget::md5_checked`] to resolve.
pub(super) const MD5_HEX_PREFIX: &str = "digest:";
