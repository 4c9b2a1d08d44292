//! Live counters of `synack forward`, shown as a status line redrawn in place on a terminal
//! and as periodic log lines otherwise.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A counter shared by the relay tasks.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Everything `synack forward` counts.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) tcp_total: Counter,
    pub(crate) tcp_closed: Counter,
    /// Connections refused to the client (upstream refused, unreachable or timed out).
    pub(crate) tcp_refused: Counter,
    /// Connections ended by a reset on either side.
    pub(crate) tcp_reset: Counter,
    /// Bytes read from TUN clients and from upstream (TCP), shared with the relays.
    pub(crate) tcp_up: Arc<AtomicU64>,
    pub(crate) tcp_down: Arc<AtomicU64>,
    pub(crate) udp_total: Counter,
    pub(crate) udp_closed: Counter,
    pub(crate) udp_up: Counter,
    pub(crate) udp_down: Counter,
    pub(crate) udp_dropped: Counter,
    pub(crate) udp_refused: Counter,
    /// Failures other than refusals: upstream errors, proxy failures.
    pub(crate) errors: Counter,
}

impl Counters {
    pub(crate) fn tcp_opened(&self) {
        self.tcp_total.add(1);
    }
    pub(crate) fn udp_opened(&self) {
        self.udp_total.add(1);
    }
    pub(crate) fn udp_closed(&self) {
        self.udp_closed.add(1);
    }
    /// Counts an error and logs it (a status line being drawn is cleared first).
    pub(crate) fn error(&self, what: fmt::Arguments<'_>) {
        self.errors.add(1);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}forward: {what}", clear_line());
    }

    /// One line with every figure.
    pub(crate) fn line(&self) -> String {
        let mb = |n: u64| n as f64 / 1e6;
        let tcp_open = self.tcp_total.get().saturating_sub(self.tcp_closed.get());
        let udp_open = self.udp_total.get().saturating_sub(self.udp_closed.get());
        format!(
            "tcp {tcp_open} open / {} total, {} refused, {} reset | udp {udp_open} open / {} total, \
             {} dropped, {} unreachable | up {:.1} MB, down {:.1} MB | {} errors",
            self.tcp_total.get(),
            self.tcp_refused.get(),
            self.tcp_reset.get(),
            self.udp_total.get(),
            self.udp_dropped.get(),
            self.udp_refused.get(),
            mb(self.tcp_up.load(Ordering::Relaxed) + self.udp_up.get()),
            mb(self.tcp_down.load(Ordering::Relaxed) + self.udp_down.get()),
            self.errors.get(),
        )
    }
}

/// What erases a status line being drawn: nothing when stderr is not a terminal.
pub(crate) fn clear_line() -> &'static str {
    if std::io::stderr().is_terminal() { "\r\x1b[K" } else { "" }
}

/// Prints the counters until the task is dropped: every second in place on a terminal,
/// every `interval` as a log line otherwise.
pub(crate) async fn report(counters: Arc<Counters>, interval: Duration) {
    let tty = std::io::stderr().is_terminal();
    let every = if tty { Duration::from_secs(1) } else { interval };
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let line = counters.line();
        let mut err = std::io::stderr().lock();
        if tty {
            let _ = write!(err, "\r\x1b[K{line}");
        } else {
            let _ = writeln!(err, "forward: [{:>6.0}s] {line}", start.elapsed().as_secs_f64());
        }
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_every_figure() {
        let c = Counters::default();
        c.tcp_opened();
        c.tcp_opened();
        c.tcp_closed.add(1);
        c.tcp_up.fetch_add(2_500_000, Ordering::Relaxed);
        c.udp_opened();
        c.udp_down.add(500_000);
        let l = c.line();
        assert!(
            l.starts_with("tcp 1 open / 2 total, 0 refused, 0 reset | udp 1 open / 1 total"),
            "{l}"
        );
        assert!(l.contains("up 2.5 MB, down 0.5 MB"), "{l}");
    }
}
