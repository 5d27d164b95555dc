//! The `ferrocast-edge` binary: `ferrocast-edge [--config FILE] [--print-config]`.

use std::path::PathBuf;
use std::process::ExitCode;

use edge::node::config::EdgeConfig;

const USAGE: &str = "usage: ferrocast-edge [--config FILE] [--print-config]

  --config FILE    TOML configuration (see configs/edge.toml); without it, embedded
                   defaults: port 8081, parent http://127.0.0.1:8080, memory tier only
  --print-config   print the effective configuration and exit
Environment variables FERROCAST_SECTION__KEY override the file (e.g.
FERROCAST_UPSTREAM__PARENTS='[\"http://origin:8080\"]', FERROCAST_CACHE_DISK__PATH=/srv/cache).";

fn main() -> ExitCode {
    let mut config_path: Option<PathBuf> = None;
    let mut print_config = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => match args.next() {
                Some(p) => config_path = Some(p.into()),
                None => return usage("--config needs a file"),
            },
            "--print-config" => print_config = true,
            "--help" | "-h" => return usage(""),
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let config = match EdgeConfig::load(config_path.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrocast-edge: {e}");
            return ExitCode::from(2);
        }
    };
    if print_config {
        print!("{}", config.to_toml());
        return ExitCode::SUCCESS;
    }
    edge::server::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ferrocast-edge: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(edge::node::server::run(
        config,
        edge::server::shutdown_signal(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrocast-edge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage(error: &str) -> ExitCode {
    if !error.is_empty() {
        eprintln!("ferrocast-edge: {error}");
    }
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
