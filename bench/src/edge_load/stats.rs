//! Counters of one connection task ([`Stats`]) and the merged result of a run
//! ([`Report`]): rates, latency percentiles, status codes, `x-cache` values, new
//! connections and resumed handshakes, and the CPU the server and the client
//! used ([`CpuUse`]), also per request and per byte.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use super::conn::Outcome;
use super::server_cpu::CpuUse;

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
    /// Connections made.
    pub connections: u64,
    /// TLS handshakes that resumed a session.
    pub resumed: u64,
}

impl Stats {
    /// Counts one connection made; `resumed` as [`super::conn::Conn::resumed`].
    pub fn record_connect(&mut self, resumed: Option<bool>) {
        self.connections += 1;
        if resumed == Some(true) {
            self.resumed += 1;
        }
    }

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
        self.connections += other.connections;
        self.resumed += other.resumed;
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
    /// Connections made in the measured phase.
    pub connections: u64,
    /// Of those, TLS handshakes that resumed a session (over TCP, from rustls).
    pub resumed: u64,
    /// Server certificates verified in the measured phase: full TLS handshakes,
    /// over TCP and QUIC alike (`None` without TLS). Counted from the phase's
    /// start to its end, so a connection straddling either may be off by one.
    pub full_handshakes: Option<u64>,
    /// CPU used over the measured phase, when measured.
    pub cpu: Option<CpuUse>,
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
            connections: stats.connections,
            resumed: stats.resumed,
            full_handshakes: None,
            cpu: None,
        }
    }

    /// This report with the CPU use of its measured phase.
    pub fn with_cpu(mut self, cpu: CpuUse) -> Self {
        self.cpu = Some(cpu);
        self
    }

    /// New connections per second.
    pub fn connections_per_s(&self) -> f64 {
        self.connections as f64 / self.elapsed_s.max(1e-9)
    }

    /// The server's CPU share (1.0 = one core busy), when measured.
    pub fn server_cpu_share(&self) -> Option<f64> {
        self.cpu?.server_share()
    }

    /// This client's CPU share, when measured.
    pub fn client_cpu_share(&self) -> Option<f64> {
        self.cpu?.client_share()
    }

    /// Server CPU µs per complete response.
    ///
    /// This and the two below are rates over the measured phase divided by the
    /// server's CPU share over the CPU samples' window, not counts divided by CPU
    /// seconds: the first sample can be taken late on a starved client, and a
    /// ratio of two rates stays right when the windows differ.
    pub fn server_us_per_request(&self) -> Option<f64> {
        let share = self.server_cpu_share()?;
        (self.requests > 0).then(|| share * 1e6 / self.rps())
    }

    /// Body bytes per server CPU second (throughput per busy server core).
    pub fn bytes_per_server_cpu_s(&self) -> Option<f64> {
        let share = self.server_cpu_share()?;
        (share > 0.0).then(|| self.bytes_per_s() / share)
    }

    /// Responses per server CPU second.
    pub fn requests_per_server_cpu_s(&self) -> Option<f64> {
        let share = self.server_cpu_share()?;
        (share > 0.0).then(|| self.rps() / share)
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
            "connections": self.connections,
            "connections_per_s": round3(self.connections_per_s()),
            "resumed": self.resumed,
            "full_handshakes": self.full_handshakes,
            "server_cpu_share": self.server_cpu_share().map(round3),
            "client_cpu_share": self.client_cpu_share().map(round3),
            "server_us_per_request": self.server_us_per_request().map(round3),
            "bytes_per_server_cpu_s": self.bytes_per_server_cpu_s().map(f64::round),
            "requests_per_server_cpu_s": self.requests_per_server_cpu_s().map(round3),
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
        let _ = writeln!(s, "connections  {:>12}", self.connections);
        let _ = writeln!(s, "conn rate    {:>12.1} /s", self.connections_per_s());
        let _ = writeln!(s, "resumed      {:>12}", self.resumed);
        if let Some(n) = self.full_handshakes {
            let _ = writeln!(s, "full hshakes {:>12}", n);
        }
        if let Some(share) = self.server_cpu_share() {
            let _ = writeln!(s, "server cpu   {:>12.3} cores", share);
        }
        if let Some(share) = self.client_cpu_share() {
            let _ = writeln!(s, "client cpu   {:>12.3} cores", share);
        }
        if let Some(us) = self.server_us_per_request() {
            let _ = writeln!(s, "server cpu   {:>12.1} µs/request", us);
        }
        if let Some(b) = self.bytes_per_server_cpu_s() {
            let _ = writeln!(s, "per core     {:>12.3} GB/s", b / 1e9);
        }
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
        b.record_connect(Some(true));
        b.record_connect(Some(false));
        a.record_connect(None);
        a.merge(b);
        let r = Report::new(a, 2.0).with_cpu(CpuUse {
            wall_s: 2.0,
            server_s: Some(1.01),
            client_s: None,
        });
        assert_eq!(r.requests, 101);
        assert_eq!(r.errors, 3);
        assert_eq!(r.latency_ms(0.5), 51.0);
        assert_eq!(r.latency_ms(1.0), 100.0);
        assert_eq!(r.x_cache["none"], 25);
        assert_eq!(r.x_cache["miss"], 25);
        assert!((r.hit_ratio() - 51.0 / 101.0).abs() < 1e-12);
        assert_eq!(r.rps(), 50.5);
        assert_eq!(r.json()["status"]["200"], 101);
        assert_eq!((r.connections, r.resumed), (3, 1));
        assert_eq!(r.connections_per_s(), 1.5);
        assert_eq!(r.server_cpu_share(), Some(0.505));
        assert_eq!(r.client_cpu_share(), None);
        assert!((r.server_us_per_request().unwrap() - 10_000.0).abs() < 1e-6);
        assert!((r.bytes_per_server_cpu_s().unwrap() - 1000.0).abs() < 1e-9);
        assert_eq!(r.json()["client_cpu_share"], Value::Null);
        // A CPU window shorter than the phase (a late first sample): the share
        // is what counts, not the CPU seconds.
        let late = Report::new(Stats::default(), 2.0).with_cpu(CpuUse {
            wall_s: 1.0,
            server_s: Some(0.5),
            client_s: None,
        });
        assert_eq!(late.server_cpu_share(), Some(0.5));
        assert_eq!(late.bytes_per_server_cpu_s(), Some(0.0));
    }
}
