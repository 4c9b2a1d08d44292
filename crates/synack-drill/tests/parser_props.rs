//! The parser never panics: on strings made of the language's own pieces, and on our scripts with
//! one byte changed.

use proptest::prelude::*;
use std::path::Path;

const PIECES: &[&str] = &[
    "0",
    "+",
    ".1",
    "+0.2",
    "*",
    "~",
    "...",
    "<",
    ">",
    "S",
    "S.",
    ".",
    "F.",
    "P.",
    "R",
    "-",
    "1:1(0)",
    "0:10(10)",
    "ack",
    "win",
    "urg",
    "1",
    "65535",
    "<mss 1460,nop,wscale 7>",
    "<...>",
    "sack 1:2",
    "TS val 1 ecr 0",
    ",",
    "socket(",
    "...",
    ")",
    "=",
    "-1",
    "EAGAIN",
    "(note)",
    "[",
    "]",
    "{",
    "}",
    "fd=3",
    "`cmd`",
    "%{ assert tcpi_x == 1 }%",
    "--tolerance_usecs=10",
    "\n",
    " ",
    "//c\n",
    "/*",
    "*/",
    "\"s\"",
    "0x1f",
    "1.2.3.4",
    "icmp",
    "udp",
    "[ect0]",
    "(tos 0x1)",
    "|",
    "O_NONBLOCK",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pieces_never_panic(idx in proptest::collection::vec(0..PIECES.len(), 0..40)) {
        let src: String = idx.iter().map(|&i| PIECES[i]).collect::<Vec<_>>().join(" ");
        let _ = synack_drill::parse(&src, "p.pkt");
    }

    #[test]
    fn one_changed_byte_never_panics(file in 0usize..64, at in 0usize..4096, byte in any::<u8>()) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        let mut bytes = std::fs::read(&files[file % files.len()]).unwrap();
        let at = at % bytes.len();
        bytes[at] = byte;
        let src = String::from_utf8_lossy(&bytes);
        let _ = synack_drill::parse(&src, "p.pkt");
    }
}
