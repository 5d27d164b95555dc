//! The `edge-load` command line, parsed by hand, and the object paths it names.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// Usage text printed for `--help` and on errors.
pub const USAGE: &str = "usage: edge-load --url http://HOST:PORT | https://HOST:PORT
         [--path P]... | [--catalog N [--template '/sized/65536/obj-{i}.bin']]
         [--dist uniform|zipf:S] [--seed 1] [--connections 32] [--http 1|2|3]
         [--duration-s 10] [--warmup-s 0] [--requests N] [--timeout-s 30] [--json]
         [--ca FILE [--server-name NAME] [--no-resumption]]
         [--requests-per-connection N] [--server-pid PID]
  --requests N stops after N measured requests (then --duration-s, default 600,
  only bounds the run).
  https:// needs --ca (PEM certificates to trust) and speaks TLS 1.3: HTTP/1.1 or
  HTTP/2 by ALPN over TCP, or --http 3 (QUIC, UDP on the same port number).
  --no-resumption makes every handshake a full one (no session tickets kept).
  --requests-per-connection N opens a new connection after N requests (handshake
  cost: N = 1). --server-pid reports that process tree's CPU over the measured phase.";

/// Which object the next request asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Every object equally likely.
    Uniform,
    /// Zipf with this exponent over the object order (the first is the most popular).
    Zipf(f64),
}

/// The protocol of every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.1 with keep-alive.
    H1,
    /// HTTP/2: over clear text with prior knowledge (h2c), or over TLS by ALPN.
    H2,
    /// HTTP/3 over QUIC (always TLS 1.3).
    H3,
}

/// How TLS connections are made (`https://` URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsArgs {
    /// PEM file of the certificates to trust (a CA or the self-signed server cert).
    pub ca: PathBuf,
    /// The name sent as SNI and checked against the certificate.
    pub server_name: String,
    /// Keep session tickets and resume (the default), or always full handshakes.
    pub resumption: bool,
}

/// Everything `edge-load` was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// `host:port` to connect to (from `--url`).
    pub authority: String,
    /// The object paths, in popularity order for Zipf.
    pub paths: Vec<String>,
    /// How objects are picked.
    pub dist: Dist,
    /// Seed of the pickers (connection `i` uses `seed + i`).
    pub seed: u64,
    /// Concurrent connections.
    pub connections: usize,
    /// Protocol.
    pub http: HttpVersion,
    /// Measured seconds (with `requests`: the upper bound of the measured phase).
    pub duration_s: f64,
    /// Seconds of requests before measuring.
    pub warmup_s: f64,
    /// Stop after this many measured requests instead of after `duration_s`.
    pub requests: Option<u64>,
    /// A request taking longer than this counts as an error.
    pub timeout_s: f64,
    /// One JSON object on stdout instead of a table.
    pub json: bool,
    /// TLS settings; `Some` for `https://` URLs.
    pub tls: Option<TlsArgs>,
    /// Open a new connection after this many requests on one.
    pub requests_per_connection: Option<u64>,
    /// The server's process whose CPU time is reported.
    pub server_pid: Option<u32>,
}

/// `--dist` values: `uniform` or `zipf:S` with `S >= 0`.
fn parse_dist(s: &str) -> Result<Dist> {
    if s == "uniform" {
        return Ok(Dist::Uniform);
    }
    if let Some(exp) = s.strip_prefix("zipf:") {
        let e: f64 = exp.parse().context("--dist zipf:S needs a number")?;
        if e.is_finite() && (0.0..=10.0).contains(&e) {
            return Ok(Dist::Zipf(e));
        }
    }
    bail!("--dist must be uniform or zipf:S with 0 <= S <= 10, not {s:?}")
}

/// `--url http[s]://host[:port][/]` → (`host:port`, whether it is https).
fn parse_url(url: &str) -> Result<(String, bool)> {
    let (rest, tls) = if let Some(r) = url.strip_prefix("http://") {
        (r, false)
    } else if let Some(r) = url.strip_prefix("https://") {
        (r, true)
    } else {
        bail!("--url must start with http:// or https://, not {url:?}");
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        bail!("--url takes no path (use --path or --template): {url:?}");
    }
    if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'))
    {
        Ok((authority.to_string(), tls))
    } else {
        Ok((format!("{authority}:{}", if tls { 443 } else { 80 }), tls))
    }
}

