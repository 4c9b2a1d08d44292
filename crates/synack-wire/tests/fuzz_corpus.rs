//! Replays the fuzz seed corpus (`fuzz/corpus/<target>/`) through the fuzz target bodies, so
//! the normal test run checks every seed (and any crash reproducer added there).

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("parse_any", synack_wire::fuzz::parse_any),
    ("tcp", synack_wire::fuzz::tcp),
    ("ipv4", synack_wire::fuzz::ipv4),
    ("ipv6", synack_wire::fuzz::ipv6),
    ("icmpv4", synack_wire::fuzz::icmpv4),
    ("icmpv6", synack_wire::fuzz::icmpv6),
    ("udp", synack_wire::fuzz::udp),
    ("ethernet", synack_wire::fuzz::ethernet),
    ("arp", synack_wire::fuzz::arp),
];

#[test]
fn corpus_replays_through_every_target() {
    for (name, target) in TARGETS {
        synack_wire::fuzz::replay_corpus(name, |data| {
            target(data);
            // Every prefix too: truncation must never panic either.
            for cut in 0..data.len().min(128) {
                target(&data[..cut]);
            }
        });
    }
}
