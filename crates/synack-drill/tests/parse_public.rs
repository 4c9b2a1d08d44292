//! Every script of the public suite parses.

mod common;

#[test]
fn all_public_scripts_parse() {
    let Some(dir) = common::public_suite() else { return };
    let files = common::pkt_files(&dir);
    assert!(files.len() >= 55, "expected the 55 public scripts, found {}", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let name = f.strip_prefix(&dir).unwrap().display().to_string();
        match synack_drill::parse(&src, &name) {
            Ok(s) => assert!(!s.events.is_empty(), "{name}: no events"),
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "parse failures:\n{}", failures.join("\n"));
    println!("parsed {} public scripts", files.len());
}
