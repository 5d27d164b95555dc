//! # Named checks against one shared set-up, and polling
//!
//! Starting an origin and a publisher and waiting for steady state takes seconds,
//! so a test file usually builds that once and then runs several named checks
//! against it. [`Checks`] runs each one (catching panics), prints a PASS/FAIL line
//! per check, and fails the test at the end if any check failed — one broken
//! behaviour does not hide the others.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use anyhow::Result;

/// A list of named check outcomes; see the module docs.
#[derive(Default)]
pub struct Checks {
    results: Vec<(String, std::result::Result<(), String>)>,
}

impl Checks {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs check `name`.
    pub fn run(&mut self, name: &str, f: impl FnOnce() -> Result<()>) {
        let started = Instant::now();
        let outcome = match catch_unwind(AssertUnwindSafe(f)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(p) => Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into())),
        };
        match &outcome {
            Ok(()) => eprintln!("PASS {name} ({:.1?})", started.elapsed()),
            Err(e) => eprintln!("FAIL {name} ({:.1?}): {e}", started.elapsed()),
        }
        self.results.push((name.to_owned(), outcome));
    }

    /// Panics, listing every failed check, if any failed.
    pub fn finish(self) {
        let failed: Vec<String> = self
            .results
            .iter()
            .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("- {n}: {e}")))
            .collect();
        if !failed.is_empty() {
            panic!(
                "{} of {} checks failed:\n{}",
                failed.len(),
                self.results.len(),
                failed.join("\n")
            );
        }
    }
}

/// Calls `f` every `every` until it returns `Ok(Some(v))`, or fails after
/// `timeout` with `what` and the last error or `None` seen.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("condition never held");
    loop {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = format!("{e:#}"),
        }
        if Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}; last: {last}");
        }
        std::thread::sleep(every);
    }
}

/// [`wait_for`] for a condition: polls `f` every `every` until it returns
/// `Ok(true)`, or fails after `timeout` with `what` and the last error seen.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Result<bool>,
) -> Result<()> {
    wait_for(what, timeout, every, || Ok(f()?.then_some(())))
}
