//! # edge-load — HTTP/1.1, HTTP/2 and HTTP/3 load against a caching edge
//!
//! ```text
//! edge-load --url http://127.0.0.1:8081 [--path P]... | [--catalog N --template '/x/{i}.bin']
//!           [--dist uniform|zipf:S] [--seed 1] [--connections 32] [--http 1|2|3]
//!           [--duration-s 10] [--warmup-s 0] [--requests N] [--timeout-s 30] [--json]
//!           [--ca FILE [--server-name NAME] [--no-resumption]]   (https:// URLs)
//!           [--requests-per-connection N] [--server-pid PID]
//! ```
//! See [`bench::edge_load`]. The runtime has as many worker threads as the
//! process may use cores, so `taskset -c 1 edge-load …` runs on one core. Prints
//! a table, or with `--json` one JSON object (requests, errors, rps, bytes_per_s,
//! p50_ms, p90_ms, p99_ms, p999_ms, max_ms, status, x_cache, hit_ratio,
//! connections, connections_per_s, resumed, server_cpu_share, client_cpu_share,
//! server_us_per_request, bytes_per_server_cpu_s, requests_per_server_cpu_s; the
//! server ones are null without `--server-pid`). Exits non-zero when no request
//! succeeded.

use anyhow::{Context, Result};
use bench::edge_load::{cli, run};

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", cli::USAGE);
        return Ok(());
    }
    let args = cli::parse(raw).map_err(|e| anyhow::anyhow!("{e:#}\n{}", cli::USAGE))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = runtime.block_on(run::run(&args))?;
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    if report.requests == 0 {
        eprintln!("edge-load: no request succeeded ({} errors)", report.errors);
        std::process::exit(1);
    }
    Ok(())
}
