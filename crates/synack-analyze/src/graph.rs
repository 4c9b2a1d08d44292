//! Graphs of one TCP stream, drawn with `plotters` as SVG: the time-sequence graph
//! (tcptrace/Stevens style: data segments as vertical bars, the ACK line, the receive-window
//! line, SACK blocks, retransmissions in red), throughput, RTT samples and window over time.
//!
//! The "data direction" is the one that carried more payload bytes; ACKs, windows and SACK
//! blocks come from the other direction.

use crate::analysis::flag;
use crate::segments::Segment;
use plotters::prelude::*;

/// Which graph to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Time-sequence graph.
    Tseq,
    /// Goodput of the data direction over time.
    Throughput,
    /// ACK RTT samples over time.
    Rtt,
    /// Receive window and bytes in flight over time.
    Window,
}

impl core::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "tseq" => Kind::Tseq,
            "throughput" => Kind::Throughput,
            "rtt" => Kind::Rtt,
            "window" => Kind::Window,
            o => return Err(format!("unknown graph kind {o:?} (tseq, throughput, rtt, window)")),
        })
    }
}

/// Why a graph could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// The stream has no data in the direction graphed.
    #[error("stream has no segments to graph")]
    Empty,
    /// The plotting backend failed.
    #[error("drawing failed: {0}")]
    Draw(String),
}

fn draw_err<E: std::fmt::Display>(e: E) -> GraphError {
    GraphError::Draw(e.to_string())
}

/// The chart of a graph.
type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The layout all graphs share (caption, margins, label areas, the mesh with its axis
/// descriptions), so the graphs differ only in what they plot. `whole_y` prints the y labels
/// without decimals (sequence numbers, bytes).
fn chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    caption: String,
    x: core::ops::Range<f64>,
    y: core::ops::Range<f64>,
    (x_desc, y_desc): (&str, &str),
    whole_y: bool,
) -> Result<Chart<'a, 'b>, GraphError> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(draw_err)?;
    let mut mesh = chart.configure_mesh();
    // Grid lines at the labelled values only: plotters' default adds up to ten faint lines
    // between each pair, about 200 SVG elements that were most of a small graph's size and
    // drawing time.
    mesh.x_desc(x_desc).y_desc(y_desc).max_light_lines(0);
    if whole_y {
        mesh.y_label_formatter(&whole);
    }
    mesh.draw().map_err(draw_err)?;
    Ok(chart)
}

fn whole(v: &f64) -> String {
    format!("{v:.0}")
}

const RED: RGBColor = RGBColor(200, 40, 40);
const ACKC: RGBColor = RGBColor(30, 140, 60);
const WINC: RGBColor = RGBColor(220, 160, 0);
const SACKC: RGBColor = RGBColor(140, 60, 180);
const DATAC: RGBColor = RGBColor(20, 20, 20);

