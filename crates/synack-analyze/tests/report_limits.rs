//! `report`: a capture of more streams than the page details lists them all, keeps details for
//! the busiest, graphs for fewer, and says so.

use std::io::Cursor;
use synack_analyze::capture::CaptureReader;
use synack_analyze::report::{DETAILED_STREAMS, GRAPHED_STREAMS, report};

/// An IPv4 TCP segment from 10.0.0.1:`sport` to 10.0.0.2:80 (raw IP, checksums not needed).
fn segment(sport: u16, flags: u8, payload: usize) -> Vec<u8> {
    let total = 40 + payload;
    let mut p = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, 6, 0, 0];
    p.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&[0, 80, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend(std::iter::repeat_n(b'x', payload));
    p
}

#[test]
fn many_streams_keep_the_page_small() {
    let streams = DETAILED_STREAMS + 30;
    let mut file = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 101] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    // The global header's version fields are two u16s: major 2, minor 4.
    file[4..8].copy_from_slice(&[2, 0, 4, 0]);
    let mut t = 0u32;
    for s in 0..streams {
        let sport = 20_000 + s as u16;
        // Later streams carry more payload, so the busiest are the last ones.
        for (flags, len) in [(0x02, 0), (0x18, 10 + s)] {
            let p = segment(sport, flags, len);
            for v in [t / 1000, (t % 1000) * 1000, p.len() as u32, p.len() as u32] {
                file.extend_from_slice(&v.to_le_bytes());
            }
            file.extend_from_slice(&p);
            t += 1;
        }
    }
    let page =
        report("many", || CaptureReader::new(Cursor::new(file.clone()))).expect("report page");
    assert_eq!(page.matches("<tr").count(), streams + 1, "every stream in the table");
    assert_eq!(page.matches("<template").count(), DETAILED_STREAMS);
    assert!(page.contains("Details are kept for the"));
    // The busiest stream is detailed and graphed, the quietest is only listed.
    let last = streams - 1;
    assert!(page.contains(&format!("<template id=\"t{last}\">")));
    assert!(!page.contains("<template id=\"t0\">"));
    let graphed = page.matches("<h3>Graphs</h3>").count();
    assert_eq!(graphed, GRAPHED_STREAMS);
}
