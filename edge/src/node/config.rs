//! The `ferrocast-edge` configuration: `configs/edge.toml` documents every key.
//!
//! Keys follow ARCHITECTURE.md's operator contract (`[http] listen`, `[http3] listen`,
//! `[tls] cert, key`, `[upstream] parents`, `[cache.memory] bytes`, `[cache.disk]
//! path, bytes`, `[auth] public_key`) plus the tuning keys documented below, each
//! with a named default. `FERROCAST_SECTION__KEY` variables override the file
//! ([`crate::config_env`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default `[http] listen`.
pub const DEFAULT_HTTP_LISTEN: &str = "0.0.0.0:8081";
/// Default `[http] max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = crate::server::DEFAULT_MAX_CONNECTIONS;
/// Default `[http] max_header_bytes`.
pub const DEFAULT_MAX_HEADER_BYTES: usize = crate::server::DEFAULT_MAX_HEADER_BYTES;
/// Default `[http] header_timeout_ms`.
pub const DEFAULT_HEADER_TIMEOUT_MS: u64 = 10_000;
/// Default `[http] idle_timeout_ms`.
pub const DEFAULT_HTTP_IDLE_TIMEOUT_MS: u64 = 60_000;
/// Default `[http3] listen` (UDP; the origin's default is 8443).
pub const DEFAULT_HTTP3_LISTEN: &str = "0.0.0.0:8444";
/// Default `[upstream] parents`: an origin on the same machine.
pub const DEFAULT_PARENT: &str = "http://127.0.0.1:8080";
/// Default `[upstream] connect_timeout_ms`.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;
/// Default `[upstream] first_byte_timeout_ms`.
pub const DEFAULT_FIRST_BYTE_TIMEOUT_MS: u64 = 5_000;
/// Default `[upstream] blocking_first_byte_timeout_ms`: an LL-HLS blocking playlist
/// request may wait three target durations at the origin.
pub const DEFAULT_BLOCKING_FIRST_BYTE_TIMEOUT_MS: u64 = 15_000;
/// Default `[upstream] idle_timeout_ms`: longest silence inside a response body.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 10_000;
/// Default `[upstream] health_interval_ms`.
pub const DEFAULT_HEALTH_INTERVAL_MS: u64 = 2_000;
/// Default `[cache.memory] bytes`: 512 MiB.
pub const DEFAULT_MEMORY_BYTES: u64 = 512 << 20;
/// Default `[cache.disk] bytes`: 4 GiB.
pub const DEFAULT_DISK_BYTES: u64 = 4 << 30;
/// Default `[cache.disk] files`.
pub const DEFAULT_DISK_FILES: usize = 1;
/// Default `[cache.disk] snapshot_interval_s`.
pub const DEFAULT_SNAPSHOT_INTERVAL_S: u64 = 60;
/// Default `[cache.disk] read`.
pub const DEFAULT_DISK_READ: &str = "mmap";

/// The whole edge configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeConfig {
    /// `[http]`: HTTP/1.1 + HTTP/2 for players.
    pub http: HttpSection,
    /// `[http3]`: HTTP/3 over QUIC, on when `[tls]` is set.
    pub http3: Http3Section,
    /// `[tls]`: HTTPS with ALPN h2/http1.1 when both are set.
    pub tls: TlsSection,
    /// `[upstream]`: the parents (origins or mid-tier edges) and timeouts.
    pub upstream: UpstreamSection,
    /// `[cache]`: the memory and disk tiers.
    pub cache: CacheSection,
    /// `[auth]`: playback-token verification.
    pub auth: AuthSection,
    /// `[api]`: the purge API.
    pub api: ApiSection,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            http: HttpSection::default(),
            http3: Http3Section::listening_on(DEFAULT_HTTP3_LISTEN),
            tls: TlsSection::default(),
            upstream: UpstreamSection::default(),
            cache: CacheSection::default(),
            auth: AuthSection::default(),
            api: ApiSection::default(),
        }
    }
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    /// TCP address for HTTP/1.1 and HTTP/2 (h2c, or TLS when `[tls]` is set).
    pub listen: SocketAddr,
    /// Connections served at once; more are accepted and closed at once.
    pub max_connections: usize,
    /// Largest request head (request line + headers) in bytes; 431 beyond it.
    pub max_header_bytes: usize,
    /// HTTP/1.1: first byte of a request → complete head (slowloris defence).
    pub header_timeout_ms: u64,
    /// Keep-alive: close a connection with no request for this long.
    pub idle_timeout_ms: u64,
    /// HTTP shards (threads, each with its own listener and runtime); 0: one per
    /// available core.
    pub shards: usize,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            listen: DEFAULT_HTTP_LISTEN.parse().expect("valid default"),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            header_timeout_ms: DEFAULT_HEADER_TIMEOUT_MS,
            idle_timeout_ms: DEFAULT_HTTP_IDLE_TIMEOUT_MS,
            shards: 0,
        }
    }
}