/// Draws one graph of a stream's segments as an SVG document. `window` limits the graph to a
/// time range (seconds since the stream's first segment), to zoom in.
pub fn graph_svg(
    all: &[Segment],
    kind: Kind,
    title: &str,
    window: Option<(f64, f64)>,
) -> Result<String, GraphError> {
    let t0 = all.first().ok_or(GraphError::Empty)?.ts_ns;
    let rel = |s: &Segment| s.ts_ns.saturating_sub(t0) as f64 / 1e9;
    let kept: Vec<Segment> = all
        .iter()
        .filter(|s| window.is_none_or(|(a, b)| a <= rel(s) && rel(s) <= b))
        .cloned()
        .collect();
    let segs = &kept[..];
    if segs.is_empty() {
        return Err(GraphError::Empty);
    }
    let secs = |s: &Segment| s.ts_ns.saturating_sub(t0) as f64 / 1e9;
    let bytes_a: u64 = segs.iter().filter(|s| s.from_a).map(|s| u64::from(s.len)).sum();
    let bytes_b: u64 = segs.iter().filter(|s| !s.from_a).map(|s| u64::from(s.len)).sum();
    let data_from_a = bytes_a >= bytes_b;
    let data: Vec<&Segment> = segs.iter().filter(|s| s.from_a == data_from_a).collect();
    let acks: Vec<&Segment> =
        segs.iter().filter(|s| s.from_a != data_from_a && s.flags.ack()).collect();
    let tmin = window.map_or(0.0, |w| w.0);
    let tmax = segs.iter().map(secs).fold(0.0f64, f64::max).max(tmin + 1e-6);
    let xr = tmin..tmax + (tmax - tmin) * 0.02;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 650)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        match kind {
            Kind::Tseq => {
                let ymax = data
                    .iter()
                    .map(|s| u64::from(s.seq) + u64::from(s.len))
                    .chain(acks.iter().map(|a| u64::from(a.ack) + a.window))
                    .max()
                    .unwrap_or(1)
                    .max(1) as f64;
                // Zoomed in, the axis starts at the lowest sequence number drawn.
                let ymin = match window {
                    Some(_) => data.iter().map(|s| f64::from(s.seq)).fold(ymax - 1.0, f64::min),
                    None => 0.0,
                };
                let mut chart = chart(
                    &root,
                    format!("{title}: time-sequence"),
                    xr.clone(),
                    ymin..ymax + (ymax - ymin) * 0.03,
                    ("time since first segment (s)", "relative sequence number"),
                    true,
                )?;
                // What lies off the axis (a SACK block's edge, or an ACK below a zoomed view) is
                // drawn to within one axis height of it: every line here is vertical or
                // horizontal, so the visible part is the same, and plotters' pixel arithmetic
                // (i32) overflows on a value billions of axis heights away.
                let span = (ymax - ymin).max(1.0);
                let y = |v: f64| v.clamp(ymin - span, ymax + span);
                // Receive window: ack + advertised window, a step line.
                let mut win = Vec::new();
                let mut ackl = Vec::new();
                for a in &acks {
                    let t = secs(a);
                    if let Some(&(_, prev)) = ackl.last() {
                        ackl.push((t, prev));
                    }
                    ackl.push((t, y(f64::from(a.ack))));
                    if let Some(&(_, prev)) = win.last() {
                        win.push((t, prev));
                    }
                    win.push((t, y(f64::from(a.ack) + a.window as f64)));
                }
                chart
                    .draw_series(LineSeries::new(win, &WINC))
                    .map_err(draw_err)?
                    .label("receive window")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], WINC));
                chart
                    .draw_series(LineSeries::new(ackl, &ACKC))
                    .map_err(draw_err)?
                    .label("ACK")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ACKC));
                let retrans = flag::RETRANSMISSION
                    | flag::FAST_RETRANSMISSION
                    | flag::SPURIOUS_RETRANSMISSION;
                chart
                    .draw_series(
                        data.iter().filter(|s| s.len > 0 && s.analysis & retrans == 0).map(|s| {
                            let t = secs(s);
                            PathElement::new(
                                vec![
                                    (t, y(f64::from(s.seq))),
                                    (t, y(f64::from(s.seq) + f64::from(s.len))),
                                ],
                                DATAC,
                            )
                        }),
                    )
                    .map_err(draw_err)?
                    .label("data")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], DATAC));
                chart
                    .draw_series(
                        data.iter().filter(|s| s.len > 0 && s.analysis & retrans != 0).map(|s| {
                            let t = secs(s);
                            PathElement::new(
                                vec![
                                    (t, y(f64::from(s.seq))),
                                    (t, y(f64::from(s.seq) + f64::from(s.len))),
                                ],
                                RED.stroke_width(3),
                            )
                        }),
                    )
                    .map_err(draw_err)?
                    .label("retransmission")
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3))
                    });
                chart
                    .draw_series(acks.iter().flat_map(|a| {
                        let t = secs(a);
                        a.sack.iter().map(move |&(l, r)| {
                            PathElement::new(
                                vec![(t, y(f64::from(l))), (t, y(f64::from(r)))],
                                SACKC.stroke_width(2),
                            )
                        })
                    }))
                    .map_err(draw_err)?
                    .label("SACK block")
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], SACKC.stroke_width(2))
                    });
                // Retransmissions also get a cross, visible at any zoom.
                chart
                    .draw_series(
                        data.iter().filter(|s| s.len > 0 && s.analysis & retrans != 0).map(|s| {
                            Cross::new((secs(s), y(f64::from(s.seq))), 5, RED.stroke_width(2))
                        }),
                    )
                    .map_err(draw_err)?;
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperLeft)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(draw_err)?;
            }
            Kind::Throughput => {
                let bins = 60usize;
                let w = (tmax - tmin) / bins as f64;
                let mut acc = vec![0u64; bins];
                for s in &data {
                    let i = (((secs(s) - tmin) / w).max(0.0) as usize).min(bins - 1);
                    acc[i] += u64::from(s.len);
                }
                let pts: Vec<(f64, f64)> = acc
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (tmin + (i as f64 + 0.5) * w, *b as f64 * 8.0 / w / 1e6))
                    .collect();
                let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-6);
                let mut chart = chart(
                    &root,
                    format!("{title}: throughput (payload, {bins} bins)"),
                    xr.clone(),
                    0.0..ymax * 1.1,
                    ("time (s)", "Mbit/s"),
                    false,
                )?;
                chart.draw_series(LineSeries::new(pts.clone(), &BLUE)).map_err(draw_err)?;
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 3, BLUE.filled())))
                    .map_err(draw_err)?;
            }
            Kind::Rtt => {
                let pts: Vec<(f64, f64)> = acks
                    .iter()
                    .filter_map(|a| a.ack_rtt_ns.map(|r| (secs(a), r as f64 / 1e6)))
                    .collect();
                if pts.is_empty() {
                    return Err(GraphError::Empty);
                }
                let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-6);
                // A capture whose timestamps go backwards gives negative samples: the axis
                // shows them rather than leaving them off the chart.
                let ymin = pts.iter().map(|p| p.1).fold(0.0, f64::min);
                let mut chart = chart(
                    &root,
                    format!("{title}: RTT of each ACK (tcp.analysis.ack_rtt)"),
                    xr.clone(),
                    ymin * 1.1..ymax * 1.1,
                    ("time (s)", "RTT (ms)"),
                    false,
                )?;
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 2, ACKC.filled())))
                    .map_err(draw_err)?;
            }
            Kind::Window => {
                let mut win = Vec::new();
                for a in &acks {
                    if let Some(&(_, prev)) = win.last() {
                        win.push((secs(a), prev));
                    }
                    win.push((secs(a), a.window as f64));
                }
                let bif: Vec<(f64, f64)> = data
                    .iter()
                    .filter_map(|s| s.bytes_in_flight.map(|b| (secs(s), f64::from(b))))
                    .collect();
                let ymax = win.iter().chain(bif.iter()).map(|p| p.1).fold(0.0, f64::max).max(1.0);
                let mut chart = chart(
                    &root,
                    format!("{title}: receive window and bytes in flight"),
                    xr.clone(),
                    0.0..ymax * 1.1,
                    ("time (s)", "bytes"),
                    true,
                )?;
                chart
                    .draw_series(LineSeries::new(win, &WINC))
                    .map_err(draw_err)?
                    .label("receiver's advertised window")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], WINC));
                chart
                    .draw_series(bif.iter().map(|p| Circle::new(*p, 2, BLUE.filled())))
                    .map_err(draw_err)?
                    .label("bytes in flight")
                    .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.filled()));
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(draw_err)?;
            }
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}
