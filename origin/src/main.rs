//! The `ferrocast-origin` binary: `ferrocast-origin [--config FILE] [--print-config]`.

use std::path::PathBuf;
use std::process::ExitCode;

use origin::config::Config;

const USAGE: &str = "usage: ferrocast-origin [--config FILE] [--print-config]

  --config FILE    TOML configuration (see configs/origin.toml); without it, embedded
                   defaults and a \"demo\" channel with a generated stream key
  --print-config   print the effective configuration and exit
Environment variables FERROCAST_SECTION__KEY override the file (e.g. FERROCAST_HTTP__LISTEN).";

struct Args {
    config: Option<PathBuf>,
    print_config: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        config: None,
        print_config: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--config" | "-c" => {
                args.config = Some(it.next().ok_or("--config needs a file")?.into());
            }
            "--print-config" => args.print_config = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("ferrocast-origin: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(args.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrocast-origin: {e}");
            return ExitCode::from(2);
        }
    };
    if args.print_config {
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
            eprintln!("ferrocast-origin: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(origin::server::run(
        config,
        origin::server::shutdown_signal(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrocast-origin: {e:#}");
            ExitCode::FAILURE
        }
    }
}
