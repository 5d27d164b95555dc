//! Starts the origin: binds the listeners, wires ingest → channels → delivery, and
//! runs until a shutdown signal, then drains gracefully.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::RouteList;
use crate::api::{ControlApi, ControlRoutes};
use crate::banner::BannerChannel;
use crate::catalog::{Catalog, NewChannel, Playback};
use crate::channels::Channels;
use crate::chat::fanout::InProcess;
use crate::chat::socket::ChatRoutes;
use crate::chat::{Chat, ChatMetrics};
use crate::clock::now_ms;
use crate::config::Config;
use crate::live_upstream::LiveUpstream;
use crate::metrics::OriginMetrics;
use crate::origin_upstream::OriginUpstream;
use crate::pages::PageRoutes;
use crate::playback_signing;
use crate::publishing::OriginPublishHandler;
use crate::vod::files::VodFiles;
use crate::webhooks::Webhooks;

/// Runs the origin until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.storage.data_dir).with_context(|| {
        format!(
            "cannot create [storage] data_dir {}",
            config.storage.data_dir.display()
        )
    })?;
    let registry = prometheus::Registry::new();
    let metrics = OriginMetrics::register(&registry).context("registering metrics")?;
    let catalog = Catalog::open(&config.database.url, &config.storage.data_dir)
        .await
        .with_context(|| {
            format!(
                "cannot open the catalog ([database] url = {})",
                redact_url(&config.database.url)
            )
        })?;
    let created = catalog
        .bootstrap(&config.channels, now_ms() as i64)
        .await
        .context("creating [[channels]] in the catalog")?;
    if !created.is_empty() {
        tracing::info!(channels = ?created, "created configured channels in the catalog");
    }
    let (banner_channels, generated_demo_key) = banner_channels(&config, &catalog).await?;
    let channels = Arc::new(Channels::new(&config.packaging));
    let chat = Arc::new(Chat::new(
        Arc::new(InProcess::default()),
        ChatMetrics::register(&registry).context("registering chat metrics")?,
    ));
    let signing = Arc::new(
        playback_signing::load_or_create(&config.storage.data_dir)
            .context("loading the playback token key")?,
    );

    let certificates = edge::tls::Certificates::load(&config.tls).context("loading [tls]")?;
    let tls = certificates
        .as_ref()
        .map(|c| c.tcp_config())
        .transpose()
        .context("[tls]")?;
    let http_listener = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen on [http] listen = {}", config.http.listen))?;

    // VOD uploads (issue 7): tus at /api/v1/uploads. A completed upload queues a job
    // and wakes whoever waits on `vod_jobs` (the VOD job runner).
    let vod_jobs = Arc::new(tokio::sync::Notify::new());
    let uploads = crate::uploads::Uploads::new(
        &config.uploads,
        &config.storage.data_dir,
        catalog.clone(),
        &config.api.admin_keys,
        vod_jobs.clone(),
        &registry,
    )
    .context("setting up [uploads]")?;

    let ready = Arc::new(AtomicBool::new(false));
    let upstream = Arc::new(OriginUpstream::new(
        LiveUpstream::new(channels.clone(), metrics.clone()),
        VodFiles::new(&config.storage.data_dir),
    ));
    let webhooks = Webhooks::start(catalog.clone());
    // VOD (issue 7): the job runner for uploads, and live to VOD for `record` channels.
    let vod_metrics =
        crate::vod::metrics::VodMetrics::register(&registry).context("registering VOD metrics")?;
    let thumbnail_spec = Arc::new(packager::transcode::thumbnails::ThumbnailSpec::default());
    crate::vod::live_to_vod::fail_interrupted(&catalog).await;
    let live_to_vod = crate::vod::live_to_vod::LiveToVod {
        catalog: catalog.clone(),
        data_dir: config.storage.data_dir.clone(),
        webhooks: webhooks.clone(),
        metrics: vod_metrics.clone(),
        thumbnails: thumbnail_spec.clone(),
    };
    let vod_runner = crate::vod::runner::JobRunner {
        catalog: catalog.clone(),
        data_dir: config.storage.data_dir.clone(),
        ladder: Arc::new(crate::ladder::ladder_spec(&config.ladder)),
        thumbnails: thumbnail_spec,
        webhooks: webhooks.clone(),
        metrics: vod_metrics,
        wake: vod_jobs.clone(),
        concurrency: config.vod.job_concurrency,
    };
    let ladders = crate::ladder::Ladders::new(
        &config.ladder,
        crate::ladder::LadderMetrics::register(&registry).context("registering ladder metrics")?,
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    // WebRTC (issue 8): WHEP viewers and WHIP publishers on one UDP port.
    let webrtc = if config.webrtc.enabled {
        Some(crate::webrtc::WebRtc::start(
            &config.webrtc,
            Duration::from_secs_f64(config.packaging.reconnect_grace_s),
            &registry,
            stop_rx.clone(),
        )?)
    } else {
        None
    };
    let handler = Arc::new(
        OriginPublishHandler::new(
            channels.clone(),
            catalog.clone(),
            webhooks,
            metrics.clone(),
            Duration::from_secs_f64(config.packaging.reconnect_grace_s),
        )
        .with_ladders(ladders)
        .with_live_to_vod(live_to_vod)
        .with_webrtc_if(webrtc.as_ref().map(|w| w.feeds.clone())),
    );
    let playback_tokens = || {
        edge::token::TokenVerifier::new(&playback_signing::public_key_text(&signing), Vec::new())
            .map_err(anyhow::Error::msg)
    };
    let webrtc_routes = match &webrtc {
        Some(w) => Some(
            Arc::new(w.routes(handler.clone(), channels.clone(), playback_tokens()?))
                as Arc<dyn edge::pipeline::LocalRoutes>,
        ),
        None => None,
    };
    let pipeline = {
        let ready = ready.clone();
        Arc::new(
            edge::pipeline::Pipeline::new(upstream, &registry)
                .context("registering HTTP metrics")?
                .with_readiness(move || ready.load(Ordering::Relaxed))
                // Tokens in paths (or forwarded by edges) are verified with our own
                // key; which channels need one is the catalog's per-channel rule.
                .with_token_verifier(playback_tokens()?)
                .with_local_routes(Arc::new(RouteList(
                    vec![
                        // Before the API, which would answer /api/v1/uploads with 404.
                        Arc::new(crate::uploads::UploadRoutes(uploads.clone()))
                            as Arc<dyn edge::pipeline::LocalRoutes>,
                        Arc::new(ControlRoutes(Arc::new(
                            ControlApi::new(
                                catalog.clone(),
                                channels.clone(),
                                &config.api.admin_keys,
                                signing.clone(),
                                chat.clone(),
                            )
                            .with_data_dir(&config.storage.data_dir)
                            .with_ladder_default(config.ladder.live_default),
                        ))),
                        Arc::new(ChatRoutes::new(chat.clone(), catalog.clone())),
                        Arc::new(PageRoutes::new(config.rtmp.listen.port())),
                    ]
                    .into_iter()
                    .chain(webrtc_routes)
                    // ACME HTTP-01 (`[tls.acme] challenge = "http-01"`).
                    .chain(certificates.as_ref().and_then(|c| c.acme_http01_routes()))
                    .collect(),
                ))),
        )
    };

    let upload_sweeper = uploads.start_sweeper(stop_rx.clone());
    let vod_workers = vod_runner.start(stop_rx.clone()).await;
    // Certificate reloads (SIGHUP, changed files) and ACME renewals.
    let tls_task = match &certificates {
        Some(c) => Some(
            c.start(
                &config.storage.data_dir.join("acme"),
                stop_rx.clone(),
                &registry,
            )
            .context("[tls] reload / [tls.acme]")?,
        ),
        None => None,
    };
    let http3 = edge::http3::start_if_enabled(
        &config.http3,
        certificates.as_deref(),
        pipeline.clone(),
        &registry,
        stop_rx.clone(),
    )?;
    let http_options = edge::server::ServerOptions {
        alt_svc: http3.as_ref().map(|h3| h3.alt_svc()),
        ..edge::server::ServerOptions::default()
    };
    let http_task = tokio::spawn(edge::server::serve_with(
        http_listener,
        pipeline,
        tls,
        stopped(stop_rx.clone()),
        http_options,
    ));
    // One RTMP shard (thread + single-threaded runtime) per core; see ingest::rtmp::shards.
    let shards = std::thread::available_parallelism().map_or(1, |n| n.get());
    // RTMPS: the origin's certificate, no ALPN (RTMP clients send none).
    let rtmps_task = match (config.rtmp.tls_listen, &certificates) {
        (Some(addr), Some(certificates)) => {
            let tls = certificates.rtmps_config().context("[tls] for RTMPS")?;
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on [rtmp] tls_listen = {addr}"))?;
            Some(tokio::spawn(ingest::rtmp::serve_tls(
                listener,
                tokio_rustls::TlsAcceptor::from(tls),
                handler.clone(),
                ingest::rtmp::RtmpLimits::default(),
                stop_rx.clone(),
            )))
        }
        _ => None,
    };
    let srt_thread = ingest::srt::spawn_srt_thread(
        config.srt.listen,
        ingest::srt::SrtOptions {
            latency: Duration::from_millis(config.srt.latency_ms),
            passphrase: config.srt.passphrase.clone(),
        },
        handler.clone(),
        stop_rx.clone(),
    )
    .context("cannot start the SRT ingest thread")?;
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
    println!(
        "{}",
        crate::banner::render(&config, &banner_channels, generated_demo_key)
            + &format!(
                "Playback token public key (edges: [auth] public_key): {}\n",
                playback_signing::public_key_text(&signing)
            )
    );

    shutdown.await;
    tracing::info!("shutting down: refusing new connections, draining requests");
    ready.store(false, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let _ = tokio::task::spawn_blocking(move || rtmp_shards.join()).await;
    if let Some(task) = rtmps_task {
        let _ = task.await;
    }
    let _ = tokio::task::spawn_blocking(move || srt_thread.join()).await;
    if let Some(webrtc) = webrtc {
        let _ = tokio::task::spawn_blocking(move || webrtc.join()).await;
    }
    let _ = http_task.await;
    if let Some(http3) = http3 {
        http3.join().await;
    }
    if let Some(task) = tls_task {
        let _ = task.await;
    }
    let _ = upload_sweeper.await;
    for worker in vod_workers {
        let _ = worker.await;
    }
    catalog.close().await;
    tracing::info!("shutdown complete");
    Ok(())
}

pub use edge::server::shutdown_signal;

/// The channels the start-up banner shows, and whether the demo channel was just
/// created. Configured channels show their key while the catalog still accepts it.
/// With no `[[channels]]` and an empty catalog, a "demo" channel is created with a
/// generated key (shown this once); otherwise the catalog's channels are listed
/// without keys (they were shown when created).
async fn banner_channels(
    config: &Config,
    catalog: &Catalog,
) -> anyhow::Result<(Vec<BannerChannel>, bool)> {
    let mut shown = Vec::new();
    for c in &config.channels {
        let works = catalog
            .channel_for_stream_key(&c.stream_key)
            .await?
            .is_some_and(|r| r.name == c.name);
        shown.push(BannerChannel {
            name: c.name.clone(),
            stream_key: works.then(|| c.stream_key.clone()),
        });
    }
    if !config.channels.is_empty() {
        return Ok((shown, false));
    }
    let existing = catalog.channels().await?;
    let demo_key_file = config.storage.data_dir.join(DEMO_KEY_FILE);
    if !existing.is_empty() {
        // The generated demo key, kept beside the database while it still works.
        let demo_key = match std::fs::read_to_string(&demo_key_file) {
            Ok(k) => {
                let k = k.trim().to_owned();
                let works = catalog
                    .channel_for_stream_key(&k)
                    .await?
                    .is_some_and(|r| r.name == "demo");
                works.then_some(k)
            }
            Err(_) => None,
        };
        let listed = existing
            .into_iter()
            .map(|r| BannerChannel {
                stream_key: if r.name == "demo" {
                    demo_key.clone()
                } else {
                    None
                },
                name: r.name,
            })
            .collect();
        return Ok((listed, false));
    }
    let demo = NewChannel {
        name: "demo".into(),
        title: "Demo".into(),
        playback: Playback::Public,
        stream_key: None,
        ladder: config.ladder.live_default,
        record: false,
    };
    let (record, key) = catalog.create_channel(demo, now_ms() as i64).await?;
    write_private(&demo_key_file, &key)
        .with_context(|| format!("cannot write {}", demo_key_file.display()))?;
    Ok((
        vec![BannerChannel {
            name: record.name,
            stream_key: Some(key),
        }],
        true,
    ))
}

/// The file in the data dir that keeps the generated demo channel's key, so that
/// later runs with embedded defaults can still print how to publish (like a first
/// admin password). Only that one generated key is ever written down.
const DEMO_KEY_FILE: &str = "demo-stream-key";

/// Writes `text` to `path`, readable by the owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

/// `url` without a password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    format!("{}://{user}:***{}", &url[..scheme_end], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