impl HttpSection {
    /// `shards`, with 0 resolved to the cores this process may run on.
    pub fn shard_count(&self) -> usize {
        match self.shards {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The listener options these keys describe.
    pub fn server_options(&self) -> crate::server::ServerOptions {
        crate::server::ServerOptions {
            max_connections: self.max_connections,
            max_header_bytes: self.max_header_bytes,
            header_read_timeout: Duration::from_millis(self.header_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            ..crate::server::ServerOptions::default()
        }
    }
}

pub use crate::http3::Http3Section;

pub use crate::tls::TlsSection;

/// `[upstream]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamSection {
    /// Parent URLs, tried in consistent-hash order of the path.
    pub parents: Vec<String>,
    /// TCP (and TLS) connect timeout per attempt.
    pub connect_timeout_ms: u64,
    /// Time to the response head, per attempt.
    pub first_byte_timeout_ms: u64,
    /// Time to the response head for LL-HLS blocking playlist requests.
    pub blocking_first_byte_timeout_ms: u64,
    /// Longest silence inside a response body.
    pub idle_timeout_ms: u64,
    /// Interval of the active health checks (`GET /healthz` on every parent).
    pub health_interval_ms: u64,
}

impl Default for UpstreamSection {
    fn default() -> Self {
        Self {
            parents: vec![DEFAULT_PARENT.into()],
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            first_byte_timeout_ms: DEFAULT_FIRST_BYTE_TIMEOUT_MS,
            blocking_first_byte_timeout_ms: DEFAULT_BLOCKING_FIRST_BYTE_TIMEOUT_MS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            health_interval_ms: DEFAULT_HEALTH_INTERVAL_MS,
        }
    }
}

impl UpstreamSection {
    /// Milliseconds as a `Duration`.
    pub fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }
}

/// `[cache]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSection {
    /// `[cache.memory]`.
    pub memory: MemorySection,
    /// `[cache.disk]`.
    pub disk: DiskSection,
}

/// `[cache.memory]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemorySection {
    /// Capacity of the memory tier in bytes (bodies plus metadata).
    pub bytes: u64,
}

impl Default for MemorySection {
    fn default() -> Self {
        Self {
            bytes: DEFAULT_MEMORY_BYTES,
        }
    }
}

/// `[cache.disk]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiskSection {
    /// Directory of the store files; empty turns the disk tier off.
    pub path: PathBuf,
    /// Total size of the store files (preallocated).
    pub bytes: u64,
    /// How many store files share `bytes`.
    pub files: usize,
    /// How hits are read: `"mmap"` or `"io_uring"`.
    pub read: String,
    /// Seconds between index snapshots while running (0: only at shutdown). After a
    /// crash, start-up scans only what was written since the last one.
    pub snapshot_interval_s: u64,
}

impl Default for DiskSection {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            bytes: DEFAULT_DISK_BYTES,
            files: DEFAULT_DISK_FILES,
            read: DEFAULT_DISK_READ.into(),
            snapshot_interval_s: DEFAULT_SNAPSHOT_INTERVAL_S,
        }
    }
}

impl DiskSection {
    /// Whether the disk tier is configured.
    pub fn enabled(&self) -> bool {
        !self.path.as_os_str().is_empty()
    }
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// The control plane's Ed25519 public key (base64url, 32 bytes); empty means no
    /// token is required anywhere.
    pub public_key: String,
    /// Path prefixes that require a playback token when `public_key` is set.
    pub prefixes: Vec<String>,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            public_key: String::new(),
            prefixes: vec!["/live/".into(), "/vod/".into()],
        }
    }
}

/// `[api]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// Bearer keys accepted by the purge API; empty disables it.
    pub admin_keys: Vec<String>,
}

pub use crate::config_env::ConfigError;

