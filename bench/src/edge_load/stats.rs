//! Counters of one connection task ([`Stats`]) and the merged result of a run
//! ([`Report`]): rates, latency percentiles, status codes, `x-cache` values.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use super::conn::Outcome;

/// What one connection task measured.
#[derive(Debug, Default)]
pub struct Stats {
    /// Latency of every complete response, send to last body byte, in µs.
    pub latencies_us: Vec<u32>,
    /// Connect, I/O, protocol and timeout errors.
    pub errors: u64,
    /// Body bytes of complete responses.
    pub bytes: u64,
    /// Responses per status code.
    pub status: BTreeMap<u16, u64>,
    /// Responses per `x-cache` value ("none" when absent).
    pub x_cache: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts one complete response that took `micros`.
    pub fn record(&mut self, outcome: &Outcome, micros: u64) {
        self.latencies_us
            .push(micros.min(u64::from(u32::MAX)) as u32);
        self.bytes += outcome.bytes;
        *self.status.entry(outcome.status).or_default() += 1;
        let value = outcome
            .x_cache
            .as_ref()
            .map_or(&b"none"[..], |v| v.as_bytes());
        // Few distinct values: look up by bytes, allocate a key only once each.
        match self.x_cache.iter_mut().find(|(k, _)| k.as_bytes() == value) {
            Some((_, n)) => *n += 1,
            None => {
                let key = String::from_utf8_lossy(value).into_owned();
                self.x_cache.insert(key, 1);
            }
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Stats) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.bytes += other.bytes;
        for (k, n) in other.status {
            *self.status.entry(k).or_default() += n;
        }
        for (k, n) in other.x_cache {
            *self.x_cache.entry(k).or_default() += n;
        }
    }
}

/// The result of a run.
#[derive(Debug)]
pub struct Report {
    /// Complete responses.
    pub requests: u64,
    /// Failed requests and connects.
    pub errors: u64,
    /// Seconds of the measured phase.
    pub elapsed_s: f64,
    /// Body bytes.
    pub bytes: u64,
    /// Latencies in µs, sorted.
    latencies_us: Vec<u32>,
    /// Responses per status code.
    pub status: BTreeMap<u16, u64>,
    /// Responses per `x-cache` value.
    pub x_cache: BTreeMap<String, u64>,
}

impl Report {
    /// The report of `stats` gathered over `elapsed_s` seconds.
    pub fn new(mut stats: Stats, elapsed_s: f64) -> Self {
        stats.latencies_us.sort_unstable();
        Report {
            requests: stats.latencies_us.len() as u64,
            errors: stats.errors,
            elapsed_s,
            bytes: stats.bytes,
            latencies_us: stats.latencies_us,
            status: stats.status,
            x_cache: stats.x_cache,
        }
    }

    /// Complete responses per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed_s.max(1e-9)
    }

    /// Body bytes per second.
    pub fn bytes_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed_s.max(1e-9)
    }

    /// Latency quantile `q` (0..=1, nearest rank) in ms; 0 without responses.
    pub fn latency_ms(&self, q: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        f64::from(self.latencies_us[rank - 1]) / 1000.0
    }

    /// Share of responses whose `x-cache` value starts with "hit".
    pub fn hit_ratio(&self) -> f64 {
        let hits: u64 = self
            .x_cache
            .iter()
            .filter(|(k, _)| k.starts_with("hit"))
            .map(|(_, n)| n)
            .sum();
        hits as f64 / (self.requests.max(1)) as f64
    }

    /// The one-line JSON form.
    pub fn json(&self) -> Value {
        let status: Map<String, Value> = self
            .status
            .iter()
            .map(|(k, n)| (k.to_string(), json!(n)))
            .collect();
        let x_cache: Map<String, Value> = self
            .x_cache
            .iter()
            .map(|(k, n)| (k.clone(), json!(n)))
            .collect();
        json!({
            "requests": self.requests,
            "errors": self.errors,
            "elapsed_s": round3(self.elapsed_s),
            "rps": round3(self.rps()),
            "bytes_per_s": self.bytes_per_s().round(),
            "p50_ms": self.latency_ms(0.50),
            "p90_ms": self.latency_ms(0.90),
            "p99_ms": self.latency_ms(0.99),
            "p999_ms": self.latency_ms(0.999),
            "max_ms": self.latency_ms(1.0),
            "status": status,
            "x_cache": x_cache,
            "hit_ratio": (self.hit_ratio() * 1e6).round() / 1e6,
        })
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "requests     {:>12}", self.requests);
        let _ = writeln!(s, "errors       {:>12}", self.errors);
        let _ = writeln!(s, "elapsed      {:>12.3} s", self.elapsed_s);
        let _ = writeln!(s, "rate         {:>12.1} req/s", self.rps());
        let _ = writeln!(s, "throughput   {:>12.3} GB/s", self.bytes_per_s() / 1e9);
        for (name, q) in [
            ("p50", 0.5),
            ("p90", 0.9),
            ("p99", 0.99),
            ("p99.9", 0.999),
            ("max", 1.0),
        ] {
            let _ = writeln!(s, "latency {name:<5}{:>12.3} ms", self.latency_ms(q));
        }
        for (k, n) in &self.status {
            let _ = writeln!(s, "status {k}   {n:>12}");
        }
        for (k, n) in &self.x_cache {
            let _ = writeln!(s, "x-cache {k:<16} {n:>12}");
        }
        let _ = writeln!(s, "hit_ratio    {:>12.4}", self.hit_ratio());
        s
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn outcome(x: Option<&'static str>) -> Outcome {
        Outcome {
            status: 200,
            x_cache: x.map(HeaderValue::from_static),
            bytes: 10,
        }
    }

    #[test]
    fn percentiles_hits_and_merge() {
        let mut a = Stats::default();
        for us in 1..=50 {
            a.record(&outcome(Some("hit-memory")), us * 1000);
        }
        let mut b = Stats::default();
        for us in 51..=100 {
            b.record(
                &outcome(if us % 2 == 0 { Some("miss") } else { None }),
                us * 1000,
            );
        }
        b.record(&outcome(Some("hit-disk")), 100_000);
        b.errors = 3;
        a.merge(b);
        let r = Report::new(a, 2.0);
        assert_eq!(r.requests, 101);
        assert_eq!(r.errors, 3);
        assert_eq!(r.latency_ms(0.5), 51.0);
        assert_eq!(r.latency_ms(1.0), 100.0);
        assert_eq!(r.x_cache["none"], 25);
        assert_eq!(r.x_cache["miss"], 25);
        assert!((r.hit_ratio() - 51.0 / 101.0).abs() < 1e-12);
        assert_eq!(r.rps(), 50.5);
        assert_eq!(r.json()["status"]["200"], 101);
    }
}
