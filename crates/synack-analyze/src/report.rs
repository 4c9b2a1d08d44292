//! One self-contained HTML page for a capture: the conversation table first, then per stream
//! (on demand) its ladder diagram with each end's inferred state, the time-sequence,
//! throughput, RTT and window graphs, and the expert notes, each linked to its ladder row.
//!
//! Self-contained means no network: the styles, the small script and every drawing (inline
//! SVG) are in the file, and nothing refers to another file or host. Large captures stay
//! usable: the table is plain HTML; each stream's details sit in an inert `<template>` that
//! the script puts into the page only when the stream is opened; ladders stop after
//! [`LADDER_ROWS`] rows and graphs draw at most [`GRAPH_POINTS`] segments (evenly thinned).

use core::fmt::Write;
use std::io::Read;

use crate::analysis::flag;
use crate::capture::{CaptureError, CaptureReader};
use crate::flow::{StateTracker, analysis_label, segment_label};
use crate::graph::{Kind, graph_svg};
use crate::segments::{Segment, collect};
use crate::stats::{ConvStats, stats};

/// Most ladder rows drawn per stream.
pub const LADDER_ROWS: usize = 400;
/// Most segments a graph draws.
pub const GRAPH_POINTS: usize = 4000;
/// Most streams whose details (notes and ladder) the page holds: the busiest by payload.
pub const DETAILED_STREAMS: usize = 200;
/// Most streams whose details include the four graphs: the busiest by payload.
pub const GRAPHED_STREAMS: usize = 20;

/// Escapes text for HTML and SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn endpoint(e: (core::net::IpAddr, u16)) -> String {
    match e.0 {
        core::net::IpAddr::V6(a) => format!("[{a}]:{}", e.1),
        a => format!("{a}:{}", e.1),
    }
}

fn secs(ns: u64) -> String {
    format!("{:.6}", ns as f64 / 1e9)
}

