//! Per-script results and the summary line.

use crate::matcher::MatchMode;
use serde::Serialize;
use std::fmt;

/// What happened to one script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Verdict {
    /// Every event held.
    Pass,
    /// The first event that did not hold.
    Fail {
        /// Script line of the event.
        line: u32,
        /// The script line as written.
        expected: String,
        /// What the stack did instead (a segment in script space, a return value), if anything.
        actual: Option<String>,
        /// Virtual time of the mismatch, µs since the script started.
        time_us: u64,
        /// What differed.
        reason: String,
    },
    /// The script needs something the runner or the engine does not model.
    Unsupported {
        /// Script line, when one construct is to blame.
        line: Option<u32>,
        /// Why.
        reason: String,
    },
}

/// The result of running one script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The script's path as given.
    pub path: String,
    /// Profile used.
    pub profile: String,
    /// Match mode used.
    pub mode: MatchMode,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl Verdict {
    /// A short word: `pass`, `fail`, `unsupported`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::Unsupported { .. } => "unsupported",
        }
    }
}

impl fmt::Display for Outcome {
    /// `PASS path`, or `FAIL path:line: reason` with the expected line, the actual segment and
    /// the time on the following lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.verdict {
            Verdict::Pass => write!(f, "PASS {}", self.path),
            Verdict::Fail { line, expected, actual, time_us, reason } => {
                writeln!(f, "FAIL {}:{line}: {reason}", self.path)?;
                writeln!(f, "     expected: {}", expected.trim())?;
                if let Some(a) = actual {
                    writeln!(f, "     actual:   {a}")?;
                }
                write!(f, "     at:       {}.{:06}s", time_us / 1_000_000, time_us % 1_000_000)
            }
            Verdict::Unsupported { line, reason } => match line {
                Some(l) => write!(f, "SKIP {}:{l}: unsupported: {reason}", self.path),
                None => write!(f, "SKIP {}: unsupported: {reason}", self.path),
            },
        }
    }
}

/// Counts of a run, printed as `N passed, M failed, K skipped`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Scripts that passed.
    pub passed: usize,
    /// Scripts that failed.
    pub failed: usize,
    /// Scripts that were unsupported.
    pub skipped: usize,
}

impl Summary {
    /// Adds one outcome.
    pub fn add(&mut self, v: &Verdict) {
        match v {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail { .. } => self.failed += 1,
            Verdict::Unsupported { .. } => self.skipped += 1,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }
}
