use super::*;
use core::mem::size_of;

/// Prints the per-connection state's parts (run with `--nocapture` to see where idle
/// memory goes) and bounds the whole so a regression shows up as a failing test.
#[test]
fn per_connection_struct_sizes() {
    let parts = [
        ("Conn", size_of::<Conn>()),
        ("Tcb", size_of::<Tcb>()),
        ("Snd", size_of::<Snd>()),
        ("Rcv", size_of::<Rcv>()),
        ("TimeWait", size_of::<TimeWait>()),
        ("ConnConfig", size_of::<ConnConfig>()),
        ("Recovery", size_of::<Recovery>()),
        ("Flight (boxed, data in flight)", size_of::<recovery::Flight>()),
        ("RttEstimator", size_of::<RttEstimator>()),
        ("RttSampler", size_of::<RttSampler>()),
        ("Assembler", size_of::<crate::assembler::Assembler>()),
        ("SackGenerator", size_of::<crate::sack_gen::SackGenerator>()),
        ("RingBuffer", size_of::<crate::ring::RingBuffer>()),
        ("TimerTable", size_of::<TimerTable>()),
        ("Counters", size_of::<Counters>()),
        ("FourTuple", size_of::<FourTuple>()),
        ("Scoreboard", size_of::<crate::scoreboard::Scoreboard>()),
        ("Rack", size_of::<crate::rack::Rack>()),
        ("NewRenoRecovery", size_of::<crate::scoreboard::NewRenoRecovery>()),
        ("Controller", size_of::<crate::cc::Controller>()),
        ("Cubic", size_of::<crate::cc::Cubic>()),
        ("Negotiated", size_of::<Negotiated>()),
    ];
    for (name, size) in parts {
        std::println!("{name:>30}: {size} bytes");
    }
    // Pinned: an idle connection end stays under 1 KiB besides its buffers (measured by
    // `cargo bench -p synack-bench --bench netbench -- --quick --only idle`). A field added
    // anywhere in the per-connection state fails here: raise a bound only after weighing
    // it against that goal, and record the new figure in docs/BENCHMARKS.md.
    let pins = [
        ("Conn", size_of::<Conn>(), 976),
        ("Tcb", size_of::<Tcb>(), 240),
        ("Recovery", size_of::<Recovery>(), 328),
        ("Flight", size_of::<recovery::Flight>(), 336),
        ("RttEstimator", size_of::<RttEstimator>(), 88),
        ("TimerTable", size_of::<TimerTable>(), 72),
        ("RingBuffer", size_of::<crate::ring::RingBuffer>(), 40),
        ("Assembler", size_of::<crate::assembler::Assembler>(), 24),
        ("SackGenerator", size_of::<crate::sack_gen::SackGenerator>(), 8),
        ("Rack", size_of::<crate::rack::Rack>(), 144),
        ("Scoreboard", size_of::<crate::scoreboard::Scoreboard>(), 64),
        ("Controller", size_of::<crate::cc::Controller>(), 144),
        ("Option<Instant>", size_of::<Option<Instant>>(), 8),
    ];
    for (name, size, most) in pins {
        assert!(size <= most, "{name} is {size} bytes, pinned at {most}");
    }
}
