//! Starts the origin: binds the listeners, wires ingest → channels → delivery, and
//! runs until a shutdown signal, then drains gracefully.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::channels::Channels;
use crate::config::Config;
use crate::live_upstream::LiveUpstream;
use crate::metrics::OriginMetrics;
use crate::publishing::OriginPublishHandler;

/// Runs the origin until `shutdown` resolves.
pub async fn run(
    config: Config,
    generated_demo_key: bool,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.storage.data_dir).with_context(|| {
        format!(
            "cannot create [storage] data_dir {}",
            config.storage.data_dir.display()
        )
    })?;
    let registry = prometheus::Registry::new();
    let metrics = OriginMetrics::register(&registry).context("registering metrics")?;
    let channels = Arc::new(Channels::from_config(&config.channels, &config.packaging));

    let tls = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => {
            Some(edge::tls::server_config(cert, key).context("loading [tls] cert/key")?)
        }
        _ => None,
    };
    let http_listener = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen on [http] listen = {}", config.http.listen))?;

    let ready = Arc::new(AtomicBool::new(false));
    let upstream = Arc::new(LiveUpstream::new(channels.clone(), metrics.clone()));
    let pipeline = {
        let ready = ready.clone();
        Arc::new(
            edge::pipeline::Pipeline::new(upstream, &registry)
                .context("registering HTTP metrics")?
                .with_readiness(move || ready.load(Ordering::Relaxed)),
        )
    };
    let handler = Arc::new(OriginPublishHandler::new(
        channels.clone(),
        metrics.clone(),
        Duration::from_secs_f64(config.packaging.reconnect_grace_s),
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let http_task = tokio::spawn(edge::server::serve(
        http_listener,
        pipeline,
        tls,
        stopped(stop_rx.clone()),
    ));
    // One RTMP shard (thread + single-threaded runtime) per core; see ingest::rtmp::shards.
    let shards = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rtmp_shards = ingest::rtmp::IngestShards::start(
        config.rtmp.listen,
        shards,
        handler,
        ingest::rtmp::RtmpLimits::default(),
        stop_rx.clone(),
    )
    .with_context(|| format!("cannot listen on [rtmp] listen = {}", config.rtmp.listen))?;
    ready.store(true, Ordering::Relaxed);
    tracing::info!(http = %config.http.listen, rtmp = %config.rtmp.listen, "origin listening");
    println!("{}", crate::banner::render(&config, generated_demo_key));

    shutdown.await;
    tracing::info!("shutting down: refusing new connections, draining requests");
    ready.store(false, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let _ = tokio::task::spawn_blocking(move || rtmp_shards.join()).await;
    let _ = http_task.await;
    tracing::info!("shutdown complete");
    Ok(())
}

pub use edge::server::shutdown_signal;
