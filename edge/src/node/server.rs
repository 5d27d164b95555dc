//! Starts an edge node: parents, tiers, pipeline and listener; runs until the
//! shutdown future resolves, then drains and snapshots the disk index.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cache::disk::{DiskConfig, DiskTier, ReadMode};
use tokio::sync::watch;

use super::caching_upstream::CachingUpstream;
use super::config::{EdgeConfig, UpstreamSection};
use super::metrics::CacheMetrics;
use super::purge::PurgeRoutes;
use crate::parent::{ParentConfig, Parents};
use crate::pipeline::Pipeline;
use crate::server::HttpShards;

/// What the edge prints once it listens (stdout, for humans and test harnesses).
pub fn banner(config: &EdgeConfig, http3: Option<std::net::SocketAddr>) -> String {
    let disk = if config.cache.disk.enabled() {
        format!(
            "{} ({} MiB, {})",
            config.cache.disk.path.display(),
            config.cache.disk.bytes >> 20,
            config.cache.disk.read
        )
    } else {
        "off".into()
    };
    let scheme = if config.tls.enabled() {
        "https"
    } else {
        "http"
    };
    let http3 = match http3 {
        Some(addr) => format!("\n  HTTP/3: udp {addr}"),
        None => String::new(),
    };
    format!(
        "ferrocast-edge listening on {scheme}://{}{http3}\n  parents: {}\n  memory tier: {} MiB, disk tier: {}",
        config.http.listen,
        config.upstream.parents.join(", "),
        config.cache.memory.bytes >> 20,
        disk
    )
}

