//! A run: `connections` tasks, each owning one [`Conn`] and sending its requests
//! one after the other, objects chosen by its own seeded [`Picker`] stream.
//!
//! Requests started during the warm-up are not counted. The measured phase ends
//! after `duration_s`, or once `requests` measured requests were started; its
//! length is measured to the last counted response. A failed request or connect
//! counts as an error and the task reconnects (after 10 ms when connecting
//! failed, so a dead server is not spun on). With `--requests-per-connection N`
//! a task drops its connection after N requests and makes a new one: connects
//! in the measured phase are counted, with how many TLS handshakes resumed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::Uri;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::time::{timeout, Instant};

use super::cli::{Args, Dist, HttpVersion};
use super::conn::Connector;
use super::picker::Picker;
use super::server_cpu::CpuMeter;
use super::stats::{Report, Stats};

/// What every task shares.
struct Plan {
    authority: String,
    connector: Connector,
    /// Requests on one connection before a new one is made.
    per_connection: u64,
    uris: Vec<Uri>,
    picker: Picker,
    seed: u64,
    measure_from: Instant,
    end: Instant,
    timeout: Duration,
    /// `--requests`, and how many measured requests were started.
    limit: Option<u64>,
    started: AtomicU64,
}

impl Plan {
    async fn new(args: &Args) -> Result<Self> {
        let scheme = if args.tls.is_some() { "https" } else { "http" };
        let uris = args
            .paths
            .iter()
            .map(|p| match args.http {
                HttpVersion::H1 => p.parse::<Uri>(),
                HttpVersion::H2 | HttpVersion::H3 => {
                    format!("{scheme}://{}{p}", args.authority).parse()
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .context("an object path is not a valid URI")?;
        let picker = match args.dist {
            Dist::Uniform => Picker::uniform(uris.len()),
            Dist::Zipf(s) => Picker::zipf(uris.len(), s),
        };
        let connector = Connector::new(args).await?;
        let measure_from = Instant::now() + Duration::from_secs_f64(args.warmup_s);
        Ok(Plan {
            authority: args.authority.clone(),
            connector,
            per_connection: args.requests_per_connection.unwrap_or(u64::MAX),
            uris,
            picker,
            seed: args.seed,
            measure_from,
            end: measure_from + Duration::from_secs_f64(args.duration_s),
            timeout: Duration::from_secs_f64(args.timeout_s),
            limit: args.requests,
            started: AtomicU64::new(0),
        })
    }

    /// Whether a request may start now, and whether it is counted.
    fn admit(&self, now: Instant) -> Option<bool> {
        if now >= self.end {
            return None;
        }
        if now < self.measure_from {
            return Some(false);
        }
        match self.limit {
            Some(n) if self.started.fetch_add(1, Relaxed) >= n => None,
            _ => Some(true),
        }
    }
}

/// One connection task: its counters and when its last counted response ended.
async fn task(plan: Arc<Plan>, index: u64) -> (Stats, Option<Instant>) {
    let mut rng = StdRng::seed_from_u64(plan.seed.wrapping_add(index));
    let mut stats = Stats::default();
    let mut last = None;
    'connect: while Instant::now() < plan.end {
        let mut conn = match timeout(plan.timeout, plan.connector.connect()).await {
            Ok(Ok(c)) => c,
            _ => {
                if Instant::now() >= plan.measure_from {
                    stats.errors += 1;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if Instant::now() >= plan.measure_from {
            stats.record_connect(conn.resumed);
        }
        let mut sent = 0u64;
        loop {
            if conn.is_closed() {
                continue 'connect; // e.g. the server ended keep-alive: not an error
            }
            if sent == plan.per_connection {
                continue 'connect;
            }
            sent += 1;
            let t0 = Instant::now();
            let Some(counted) = plan.admit(t0) else {
                break 'connect;
            };
            let uri = &plan.uris[plan.picker.pick(&mut rng)];
            match timeout(plan.timeout, conn.get(uri, &plan.authority)).await {
                Ok(Ok(outcome)) if counted => {
                    let t1 = Instant::now();
                    stats.record(&outcome, (t1 - t0).as_micros() as u64);
                    last = Some(t1);
                }
                Ok(Ok(_)) => {}
                _ => {
                    if counted {
                        stats.errors += 1;
                    }
                    continue 'connect;
                }
            }
        }
    }
    (stats, last)
}

/// Runs the load `args` describes and reports the measured phase.
pub async fn run(args: &Args) -> Result<Report> {
    let plan = Arc::new(Plan::new(args).await?);
    let meter = CpuMeter::new(args.server_pid);
    let first_sample = {
        let (meter, plan) = (meter.clone(), plan.clone());
        tokio::spawn(async move {
            tokio::time::sleep_until(plan.measure_from).await;
            (meter.sample(), plan.connector.certificates_verified())
        })
    };
    let tasks: Vec<_> = (0..args.connections as u64)
        .map(|i| tokio::spawn(task(plan.clone(), i)))
        .collect();
    // Every request is bounded by the timeout, so this only guards against a bug.
    let give_up = plan.end + plan.timeout + Duration::from_secs(5);
    let mut total = Stats::default();
    let mut last: Option<Instant> = None;
    for t in tasks {
        let abort = t.abort_handle();
        match tokio::time::timeout_at(give_up, t).await {
            Ok(Ok((stats, l))) => {
                total.merge(stats);
                last = last.max(l);
            }
            Ok(Err(e)) => eprintln!("edge-load: a connection task failed: {e}"),
            Err(_) => {
                abort.abort();
                eprintln!("edge-load: a connection task did not stop; its counts are lost");
            }
        }
    }
    let (cpu_from, verified_from) = first_sample.await?;
    let cpu = cpu_from.until(&meter.sample());
    let full_handshakes = plan
        .connector
        .certificates_verified()
        .zip(verified_from)
        .map(|(end, start)| end - start);
    let elapsed = match last {
        Some(l) if l > plan.measure_from => (l - plan.measure_from).as_secs_f64(),
        _ => args.duration_s,
    };
    let mut report = Report::new(total, elapsed).with_cpu(cpu);
    report.full_handshakes = full_handshakes;
    Ok(report)
}
