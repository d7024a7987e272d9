//! Fuzzing on the stable toolchain, as ordinary tests (ADR 0016).
//!
//! A fuzz test is a loop over generated inputs: valid requests, configs or
//! values mutated by the [`mutate`] functions, so that most inputs get past
//! the first parser and reach the code behind it. Each case draws from its
//! own [`Rng`] derived from the run's seed and the case number, so any
//! failure can be replayed alone.
//!
//! ```text
//! SIGIL_FUZZ_CASES=1000000   inputs per target (default: the test's short count)
//! SIGIL_FUZZ_SEED=42         the run's seed (default: from the clock; printed)
//! SIGIL_FUZZ_CASE=1234       replay one case of that seed
//! ```
//!
//! ```no_run
//! let mut fuzz = sigil_fuzz::Fuzz::new("example", 1_000);
//! while let Some(rng) = fuzz.next_case() {
//!     let input = sigil_fuzz::mutate::bytes(rng, b"seed", &[b"token"]);
//!     assert!(input.len() < 1 << 20);
//! }
//! fuzz.finish("all inputs bounded");
//! ```

pub mod mutate;
mod rng;

use std::time::Instant;

pub use rng::Rng;

/// Inputs per target: `SIGIL_FUZZ_CASES`, else `short` (the count the
/// normal test run uses).
pub fn cases(short: u64) -> u64 {
    std::env::var("SIGIL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(short)
}

/// One fuzz run of a target: counts cases, keeps the seed, and on a panic
/// (a crash of the code under test or a failed property) says which case
/// to replay.
pub struct Fuzz {
    target: String,
    seed: u64,
    cases: u64,
    only: Option<u64>,
    next: u64,
    current: Option<u64>,
    rng: Rng,
    started: Instant,
}

impl Fuzz {
    /// A run of `target` with `short` cases unless `SIGIL_FUZZ_CASES` says
    /// otherwise.
    pub fn new(target: &str, short: u64) -> Self {
        let seed = std::env::var("SIGIL_FUZZ_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0)
            });
        let only = std::env::var("SIGIL_FUZZ_CASE")
            .ok()
            .and_then(|v| v.parse().ok());
        Self {
            target: target.to_owned(),
            seed,
            cases: cases(short),
            only,
            next: only.unwrap_or(0),
            current: None,
            rng: Rng::new(seed),
            started: Instant::now(),
        }
    }

    /// The generator of the next case, or `None` when the run is done.
    pub fn next_case(&mut self) -> Option<&mut Rng> {
        let end = self.only.map_or(self.cases, |c| c + 1);
        if self.next >= end {
            self.current = None;
            return None;
        }
        self.current = Some(self.next);
        self.rng = Rng::for_case(self.seed, self.next);
        self.next += 1;
        Some(&mut self.rng)
    }

    /// Whether one case is being replayed (`SIGIL_FUZZ_CASE`): properties
    /// over the whole run (e.g. "both outcomes were reached") do not apply.
    pub fn replaying(&self) -> bool {
        self.only.is_some()
    }

    /// Cases run so far.
    pub fn done(&self) -> u64 {
        self.next - self.only.unwrap_or(0)
    }

    /// Print the summary line (`fuzz <target>: <n> inputs in <t> s ...,
    /// 0 panics; <outcome>`); `outcome` says how the inputs were answered
    /// (e.g. `812 accepted, 188 refused`).
    pub fn finish(mut self, outcome: &str) {
        self.current = None;
        let secs = self.started.elapsed().as_secs_f64();
        println!(
            "fuzz {}: {} inputs in {:.1} s ({:.0}/s), seed {}, 0 panics; {outcome}",
            self.target,
            self.done(),
            secs,
            self.done() as f64 / secs.max(1e-9),
            self.seed
        );
    }
}

impl Drop for Fuzz {
    fn drop(&mut self) {
        if let (true, Some(case)) = (std::thread::panicking(), self.current) {
            eprintln!(
                "fuzz {}: case {case} failed after {} inputs; replay it with \
                 SIGIL_FUZZ_SEED={} SIGIL_FUZZ_CASE={case}",
                self.target,
                self.done(),
                self.seed
            );
        }
    }
}