/// Runs the edge until `shutdown` resolves.
pub async fn run(config: EdgeConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let registry = prometheus::Registry::new();
    let u = &config.upstream;
    let parents = Parents::new(
        ParentConfig {
            parents: u.parents.clone(),
            connect_timeout: UpstreamSection::ms(u.connect_timeout_ms),
            first_byte_timeout: UpstreamSection::ms(u.first_byte_timeout_ms),
            blocking_first_byte_timeout: UpstreamSection::ms(u.blocking_first_byte_timeout_ms),
            idle_timeout: UpstreamSection::ms(u.idle_timeout_ms),
            health_interval: UpstreamSection::ms(u.health_interval_ms),
            ..ParentConfig::default()
        },
        &registry,
    )
    .context("[upstream] parents")?;

    let disk = if config.cache.disk.enabled() {
        let d = &config.cache.disk;
        let disk_config = DiskConfig {
            path: d.path.clone(),
            bytes: d.bytes,
            files: d.files,
            read_mode: if d.read == "io_uring" {
                ReadMode::IoUring
            } else {
                ReadMode::Mmap
            },
        };
        let tier = tokio::task::spawn_blocking(move || {
            match DiskTier::open(&disk_config) {
                // A kernel or sandbox that refuses io_uring: serve from mmap instead.
                Err(cache::DiskError::IoUringUnavailable(e)) => {
                    tracing::warn!(
                        "[cache.disk] read = \"io_uring\" unavailable ({e}); using mmap"
                    );
                    let mmap = DiskConfig {
                        read_mode: ReadMode::Mmap,
                        ..disk_config
                    };
                    DiskTier::open(&mmap)
                }
                other => other,
            }
        })
        .await
        .context("opening the disk tier")?
        .with_context(|| format!("opening [cache.disk] path = {}", d.path.display()))?;
        tracing::info!(objects = tier.stats().objects, "disk tier opened");
        Some(Arc::new(tier))
    } else {
        None
    };

    let metrics = CacheMetrics::register(&registry).context("registering cache metrics")?;
    let caching = Arc::new(CachingUpstream::new(
        parents.clone(),
        config.cache.memory.bytes,
        disk.clone(),
        metrics,
    ));
    let certificates = crate::tls::Certificates::load(&config.tls)
        .context("loading [tls] cert/key and [[tls.sni]]")?;
    let tls = certificates
        .as_ref()
        .map(|c| c.tcp_config())
        .transpose()
        .context("[tls]")?;
    let tokens = if config.auth.public_key.is_empty() {
        None
    } else {
        Some(
            crate::token::TokenVerifier::new(&config.auth.public_key, config.auth.prefixes.clone())
                .map_err(anyhow::Error::msg)?,
        )
    };
    let ready = Arc::new(AtomicBool::new(false));
    let pipeline = {
        let ready = ready.clone();
        let gauges = caching.clone();
        let mut pipeline =
            Pipeline::new(caching.clone(), &registry).context("registering HTTP metrics")?;
        if let Some(verifier) = tokens {
            pipeline = pipeline.with_token_verifier(verifier);
        }
        Arc::new(
            pipeline
                .with_readiness(move || ready.load(Ordering::Relaxed))
                .with_local_routes(with_acme_routes(
                    Arc::new(PurgeRoutes::new(
                        caching.clone(),
                        config.api.admin_keys.clone(),
                    )),
                    certificates.as_deref(),
                ))
                .with_metrics_refresh(move || gauges.update_gauges()),
        )
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let limit = super::fd_limit::raise_for(config.http.max_connections);
    tracing::debug!(?limit, "open-files limit");
    let http3 = crate::http3::start_if_enabled(
        &config.http3,
        certificates.as_deref(),
        pipeline.clone(),
        &registry,
        stop_rx.clone(),
    )?;
    let options = crate::server::ServerOptions {
        alt_svc: http3.as_ref().map(|h3| h3.alt_svc()),
        ..config.http.server_options()
    };
    let shards = HttpShards::start(
        config.http.listen,
        config.http.shard_count(),
        pipeline,
        tls,
        options,
        stop_rx.clone(),
    )
    .with_context(|| format!("cannot listen on [http] listen = {}", config.http.listen))?;
    tracing::info!(shards = shards.len(), "HTTP shards started");
    let tls_task = match &certificates {
        Some(c) => Some(
            c.start(
                std::path::Path::new(crate::tls::acme::section::DEFAULT_EDGE_DIR),
                stop_rx.clone(),
                &registry,
            )
            .context("[tls] reload / [tls.acme]")?,
        ),
        None => None,
    };
    let health = tokio::spawn(parents.clone().run_health_checks(stop_rx.clone()));
    let snapshots = match (&disk, config.cache.disk.snapshot_interval_s) {
        (Some(disk), secs) if secs > 0 => Some(tokio::spawn(periodic_snapshots(
            disk.clone(),
            Duration::from_secs(secs),
            stop_rx.clone(),
        ))),
        _ => None,
    };
    let http3_addr = http3.as_ref().map(|h3| h3.local_addr());
    ready.store(true, Ordering::Relaxed);
    println!("{}", banner(&config, http3_addr));

    shutdown.await;
    tracing::info!("shutting down: draining requests");
    ready.store(false, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let _ = tokio::task::spawn_blocking(move || shards.join()).await;
    if let Some(http3) = http3 {
        http3.join().await;
    }
    let _ = health.await;
    if let Some(task) = tls_task {
        let _ = task.await;
    }
    if let Some(task) = snapshots {
        let _ = task.await;
    }
    if let Some(disk) = disk {
        snapshot(disk).await;
    }
    tracing::info!("shutdown complete");
    Ok(())
}

/// `routes`, then the ACME HTTP-01 challenge route when `[tls.acme]` uses it.
fn with_acme_routes(
    routes: Arc<dyn crate::pipeline::LocalRoutes>,
    certificates: Option<&crate::tls::Certificates>,
) -> Arc<dyn crate::pipeline::LocalRoutes> {
    match certificates.and_then(|c| c.acme_http01_routes()) {
        Some(acme) => Arc::new(crate::tls::acme::RouteChain(vec![routes, acme])),
        None => routes,
    }
}

/// Writes the disk index snapshot off the async workers, logging the outcome.
async fn snapshot(disk: Arc<DiskTier>) {
    let started = std::time::Instant::now();
    match tokio::task::spawn_blocking(move || disk.snapshot()).await {
        Ok(Ok(())) => tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "disk index snapshot written"
        ),
        Ok(Err(e)) => tracing::warn!("disk index snapshot failed: {e}"),
        Err(e) => tracing::warn!("disk index snapshot failed: {e}"),
    }
}

/// Snapshots the disk index every `interval` until `stop`, so that a crash costs
/// only a scan of what was written since the last one.
async fn periodic_snapshots(
    disk: Arc<DiskTier>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if stopping {
            return;
        }
        snapshot(disk.clone()).await;
    }
}