/// The host part of `host:port` (`[::1]:443` → `::1`).
fn host_of(authority: &str) -> &str {
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// `--template` with `{i}` replaced by `0..n`.
fn catalog(template: &str, n: usize) -> Result<Vec<String>> {
    if !template.starts_with('/') || !template.contains("{i}") {
        bail!("--template must start with / and contain {{i}}: {template:?}");
    }
    Ok((0..n)
        .map(|i| template.replace("{i}", &i.to_string()))
        .collect())
}

fn positive(flag: &str, v: f64, max: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 && v <= max {
        Ok(v)
    } else {
        bail!("{flag} must be 0..={max}")
    }
}

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Args> {
    let mut url = None;
    let mut paths = Vec::new();
    let mut n_catalog = None;
    let mut template = "/sized/65536/obj-{i}.bin".to_string();
    let mut a = Args {
        authority: String::new(),
        paths: Vec::new(),
        dist: Dist::Uniform,
        seed: 1,
        connections: 32,
        http: HttpVersion::H1,
        duration_s: 10.0,
        warmup_s: 0.0,
        requests: None,
        timeout_s: 30.0,
        json: false,
        tls: None,
        requests_per_connection: None,
        server_pid: None,
    };
    let mut duration = None;
    let mut ca = None;
    let mut server_name = None;
    let mut resumption = true;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--path" => paths.push(value()?),
            "--catalog" => n_catalog = Some(value()?.parse::<usize>().context("--catalog")?),
            "--template" => template = value()?,
            "--dist" => a.dist = parse_dist(&value()?)?,
            "--seed" => a.seed = value()?.parse().context("--seed")?,
            "--connections" => a.connections = value()?.parse().context("--connections")?,
            "--http" => {
                a.http = match value()?.as_str() {
                    "1" | "1.1" => HttpVersion::H1,
                    "2" => HttpVersion::H2,
                    "3" => HttpVersion::H3,
                    v => bail!("--http must be 1, 2 or 3, not {v:?}"),
                }
            }
            "--duration-s" => duration = Some(value()?.parse().context("--duration-s")?),
            "--warmup-s" => a.warmup_s = value()?.parse().context("--warmup-s")?,
            "--requests" => a.requests = Some(value()?.parse().context("--requests")?),
            "--timeout-s" => a.timeout_s = value()?.parse().context("--timeout-s")?,
            "--json" => a.json = true,
            "--ca" => ca = Some(PathBuf::from(value()?)),
            "--server-name" => server_name = Some(value()?),
            "--no-resumption" => resumption = false,
            "--requests-per-connection" => {
                a.requests_per_connection =
                    Some(value()?.parse().context("--requests-per-connection")?)
            }
            "--server-pid" => a.server_pid = Some(value()?.parse().context("--server-pid")?),
            other => bail!("unknown argument {other:?}"),
        }
    }
    let (authority, https) = parse_url(&url.context("--url is required")?)?;
    a.tls = match (https, ca) {
        (true, Some(ca)) => Some(TlsArgs {
            ca,
            server_name: server_name.unwrap_or_else(|| host_of(&authority).to_string()),
            resumption,
        }),
        (true, None) => bail!("https:// needs --ca FILE"),
        (false, None) if server_name.is_none() && resumption => None,
        (false, _) => bail!("--ca, --server-name and --no-resumption need an https:// URL"),
    };
    if a.http == HttpVersion::H3 && a.tls.is_none() {
        bail!("--http 3 needs an https:// URL");
    }
    if a.requests_per_connection == Some(0) {
        bail!("--requests-per-connection must be at least 1");
    }
    a.authority = authority;
    a.paths = match (paths.is_empty(), n_catalog) {
        (false, None) => paths,
        (true, Some(n)) if (1..=10_000_000).contains(&n) => catalog(&template, n)?,
        (true, Some(_)) => bail!("--catalog must be 1..=10000000"),
        (true, None) => bail!("give --path P (repeatable) or --catalog N"),
        (false, Some(_)) => bail!("--path and --catalog exclude each other"),
    };
    if let Some(p) = a.paths.iter().find(|p| !p.starts_with('/')) {
        bail!("paths must start with /: {p:?}");
    }
    if !(1..=100_000).contains(&a.connections) {
        bail!("--connections must be 1..=100000");
    }
    if a.requests == Some(0) {
        bail!("--requests must be at least 1");
    }
    let default_duration = if a.requests.is_some() { 600.0 } else { 10.0 };
    a.duration_s = positive(
        "--duration-s",
        duration.unwrap_or(default_duration),
        86_400.0,
    )?;
    if a.duration_s == 0.0 {
        bail!("--duration-s must be above 0");
    }
    a.warmup_s = positive("--warmup-s", a.warmup_s, 86_400.0)?;
    a.timeout_s = positive("--timeout-s", a.timeout_s, 3_600.0)?.max(0.001);
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn defaults_with_paths() {
        let a = p("--url http://127.0.0.1:8081/ --path /a.m3u8 --path /b.m4s").unwrap();
        assert_eq!(a.authority, "127.0.0.1:8081");
        assert_eq!(a.paths, ["/a.m3u8", "/b.m4s"]);
        assert_eq!(a.dist, Dist::Uniform);
        assert_eq!(a.connections, 32);
        assert_eq!(a.http, HttpVersion::H1);
        assert_eq!(a.duration_s, 10.0);
        assert_eq!(a.warmup_s, 0.0);
        assert_eq!(a.requests, None);
        assert!(!a.json);
        assert_eq!(a.tls, None);
        assert_eq!(a.requests_per_connection, None);
        assert_eq!(a.server_pid, None);
    }

    #[test]
    fn https_h3_and_handshake_options() {
        let a = p(
            "--url https://127.0.0.1:8443 --path /a --http 3 --ca /tmp/ca.pem \
             --requests-per-connection 1 --server-pid 42 --no-resumption",
        )
        .unwrap();
        assert_eq!(a.authority, "127.0.0.1:8443");
        assert_eq!(a.http, HttpVersion::H3);
        let tls = a.tls.unwrap();
        assert_eq!(tls.ca, PathBuf::from("/tmp/ca.pem"));
        assert_eq!(tls.server_name, "127.0.0.1");
        assert!(!tls.resumption);
        assert_eq!(a.requests_per_connection, Some(1));
        assert_eq!(a.server_pid, Some(42));
        let b = p("--url https://[::1] --path /a --ca c.pem --server-name localhost").unwrap();
        assert_eq!(b.authority, "[::1]:443");
        let tls = b.tls.unwrap();
        assert_eq!(tls.server_name, "localhost");
        assert!(tls.resumption);
        assert_eq!(host_of("[::1]:443"), "::1");
    }

    #[test]
    fn catalog_zipf_h2_and_requests() {
        let a = p(
            "--url http://localhost --catalog 3 --template /z/{i}.bin --dist zipf:1.0 \
             --http 2 --connections 4 --requests 100 --warmup-s 2 --seed 7 --json",
        )
        .unwrap();
        assert_eq!(a.authority, "localhost:80");
        assert_eq!(a.paths, ["/z/0.bin", "/z/1.bin", "/z/2.bin"]);
        assert_eq!(a.dist, Dist::Zipf(1.0));
        assert_eq!(a.http, HttpVersion::H2);
        assert_eq!(a.connections, 4);
        assert_eq!(a.requests, Some(100));
        assert_eq!(
            a.duration_s, 600.0,
            "--requests: duration only bounds the run"
        );
        assert_eq!(a.warmup_s, 2.0);
        assert_eq!(a.seed, 7);
        assert!(a.json);
    }

    #[test]
    fn default_template() {
        let a = p("--url http://127.0.0.1:1 --catalog 2").unwrap();
        assert_eq!(
            a.paths,
            ["/sized/65536/obj-0.bin", "/sized/65536/obj-1.bin"]
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "--path /a",                                  // no url
            "--url http://h:1",                           // no objects
            "--url http://h:1 --path /a --catalog 2",     // both
            "--url ftp://h:1 --path /a",                  // scheme
            "--url https://h:1 --path /a",                // no --ca
            "--url http://h:1 --path /a --ca c.pem",      // --ca without TLS
            "--url http://h:1 --path /a --http 3",        // h3 without TLS
            "--url http://h:1/x --path /a",               // url path
            "--url http://h:1 --path a",                  // relative
            "--url http://h:1 --catalog 2 --template /x", // no {i}
            "--url http://h:1 --path /a --dist zipf:x",   // exponent
            "--url http://h:1 --path /a --dist pareto",   // dist
            "--url http://h:1 --path /a --http 4",        // version
            "--url http://h:1 --path /a --connections 0", // connections
            "--url http://h:1 --path /a --duration-s -1", // duration
            "--url http://h:1 --path /a --requests 0",    // requests
            "--url http://h:1 --path /a --bogus",         // unknown
            "--url http://h:1 --path /a --requests-per-connection 0",
            "--url http://h:1 --path", // missing value
        ] {
            assert!(p(bad).is_err(), "accepted {bad:?}");
        }
    }
}
