//! Log output: the `tracing` events of the libraries the command runs (the TUN device falling
//! back from offloads or io_uring, the stack's connections failing, a device that stops) go to
//! stderr, one line each.
//!
//! Warnings and errors show by default. The filter comes from `--log FILTER`, else the
//! `SYNACK_LOG` environment variable, else `RUST_LOG`: a level (`info`, `debug`), or
//! comma-separated `target=level` directives with an optional bare default level
//! (`warn,synack_tun=debug`; targets are crate and module paths such as `synack`,
//! `synack_tun::device`). `off` silences everything.

use std::io;
use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The environment variable read for the filter, before `RUST_LOG`.
pub(crate) const ENV: &str = "SYNACK_LOG";
/// The filter when none is given.
const DEFAULT: &str = "warn";

/// Where the filter came from, for the error message when it does not parse.
fn chosen(flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> (String, String) {
    if let Some(f) = flag {
        return ("--log".into(), f.into());
    }
    for var in [ENV, "RUST_LOG"] {
        if let Some(v) = env(var).filter(|v| !v.trim().is_empty()) {
            return (var.into(), v);
        }
    }
    ("the default".into(), DEFAULT.into())
}

/// The filter to use: `flag` (the `--log` value) first, then the environment as `env` reads
/// it, then warnings; a filter that does not parse is an error naming where it came from.
pub(crate) fn filter(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Targets, String> {
    let (source, text) = chosen(flag, env);
    Targets::from_str(text.trim()).map_err(|e| {
        format!(
            "{source}: invalid log filter {text:?} ({e}); expected a level (error, warn, info, \
             debug, trace, off) or target=level directives, e.g. warn,synack_tun=debug"
        )
    })
}

/// The subscriber: one plain line per event (time, level, target, message and fields) to
/// `writer`, for the events `filter` lets through.
pub(crate) fn subscriber<W>(filter: Targets, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false);
    tracing_subscriber::registry().with(lines).with(filter)
}

/// Installs the subscriber for the process, logging to stderr.
pub(crate) fn init(flag: Option<&str>) -> Result<(), String> {
    let filter = filter(flag, &|var| std::env::var(var).ok())?;
    tracing::subscriber::set_global_default(subscriber(filter, io::stderr))
        .map_err(|e| format!("installing the log subscriber: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buf {
        type Writer = Buf;
        fn make_writer(&'w self) -> Buf {
            self.clone()
        }
    }

    /// What the events below leave in the log under the filter chosen from `flag` and `env`.
    fn logged(flag: Option<&str>, env: &[(&str, &str)]) -> String {
        let env: Vec<(String, String)> =
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let read = move |var: &str| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
        let buf = Buf::default();
        let sub = subscriber(filter(flag, &read).expect("filter"), buf.clone());
        tracing::subscriber::with_default(sub, || {
            tracing::warn!(target: "synack_tun::device", "TUN t0: the kernel refused offloads");
            tracing::info!(target: "synack", "connection open");
            tracing::debug!(target: "synack_tun::device", "TUN t0: batched I/O through io_uring");
        });
        let out = buf.0.lock().unwrap().clone();
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn warnings_show_by_default_and_nothing_below() {
        let out = logged(None, &[]);
        assert!(out.contains("WARN synack_tun::device: TUN t0: the kernel refused offloads"));
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(!out.contains('\x1b'), "no colour codes: {out:?}");
    }

    #[test]
    fn the_flag_wins_over_synack_log_which_wins_over_rust_log() {
        let both = [(ENV, "info"), ("RUST_LOG", "off")];
        assert_eq!(logged(None, &both).lines().count(), 2, "SYNACK_LOG=info");
        assert_eq!(logged(None, &[("RUST_LOG", "off")]), "", "RUST_LOG=off");
        assert_eq!(logged(Some("debug"), &both).lines().count(), 3, "--log debug");
        // An empty variable counts as unset.
        assert_eq!(logged(None, &[(ENV, " "), ("RUST_LOG", "off")]), "");
    }

    #[test]
    fn directives_pick_targets() {
        let out = logged(Some("error,synack_tun=debug"), &[]);
        assert!(out.contains("refused offloads") && out.contains("through io_uring"), "{out}");
        assert!(!out.contains("connection open"), "{out}");
    }

    #[test]
    fn a_bad_filter_is_an_error_naming_its_source() {
        let read = |var: &str| (var == ENV).then(|| "synack=loud".to_string());
        let e = filter(None, &read).map(|_| ()).expect_err("bad level");
        assert!(e.starts_with("SYNACK_LOG: invalid log filter \"synack=loud\""), "{e}");
        let e = filter(Some("=="), &read).map(|_| ()).expect_err("bad flag");
        assert!(e.starts_with("--log: "), "{e}");
    }
}