/// An SVG document made fit to sit inside HTML: no XML prologue, no namespace URL.
fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..]
        .replace(r#" xmlns="http://www.w3.org/2000/svg""#, "")
        .replace(r#" xmlns:xlink="http://www.w3.org/1999/xlink""#, "")
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}\
th{background:#eee}td.l{text-align:left}tr.sel{background:#fff6d0}\
button{font-size:.85em}.notes td{text-align:left}.muted{color:#777}\
.graphs svg{width:48%;height:auto;border:1px solid #ddd;margin:.3em}\
.ladder svg{max-width:100%;height:auto;border:1px solid #ddd}\
g.row:target rect.hl,g.row.hl rect.hl{fill:#ffe08a}";

/// The page's script: opening a stream copies its template into the page. It avoids
/// anything that could read as a reference to another file or host.
const SCRIPT: &str = "function show(n){\
var d=document.getElementById('details');\
var t=document.getElementById('t'+n);if(!t)return;\
d.textContent='';d.appendChild(t.content.cloneNode(true));\
var rows=document.querySelectorAll('#conv tr');\
for(var i=0;i<rows.length;i++){rows[i].classList.toggle('sel',rows[i].dataset.s==String(n));}\
}\
function go(id){var e=document.getElementById(id);if(!e)return;\
var old=document.querySelectorAll('g.row.hl');for(var i=0;i<old.length;i++){old[i].classList.remove('hl');}\
e.classList.add('hl');e.scrollIntoView({block:'center'});}\
document.addEventListener('DOMContentLoaded',function(){\
var f=document.querySelector('#conv tr[data-s]');if(f){show(f.dataset.s);}});";

/// Writes the report page for the capture `reader` reads (opened twice: `reopen` gives the
/// second reader). `title` names the capture on the page.
pub fn report<R: Read, F>(title: &str, mut reopen: F) -> Result<String, CaptureError>
where
    F: FnMut() -> Result<CaptureReader<R>, CaptureError>,
{
    let st = stats(reopen()?);
    let data = collect(reopen()?, |_| true);
    let mut by_stream: Vec<Vec<Segment>> = vec![Vec::new(); st.conversations.len()];
    for s in data.segments {
        if let Some(v) = by_stream.get_mut(s.stream as usize) {
            v.push(s);
        }
    }
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>synack report: {t}</title><style>{STYLE}</style></head><body>\n\
         <h1>TCP report: {t}</h1>\n",
        t = esc(title)
    );
    let dur = st
        .conversations
        .iter()
        .map(|c| c.end_ns)
        .max()
        .map(|e| e.saturating_sub(st.first_ns))
        .unwrap_or(0);
    let _ = writeln!(
        h,
        "<p>{} frames, {} TCP streams, {} s. Open a stream for its ladder diagram, graphs and \
         expert notes; each note links to its ladder row.</p>",
        st.frames,
        st.conversations.len(),
        secs(dur)
    );
    if let Some(e) = &st.error {
        let _ = writeln!(
            h,
            "<p class=\"muted\">The capture ends in damage: {}</p>",
            esc(&e.to_string())
        );
    }
    // The busiest streams (by payload, then in stream order) get details, the busiest of all
    // graphs too, so a capture of many connections still makes a page a browser opens.
    let mut order: Vec<usize> = (0..st.conversations.len()).collect();
    order.sort_by_key(|&i| {
        let c = &st.conversations[i];
        (core::cmp::Reverse(c.ab.payload + c.ba.payload), i)
    });
    let mut rank = vec![usize::MAX; order.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    if st.conversations.len() > DETAILED_STREAMS {
        let _ = writeln!(
            h,
            "<p class=\"muted\">Details are kept for the {DETAILED_STREAMS} busiest streams (graphs \
             for the {GRAPHED_STREAMS} busiest); for the others use <code>synack flow</code> and \
             <code>synack graph</code> with <code>--stream N</code>.</p>"
        );
    }
    conversation_table(&mut h, &st.conversations, &by_stream, st.first_ns, &rank);
    h.push_str("<div id=\"details\"></div>\n");
    for (i, (c, segs)) in st.conversations.iter().zip(&by_stream).enumerate() {
        if rank[i] >= DETAILED_STREAMS {
            continue;
        }
        let _ = write!(h, "<template id=\"t{}\">", c.stream);
        details(&mut h, c, segs, rank[i] < GRAPHED_STREAMS);
        h.push_str("</template>\n");
    }
    let _ = write!(h, "<script>{SCRIPT}</script>\n</body></html>\n");
    Ok(h)
}

fn note_count(segs: &[Segment]) -> usize {
    segs.iter().filter(|s| is_note(s)).count()
}

fn is_note(s: &Segment) -> bool {
    let worth = flag::RETRANSMISSION
        | flag::FAST_RETRANSMISSION
        | flag::SPURIOUS_RETRANSMISSION
        | flag::OUT_OF_ORDER
        | flag::LOST_SEGMENT
        | flag::ACK_LOST_SEGMENT
        | flag::DUPLICATE_ACK
        | flag::ZERO_WINDOW
        | flag::ZERO_WINDOW_PROBE
        | flag::WINDOW_FULL
        | flag::KEEP_ALIVE;
    s.analysis & worth != 0 || s.flags.rst()
}

fn conversation_table(
    h: &mut String,
    convs: &[ConvStats],
    segs: &[Vec<Segment>],
    first: u64,
    rank: &[usize],
) {
    h.push_str(
        "<h2>Conversations</h2>\n<table id=\"conv\"><tr><th>stream</th><th>A</th><th>B</th>\
         <th>frames A&rarr;B</th><th>frames B&rarr;A</th><th>bytes A&rarr;B</th>\
         <th>bytes B&rarr;A</th><th>start (s)</th><th>duration (s)</th><th>handshake RTT (ms)</th>\
         <th>ending</th><th>retransmissions</th><th>dup ACKs</th><th>notes</th><th></th></tr>\n",
    );
    for (i, (c, s)) in convs.iter().zip(segs).enumerate() {
        let detailed = rank[i] < DETAILED_STREAMS;
        let (attr, button) = if detailed {
            (
                format!(" data-s=\"{}\"", c.stream),
                format!("<button onclick=\"show({})\">details</button>", c.stream),
            )
        } else {
            (String::new(), String::new())
        };
        let rtt = c
            .handshake_rtt_ns
            .map(|r| format!("{:.3}", r as f64 / 1e6))
            .unwrap_or_else(|| "&ndash;".into());
        let _ = writeln!(
            h,
            "<tr{attr}><td>{n}</td><td class=\"l\">{a}</td><td class=\"l\">{b}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{rtt}</td>\
             <td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{button}</td></tr>",
            c.ab.frames,
            c.ba.frames,
            c.ab.payload,
            c.ba.payload,
            secs(c.start_ns.saturating_sub(first)),
            secs(c.end_ns.saturating_sub(c.start_ns)),
            c.ending.as_str(),
            c.ab.retransmissions + c.ba.retransmissions,
            c.ab.dup_acks + c.ba.dup_acks,
            note_count(s),
            n = c.stream,
            a = esc(&endpoint(c.a)),
            b = esc(&endpoint(c.b)),
        );
    }
    h.push_str("</table>\n");
}

fn details(h: &mut String, c: &ConvStats, segs: &[Segment], graphs: bool) {
    let _ = writeln!(
        h,
        "<h2>Stream {}: {} &harr; {}</h2>",
        c.stream,
        esc(&endpoint(c.a)),
        esc(&endpoint(c.b))
    );
    if segs.is_empty() {
        h.push_str("<p class=\"muted\">No segments.</p>");
        return;
    }
    notes(h, c.stream, segs);
    h.push_str("<h3>Ladder</h3><div class=\"ladder\">");
    h.push_str(&ladder(c, segs));
    h.push_str("</div>");
    if !graphs {
        let _ = write!(
            h,
            "<p class=\"muted\">Graphs are drawn for the {GRAPHED_STREAMS} busiest streams; \
             <code>synack graph --stream {}</code> draws this one.</p>",
            c.stream
        );
        return;
    }
    h.push_str("<h3>Graphs</h3><div class=\"graphs\">");
    let step = segs.len().div_ceil(GRAPH_POINTS).max(1);
    let thin: Vec<Segment> = segs.iter().step_by(step).cloned().collect();
    if step > 1 {
        let _ = writeln!(h, "<p class=\"muted\">Graphs draw one segment in {step}.</p>");
    }
    for (kind, name) in [
        (Kind::Tseq, "time-sequence"),
        (Kind::Throughput, "throughput"),
        (Kind::Rtt, "RTT"),
        (Kind::Window, "window"),
    ] {
        let title = format!("stream {} {name}", c.stream);
        match graph_svg(&thin, kind, &title, None) {
            Ok(svg) => h.push_str(&inline_svg(&svg)),
            Err(e) => {
                let _ = write!(h, "<p class=\"muted\">{name}: {}</p>", esc(&e.to_string()));
            }
        }
    }
    h.push_str("</div>");
}

fn row_id(stream: u32, i: usize) -> String {
    format!("s{stream}-r{i}")
}

fn notes(h: &mut String, stream: u32, segs: &[Segment]) {
    let t0 = segs[0].ts_ns;
    let list: Vec<(usize, &Segment)> =
        segs.iter().enumerate().filter(|(_, s)| is_note(s)).collect();
    let _ = writeln!(h, "<h3>Expert notes ({})</h3>", list.len());
    if list.is_empty() {
        h.push_str("<p class=\"muted\">Nothing unusual.</p>");
        return;
    }
    h.push_str(
        "<table class=\"notes\"><tr><th>time (s)</th><th>frame</th><th>from</th><th>note</th>\
         <th>segment</th></tr>\n",
    );
    for (i, s) in list {
        let mut what = analysis_label(s.analysis);
        if s.flags.rst() {
            if !what.is_empty() {
                what.push_str(", ");
            }
            what.push_str("reset");
        }
        let link = if i < LADDER_ROWS {
            let id = row_id(stream, i);
            format!("<a href=\"#{id}\" onclick=\"go('{id}');return false\">row {}</a>", i + 1)
        } else {
            format!("row {} (past the ladder's end)", i + 1)
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} &ndash; {link}</td><td>{}</td></tr>",
            secs(s.ts_ns.saturating_sub(t0)),
            s.frame,
            if s.from_a { "A" } else { "B" },
            esc(&what),
            esc(&segment_label(s))
        );
    }
    h.push_str("</table>");
}

/// The ladder as SVG: one row per segment with an id the notes link to, each end's state
/// written where it changes.
fn ladder(c: &ConvStats, segs: &[Segment]) -> String {
    let n = segs.len().min(LADDER_ROWS);
    let (row, top, xa, xb, width) = (26.0, 70.0, 250.0, 750.0, 1000.0);
    let height = top + row * (n as f64 + 2.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"monospace\" font-size=\"12\">"
    );
    let _ = writeln!(
        s,
        "<defs><marker id=\"ah{st}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" \
         fill=\"#333\"/></marker></defs>",
        st = c.stream
    );
    let _ = writeln!(
        s,
        "<text x=\"{xa}\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">A {}</text>\
         <text x=\"{xb}\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">B {}</text>",
        esc(&endpoint(c.a)),
        esc(&endpoint(c.b))
    );
    let bottom = top + row * n as f64;
    let _ = writeln!(
        s,
        "<line x1=\"{xa}\" y1=\"44\" x2=\"{xa}\" y2=\"{bottom}\" stroke=\"#555\" stroke-width=\"2\"/>\
         <line x1=\"{xb}\" y1=\"44\" x2=\"{xb}\" y2=\"{bottom}\" stroke=\"#555\" stroke-width=\"2\"/>"
    );
    let mut st = StateTracker::new(segs);
    let (sa, sb) = st.states();
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"40\" text-anchor=\"end\" fill=\"#06c\">{}</text>\
         <text x=\"{}\" y=\"40\" fill=\"#06c\">{}</text>",
        xa - 8.0,
        sa.name(),
        xb + 8.0,
        sb.name()
    );
    let t0 = segs[0].ts_ns;
    for (i, seg) in segs[..n].iter().enumerate() {
        let before = st.states();
        st.on_segment(seg);
        let after = st.states();
        let y = top + row * i as f64;
        let (x1, x2) = if seg.from_a { (xa, xb) } else { (xb, xa) };
        let note = analysis_label(seg.analysis);
        let color = if seg.flags.rst()
            || seg.analysis
                & (flag::RETRANSMISSION
                    | flag::FAST_RETRANSMISSION
                    | flag::SPURIOUS_RETRANSMISSION
                    | flag::LOST_SEGMENT)
                != 0
        {
            "#c22"
        } else if seg.analysis != 0 {
            "#b70"
        } else {
            "#333"
        };
        let _ = write!(
            s,
            "<g class=\"row\" id=\"{id}\"><rect class=\"hl\" x=\"0\" y=\"{}\" width=\"{width}\" \
             height=\"{row}\" fill=\"none\"/><title>frame {}</title>\
             <text x=\"8\" y=\"{}\" fill=\"#777\">{}</text>\
             <line x1=\"{x1}\" y1=\"{}\" x2=\"{x2}\" y2=\"{}\" stroke=\"{color}\" \
             marker-end=\"url(#ah{st})\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{color}\">{}</text>",
            y - row + 6.0,
            seg.frame,
            y,
            secs(seg.ts_ns.saturating_sub(t0)),
            y - 4.0,
            y + 8.0,
            (xa + xb) / 2.0,
            y - 6.0,
            esc(&segment_label(seg)),
            id = row_id(c.stream, i),
            st = c.stream,
        );
        if after.0 != before.0 {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#06c\">{}</text>",
                xa - 8.0,
                y + 4.0,
                after.0.name()
            );
        }
        if after.1 != before.1 {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" fill=\"#06c\">{}</text>",
                xb + 8.0,
                y + 4.0,
                after.1.name()
            );
        }
        if !note.is_empty() {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" fill=\"{color}\" font-size=\"10\">{}</text>",
                xb + 110.0,
                y + 4.0,
                esc(&note)
            );
        }
        s.push_str("</g>\n");
    }
    if n < segs.len() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#777\">&#8230; {} more segments \
             (the ladder stops after {LADDER_ROWS} rows)</text>",
            (xa + xb) / 2.0,
            bottom + row,
            segs.len() - n
        );
    }
    s.push_str("</svg>");
    s
}