impl EdgeConfig {
    /// Loads `path` (or only defaults when `None`), then applies `env` overrides.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let config: EdgeConfig = crate::config_env::load(path, env)?;
        config.validate()?;
        Ok(config)
    }

    /// Rejects values that cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.upstream.parents.is_empty() {
            return invalid("[upstream] parents must name at least one parent".into());
        }
        for p in &self.upstream.parents {
            let ok = ["http://", "https://", "h2c://"]
                .iter()
                .any(|s| p.starts_with(s) && p.len() > s.len());
            if !ok {
                return invalid(format!(
                    "[upstream] parents: {p:?} must be an http://, https:// or h2c:// URL"
                ));
            }
        }
        let h = &self.http;
        if h.max_connections == 0 {
            return invalid("[http] max_connections must be at least 1".into());
        }
        if h.max_header_bytes < crate::server::MIN_MAX_HEADER_BYTES {
            return invalid(format!(
                "[http] max_header_bytes must be at least {}",
                crate::server::MIN_MAX_HEADER_BYTES
            ));
        }
        if h.header_timeout_ms == 0 || h.idle_timeout_ms == 0 {
            return invalid("[http] header_timeout_ms and idle_timeout_ms must be > 0".into());
        }
        self.tls.validate().map_err(ConfigError::Invalid)?;
        self.http3.validate().map_err(ConfigError::Invalid)?;
        if self.cache.memory.bytes < 1 << 20 {
            return invalid("[cache.memory] bytes must be at least 1 MiB".into());
        }
        let d = &self.cache.disk;
        if d.enabled() {
            if d.files == 0 || d.bytes / (d.files as u64) < 64 << 20 {
                return invalid(
                    "[cache.disk] needs files >= 1 and at least 64 MiB per file".into(),
                );
            }
            if d.read != "mmap" && d.read != "io_uring" {
                return invalid(format!(
                    "[cache.disk] read = {:?} must be \"mmap\" or \"io_uring\"",
                    d.read
                ));
            }
        }
        if self.api.admin_keys.iter().any(|k| k.len() < 16) {
            return invalid("[api] admin_keys must be at least 16 characters each".into());
        }
        Ok(())
    }

    /// The effective configuration as TOML (for `--print-config`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let c = EdgeConfig::load(None, Vec::new()).unwrap();
        assert_eq!(c, EdgeConfig::default());
        let again = EdgeConfig::load_str(&c.to_toml());
        assert_eq!(again, c);
    }

    #[test]
    fn env_overrides_reach_nested_sections() {
        let env = vec![
            (
                "FERROCAST_CACHE_DISK__PATH".to_string(),
                "/srv/c".to_string(),
            ),
            (
                "FERROCAST_CACHE_MEMORY__BYTES".to_string(),
                "2097152".to_string(),
            ),
        ];
        let c = EdgeConfig::load(None, env).unwrap();
        assert_eq!(c.cache.disk.path, PathBuf::from("/srv/c"));
        assert_eq!(c.cache.memory.bytes, 2 << 20);
    }

    #[test]
    fn bad_values_are_named() {
        let err = |toml: &str| {
            let t: toml::Table = toml.parse().unwrap();
            let c: EdgeConfig = toml::Value::Table(t).try_into().unwrap();
            c.validate().unwrap_err().to_string()
        };
        assert!(err("[upstream]\nparents = []").contains("[upstream] parents"));
        assert!(err("[upstream]\nparents = [\"ftp://x\"]").contains("ftp://x"));
        assert!(err("[cache.disk]\npath = \"/x\"\nread = \"aio\"").contains("read"));
        assert!(err("[api]\nadmin_keys = [\"short\"]").contains("admin_keys"));
        assert!(err("[http]\nmax_header_bytes = 100").contains("max_header_bytes"));
        assert!(err("[http]\nmax_connections = 0").contains("max_connections"));
    }

    impl EdgeConfig {
        fn load_str(text: &str) -> Self {
            let t: toml::Table = text.parse().unwrap();
            toml::Value::Table(t).try_into().unwrap()
        }
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    /// configs/edge.toml loads, equals the defaults, and mentions every key.
    #[test]
    fn example_config_documents_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/edge.toml");
        let loaded = EdgeConfig::load(Some(&path), Vec::new()).expect("configs/edge.toml loads");
        assert_eq!(
            loaded,
            EdgeConfig::default(),
            "the example shows the defaults"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let effective: toml::Table = EdgeConfig::default().to_toml().parse().unwrap();
        fn walk(prefix: &str, t: &toml::Table, text: &str) {
            for (k, v) in t {
                match v {
                    toml::Value::Table(inner) => {
                        let section = format!("{prefix}{k}");
                        if !inner.values().all(|v| v.is_table()) {
                            assert!(
                                text.contains(&format!("[{section}]")),
                                "[{section}] missing"
                            );
                        }
                        walk(&format!("{section}."), inner, text);
                    }
                    _ => assert!(
                        text.contains(&format!("{k} =")) || text.contains(&format!("# {k} =")),
                        "key {prefix}{k} is not documented in configs/edge.toml"
                    ),
                }
            }
        }
        walk("", &effective, &text);
    }
}
