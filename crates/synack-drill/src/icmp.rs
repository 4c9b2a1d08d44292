//! ICMP packet lines: the type and code names packetdrill knows (its `icmp_packet.c` tables,
//! plus the names FreeBSD's fork adds), resolved to the bytes on the wire.

use crate::ast::IcmpSpec;

/// ICMPv4 types by name (RFC 792).
const V4_TYPES: &[(&str, u8)] = &[
    ("echo_reply", 0),
    ("unreachable", 3),
    ("source_quench", 4),
    ("redirect", 5),
    ("echo_request", 8),
    ("time_exceeded", 11),
    ("parameter_problem", 12),
    ("timestamp_request", 13),
    ("timestamp_reply", 14),
    ("information_request", 15),
    ("information_reply", 16),
    ("address_mask_request", 17),
    ("address_mask_reply", 18),
];

/// ICMPv4 destination-unreachable codes by name (RFC 792, RFC 1812 5.2.7.1).
const V4_UNREACHABLE: &[(&str, u8)] = &[
    ("net_unreachable", 0),
    ("host_unreachable", 1),
    ("protocol_unreachable", 2),
    ("port_unreachable", 3),
    ("frag_needed", 4),
    ("source_route_failed", 5),
    ("net_unknown", 6),
    ("host_unknown", 7),
    ("source_host_isolated", 8),
    ("net_prohibited", 9),
    ("host_prohibited", 10),
    ("net_unreachable_for_tos", 11),
    ("host_unreachable_for_tos", 12),
    ("packet_filtered", 13),
    ("precedence_violation", 14),
    ("precedence_cutoff", 15),
];

/// ICMPv4 time-exceeded codes by name (FreeBSD's packetdrill).
const V4_TIME_EXCEEDED: &[(&str, u8)] =
    &[("ttl_exceeded_in_transit", 0), ("frag_reassembly_time_exceeded", 1)];

/// ICMPv6 types by name (RFC 4443).
const V6_TYPES: &[(&str, u8)] = &[
    ("unreachable", 1),
    ("packet_too_big", 2),
    ("time_exceeded", 3),
    ("parameter_problem", 4),
    ("echo_request", 128),
    ("echo_reply", 129),
];

/// ICMPv6 destination-unreachable codes by name.
const V6_UNREACHABLE: &[(&str, u8)] = &[
    ("net_unreachable", 0),
    ("no_route", 0),
    ("admin_prohibited", 1),
    ("not_neighbour", 2),
    ("address_unreachable", 3),
    ("port_unreachable", 4),
];

/// ICMPv6 time-exceeded codes by name.
const V6_TIME_EXCEEDED: &[(&str, u8)] = &[("exceeded_hop_limit", 0), ("exceeded_frag_time", 1)];

/// ICMPv6 parameter-problem codes by name.
const V6_PARAM_PROBLEM: &[(&str, u8)] =
    &[("header_field", 0), ("unknown_next_header", 1), ("unknown_option", 2)];

fn lookup(table: &[(&str, u8)], name: &str) -> Option<u8> {
    table.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// `type_N` / `code_N`, tcpdump's notation for a number without a name.
fn numbered(word: &str, prefix: &str) -> Option<u8> {
    word.strip_prefix(prefix)?.parse().ok()
}

/// The type and code bytes of an ICMP line (ICMPv6 when `v6`), or why the line is not valid:
/// an unknown name, or an MTU on a message that has no MTU field (packetdrill refuses both).
pub fn resolve(spec: &IcmpSpec, v6: bool) -> Result<(u8, u8), String> {
    let types = if v6 { V6_TYPES } else { V4_TYPES };
    let ty = numbered(&spec.icmp_type, "type_")
        .or_else(|| lookup(types, &spec.icmp_type))
        .ok_or_else(|| format!("bad ICMP type {}", spec.icmp_type))?;
    let codes: &[(&str, u8)] = match (v6, ty) {
        (false, 3) => V4_UNREACHABLE,
        (false, 11) => V4_TIME_EXCEEDED,
        (true, 1) => V6_UNREACHABLE,
        (true, 3) => V6_TIME_EXCEEDED,
        (true, 4) => V6_PARAM_PROBLEM,
        _ => &[],
    };
    let code = match &spec.code {
        None => 0,
        Some(c) => numbered(c, "code_")
            .or_else(|| lookup(codes, c))
            .ok_or_else(|| format!("bad ICMP code {c}"))?,
    };
    let has_mtu = if v6 { ty == 2 && code == 0 } else { ty == 3 && code == 4 };
    if spec.mtu.is_some() && !has_mtu {
        return Err(if v6 {
            "ICMPv6 MTU is only valid for packet_too_big".into()
        } else {
            "ICMPv4 MTU is only valid for unreachable frag_needed".into()
        });
    }
    if !v6 && spec.mtu.is_some_and(|m| m > u32::from(u16::MAX)) {
        return Err("ICMPv4 MTU out of 16-bit range".into());
    }
    Ok((ty, code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Direction;

    fn spec(ty: &str, code: Option<&str>, mtu: Option<u32>) -> IcmpSpec {
        IcmpSpec {
            dir: Direction::Inbound,
            icmp_type: ty.into(),
            code: code.map(Into::into),
            mtu,
            echoed: None,
            echoed_udp: None,
        }
    }

    #[test]
    fn names_resolve_per_family() {
        assert_eq!(
            resolve(&spec("unreachable", Some("frag_needed"), Some(1200)), false),
            Ok((3, 4))
        );
        assert_eq!(
            resolve(&spec("unreachable", Some("packet_filtered"), None), false),
            Ok((3, 13))
        );
        assert_eq!(
            resolve(&spec("time_exceeded", Some("ttl_exceeded_in_transit"), None), false),
            Ok((11, 0))
        );
        assert_eq!(resolve(&spec("packet_too_big", None, Some(1280)), true), Ok((2, 0)));
        assert_eq!(resolve(&spec("unreachable", Some("admin_prohibited"), None), true), Ok((1, 1)));
        assert_eq!(resolve(&spec("type_42", Some("code_7"), None), false), Ok((42, 7)));
    }

    #[test]
    fn bad_lines_are_refused() {
        assert!(resolve(&spec("unreachable", Some("CODE"), None), false).is_err());
        assert!(resolve(&spec("packet_too_big", None, None), false).is_err());
        assert!(resolve(&spec("unreachable", Some("port_unreachable"), Some(1)), false).is_err());
        assert!(resolve(&spec("unreachable", Some("frag_needed"), Some(70_000)), false).is_err());
    }
}
