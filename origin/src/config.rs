//! The origin's configuration: `configs/origin.toml` documents every key.
//!
//! Loading order: embedded defaults ← the TOML file (`--config`) ← environment
//! variables `FERROCAST_SECTION__KEY` (e.g. `FERROCAST_HTTP__LISTEN=0.0.0.0:80`,
//! `FERROCAST_PACKAGING__PART_TARGET_S=0.5`). Each default is a named constant.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default `[http] listen`.
pub const DEFAULT_HTTP_LISTEN: &str = "0.0.0.0:8080";
/// Default `[http3] listen` (UDP).
pub const DEFAULT_HTTP3_LISTEN: &str = edge::http3::section::DEFAULT_LISTEN;
/// Default `[rtmp] listen`.
pub const DEFAULT_RTMP_LISTEN: &str = "0.0.0.0:1935";
/// Default `[srt] listen`.
pub const DEFAULT_SRT_LISTEN: &str = "0.0.0.0:9000";
/// Default `[webrtc] udp_listen`.
pub const DEFAULT_WEBRTC_UDP_LISTEN: &str = "0.0.0.0:8189";
/// Default `[storage] data_dir`.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// Default `[database] url`: the catalog in SQLite, a file in the data dir.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://ferrocast.db";
/// Default `[packaging] segment_target_s`.
pub const DEFAULT_SEGMENT_TARGET_S: f64 = 2.0;
/// Default `[packaging] part_target_s`: 0.334 s holds ten frames at 30 fps even with
/// RTMP's millisecond timestamps (333 or 334 ms), eight at 25 fps, twenty at 60 fps;
/// with PART-HOLD-BACK = 3 parts it allows about one second of player latency.
pub const DEFAULT_PART_TARGET_S: f64 = 0.334;
/// Default `[packaging] window_s`.
pub const DEFAULT_WINDOW_S: f64 = 30.0;
/// Default `[packaging] reconnect_grace_s`.
pub const DEFAULT_RECONNECT_GRACE_S: f64 = 10.0;

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[http]`: HTTP/1.1 + HTTP/2 delivery, API and pages.
    pub http: HttpConfig,
    /// `[http3]`: HTTP/3 over QUIC, on when `[tls]` is set.
    pub http3: Http3Config,
    /// `[tls]`: when set, `[http] listen` speaks HTTPS with ALPN h2/http1.1.
    pub tls: TlsConfig,
    /// `[rtmp]`: RTMP ingest.
    pub rtmp: RtmpConfig,
    /// `[srt]`: SRT ingest (MPEG-TS over SRT).
    pub srt: SrtConfig,
    /// `[webrtc]`: WHEP playback and WHIP ingest.
    pub webrtc: WebrtcConfig,
    /// `[storage]`: where data lives.
    pub storage: StorageConfig,
    /// `[database]`: reserved for the control plane (issue 4).
    pub database: DatabaseConfig,
    /// `[packaging]`: live segmenter parameters.
    pub packaging: PackagingConfig,
    /// `[api]`: the control plane's REST API.
    pub api: ApiConfig,
    /// `[uploads]`: tus resumable uploads of VOD sources (issue 7).
    pub uploads: UploadsConfig,
    /// `[vod]`: VOD processing (issue 7).
    pub vod: VodConfig,
    /// `[[channels]]`: channels and their stream keys.
    pub channels: Vec<ChannelConfig>,
    /// `[ladder]`: the ABR ladder (live renditions, and the VOD jobs' renditions).
    pub ladder: LadderConfig,
}

// --- [uploads] and [vod] (issue 7) ---

/// Default `[uploads] max_bytes`: 10 GiB.
pub const DEFAULT_UPLOAD_MAX_BYTES: u64 = 10 * 1024 * 1024 * 1024;
/// Default `[uploads] expire_s`: an unfinished upload is kept for a day after its
/// last write.
pub const DEFAULT_UPLOAD_EXPIRE_S: u64 = 86_400;
/// Default `[vod] job_concurrency`: one transcode at a time (each uses every core).
pub const DEFAULT_VOD_JOB_CONCURRENCY: usize = 1;

/// `[uploads]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadsConfig {
    /// Largest upload accepted (`Upload-Length`), in bytes (`Tus-Max-Size`).
    pub max_bytes: u64,
    /// Seconds after its last write an unfinished upload is deleted.
    pub expire_s: u64,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_UPLOAD_MAX_BYTES,
            expire_s: DEFAULT_UPLOAD_EXPIRE_S,
        }
    }
}

/// `[vod]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VodConfig {
    /// VOD jobs run at once.
    pub job_concurrency: usize,
}

impl Default for VodConfig {
    fn default() -> Self {
        Self {
            job_concurrency: DEFAULT_VOD_JOB_CONCURRENCY,
        }
    }
}

// --- end of [uploads] and [vod] ---

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address for HTTP/1.1 and HTTP/2 (h2c, or TLS when `[tls]` is set).
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_HTTP_LISTEN.parse().expect("valid default"),
        }
    }
}

pub use edge::http3::Http3Section as Http3Config;

pub use edge::tls::TlsSection as TlsConfig;

/// `[rtmp]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtmpConfig {
    /// TCP address for RTMP publishers.
    pub listen: SocketAddr,
    /// TCP address for RTMPS publishers (RTMP in TLS with `[tls] cert, key`); off
    /// when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_listen: Option<SocketAddr>,
}

impl Default for RtmpConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_RTMP_LISTEN.parse().expect("valid default"),
            tls_listen: None,
        }
    }
}

/// `[srt]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SrtConfig {
    /// UDP address for SRT publishers (MPEG-TS over SRT).
    pub listen: SocketAddr,
    /// Receive latency offered to callers, in milliseconds.
    pub latency_ms: u64,
    /// When set, callers must encrypt (AES-128/192/256) with this passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<String>,
}

/// Default `[srt] latency_ms` (libsrt's default).
pub const DEFAULT_SRT_LATENCY_MS: u64 = 120;

impl Default for SrtConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_SRT_LISTEN.parse().expect("valid default"),
            latency_ms: DEFAULT_SRT_LATENCY_MS,
            passphrase: None,
        }
    }
}

/// `[webrtc]`: WHEP playback and WHIP ingest (see [`crate::webrtc`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebrtcConfig {
    /// Serve `/whep/…` and `/whip/…` (default true).
    pub enabled: bool,
    /// UDP address shared by all WebRTC sessions (ICE-lite, one port).
    pub udp_listen: SocketAddr,
    /// Addresses put into answers as host candidates. Empty: the listen address,
    /// or, when it is unspecified (`0.0.0.0`), 127.0.0.1 plus the host's primary
    /// address.
    pub candidates: Vec<IpAddr>,
    /// What to do with sources that have B-frames: `reencode` (x264 without
    /// B-frames, for WebRTC only) or `refuse` (WHEP answers 409).
    pub bframes: BframePolicy,
    /// x264 preset of the B-frame re-encode.
    pub reencode_preset: String,
    /// Bit rate of the B-frame re-encode, kbit/s.
    pub reencode_bitrate_kbps: u32,
    /// Bit rate of the Opus audio made from AAC sources, bit/s.
    pub opus_bitrate: u32,
    /// Most WebRTC sessions (viewers + publishers) at once; more answer 503.
    pub max_sessions: usize,
    /// A viewer reporting more than this fraction of packets lost (RTCP receiver
    /// reports) for `slow_viewer_window_s` is dropped.
    pub slow_viewer_loss: f32,
    /// See `slow_viewer_loss`.
    pub slow_viewer_window_s: f64,
    /// A WHIP publisher is asked for a key frame (PLI) this often, so the LL-HLS
    /// segmenter can cut segments (browsers send key frames only on request).
    pub whip_keyframe_interval_s: f64,
    /// WHIP publishers' Opus audio is also transcoded to AAC for Apple players.
    pub whip_aac: bool,
}

impl WebrtcConfig {
    /// Checks ranges; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(8_000..=510_000).contains(&self.opus_bitrate) {
            return Err("[webrtc] opus_bitrate must be 8000..=510000 (RFC 6716 §2.1.1)".into());
        }
        if !(100..=50_000).contains(&self.reencode_bitrate_kbps) {
            return Err("[webrtc] reencode_bitrate_kbps must be 100..=50000".into());
        }
        if !(0.0..=1.0).contains(&self.slow_viewer_loss) {
            return Err("[webrtc] slow_viewer_loss must be a fraction 0..=1".into());
        }
        if !(1.0..=60.0).contains(&self.slow_viewer_window_s) {
            return Err("[webrtc] slow_viewer_window_s must be 1..=60".into());
        }
        if !(0.5..=20.0).contains(&self.whip_keyframe_interval_s) {
            return Err("[webrtc] whip_keyframe_interval_s must be 0.5..=20".into());
        }
        if self.max_sessions == 0 {
            return Err("[webrtc] max_sessions must be at least 1".into());
        }
        Ok(())
    }
}

/// `[webrtc] bframes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BframePolicy {
    /// Re-encode the source without B-frames for WebRTC viewers.
    Reencode,
    /// Refuse WHEP for such channels with 409.
    Refuse,
}

impl Default for WebrtcConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            udp_listen: DEFAULT_WEBRTC_UDP_LISTEN.parse().expect("valid default"),
            candidates: Vec::new(),
            bframes: BframePolicy::Reencode,
            reencode_preset: "veryfast".into(),
            reencode_bitrate_kbps: 2_500,
            opus_bitrate: 96_000,
            max_sessions: 2_000,
            slow_viewer_loss: 0.2,
            slow_viewer_window_s: 5.0,
            whip_keyframe_interval_s: 2.0,
            whip_aac: true,
        }
    }
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory for the database and VOD files; created at start.
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: DEFAULT_DATA_DIR.into(),
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The catalog: an SQLite file (relative to the data dir) or a PostgreSQL URL.
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_DATABASE_URL.into(),
        }
    }
}

/// `[packaging]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PackagingConfig {
    /// Target segment duration; segments are cut at the first key frame after it.
    pub segment_target_s: f64,
    /// Target LL-HLS part duration.
    pub part_target_s: f64,
    /// Media kept in the playlist window.
    pub window_s: f64,
    /// How long a channel stays live after its publisher drops.
    pub reconnect_grace_s: f64,
}

impl Default for PackagingConfig {
    fn default() -> Self {
        Self {
            segment_target_s: DEFAULT_SEGMENT_TARGET_S,
            part_target_s: DEFAULT_PART_TARGET_S,
            window_s: DEFAULT_WINDOW_S,
            reconnect_grace_s: DEFAULT_RECONNECT_GRACE_S,
        }
    }
}

/// `[api]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Bearer keys for the admin REST API; empty makes it read-only.
    pub admin_keys: Vec<String>,
}

/// One `[[channels]]` entry.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// The channel name, used in URLs (`/live/{name}/…`).
    pub name: String,
    /// The secret stream key publishers use (`rtmp://host/live/{stream_key}`).
    pub stream_key: String,
    /// Encode the live ABR ladder for this channel; absent: `[ladder] live_default`.
    /// Read when the channel is created in the catalog (as the key is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<bool>,
    /// Keep ended live streams as VOD assets (live-to-VOD).
    #[serde(default)]
    pub record: bool,
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelConfig")
            .field("name", &self.name)
            .field("stream_key", &"<redacted>")
            .finish()
    }
}

pub use edge::config_env::ConfigError;

/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = edge::config_env::ENV_PREFIX;

impl Config {
    /// Loads `path` (or only defaults when `None`), then applies `env` overrides.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config: Config = edge::config_env::load(path, env)?;
        config.validate()?;
        config.resolve_channel_defaults();
        Ok(config)
    }

    /// Parses TOML text and applies `FERROCAST_SECTION__KEY` overrides.
    pub fn from_toml_with_env(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config: Config = edge::config_env::from_toml_with_env(text, env)?;
        config.validate()?;
        config.resolve_channel_defaults();
        Ok(config)
    }

    /// Rejects values that cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let p = &self.packaging;
        if !(p.part_target_s >= 0.05 && p.part_target_s <= p.segment_target_s) {
            return Err(ConfigError::Invalid(format!(
                "[packaging] part_target_s = {} must be between 0.05 and segment_target_s ({})",
                p.part_target_s, p.segment_target_s
            )));
        }
        if !(p.segment_target_s >= 0.5 && p.segment_target_s <= 20.0) {
            return Err(ConfigError::Invalid(format!(
                "[packaging] segment_target_s = {} must be between 0.5 and 20",
                p.segment_target_s
            )));
        }
        if p.window_s < 3.0 * p.segment_target_s {
            return Err(ConfigError::Invalid(format!(
                "[packaging] window_s = {} must hold at least 3 segments ({} s)",
                p.window_s,
                3.0 * p.segment_target_s
            )));
        }
        if !(0.0..=3600.0).contains(&p.reconnect_grace_s) {
            return Err(ConfigError::Invalid(
                "[packaging] reconnect_grace_s must be 0..=3600".into(),
            ));
        }
        self.ladder.validate().map_err(ConfigError::Invalid)?;
        self.webrtc.validate().map_err(ConfigError::Invalid)?;
        self.tls.validate().map_err(ConfigError::Invalid)?;
        self.http3.validate().map_err(ConfigError::Invalid)?;
        if self
            .srt
            .passphrase
            .as_ref()
            .is_some_and(|p| !(10..=79).contains(&p.len()))
        {
            return Err(ConfigError::Invalid(
                "[srt] passphrase must be 10-79 characters (SRT's limits)".into(),
            ));
        }
        if !(20..=10_000).contains(&self.srt.latency_ms) {
            return Err(ConfigError::Invalid(
                "[srt] latency_ms must be 20..=10000".into(),
            ));
        }
        if self.rtmp.tls_listen.is_some() && !self.tls.enabled() {
            return Err(ConfigError::Invalid(
                "[rtmp] tls_listen needs [tls] cert and key or [tls.acme] names (RTMPS uses \
                 the origin's certificate)"
                    .into(),
            ));
        }
        // [uploads] and [vod] (issue 7).
        if self.uploads.max_bytes == 0 || self.uploads.expire_s == 0 {
            return Err(ConfigError::Invalid(
                "[uploads] max_bytes and expire_s must be at least 1".into(),
            ));
        }
        if !(1..=64).contains(&self.vod.job_concurrency) {
            return Err(ConfigError::Invalid(
                "[vod] job_concurrency must be 1..=64".into(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for c in &self.channels {
            if !is_valid_channel_name(&c.name) {
                return Err(ConfigError::Invalid(format!(
                    "channel name {:?} must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'",
                    c.name
                )));
            }
            if c.stream_key.len() < 8 {
                return Err(ConfigError::Invalid(format!(
                    "stream key of channel {:?} must be at least 8 characters",
                    c.name
                )));
            }
            if !names.insert(&c.name) {
                return Err(ConfigError::Invalid(format!(
                    "channel {:?} is listed twice",
                    c.name
                )));
            }
            if !keys.insert(&c.stream_key) {
                return Err(ConfigError::Invalid(format!(
                    "channel {:?} reuses another channel's stream key",
                    c.name
                )));
            }
        }
        Ok(())
    }

    /// Gives every `[[channels]]` entry without `ladder` the `[ladder] live_default`.
    fn resolve_channel_defaults(&mut self) {
        for c in &mut self.channels {
            c.ladder.get_or_insert(self.ladder.live_default);
        }
    }

    /// The effective configuration as TOML (for `--print-config`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }
}

// ---- [ladder] (issue 7, live ABR ladder) ----

/// Default `[ladder] preset` (x264).
pub const DEFAULT_LADDER_PRESET: &str = "veryfast";
/// Default `[ladder] audio_bitrate_kbps` (AAC-LC, VOD jobs; live audio passes through).
pub const DEFAULT_LADDER_AUDIO_BITRATE_KBPS: u32 = 128;
/// Default `[ladder] keyframe_interval_s` (VOD; live renditions take the source's GOP).
pub const DEFAULT_LADDER_KEYFRAME_INTERVAL_S: f64 = 2.0;
/// Default `[ladder] max_realtime_lag_s`: a live ladder further behind its source
/// than this sheds its lowest rendition.
pub const DEFAULT_LADDER_MAX_REALTIME_LAG_S: f64 = 3.0;

/// One `[[ladder.renditions]]` entry (or inline table in `renditions = [...]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LadderRenditionConfig {
    /// The rendition's name (`720p`): its URL path component in live playlists.
    pub name: String,
    /// Picture height; the width follows the source's aspect ratio (even).
    pub height: u32,
    /// Video bit rate in kbit/s.
    pub bitrate_kbps: u32,
}

/// `[ladder]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LadderConfig {
    /// The encoded renditions, tallest first; the source is passed through on top.
    pub renditions: Vec<LadderRenditionConfig>,
    /// x264 preset (`ultrafast` … `veryslow`).
    pub preset: String,
    /// AAC bit rate of VOD jobs in kbit/s.
    pub audio_bitrate_kbps: u32,
    /// Key frame interval of VOD renditions in seconds.
    pub keyframe_interval_s: f64,
    /// The `ladder` flag of channels created without one.
    pub live_default: bool,
    /// How far (seconds) a live ladder may fall behind before shedding renditions.
    pub max_realtime_lag_s: f64,
    /// Encoder threads per rendition; 0 lets x264 decide.
    pub threads: usize,
}

impl Default for LadderConfig {
    fn default() -> Self {
        let r = |name: &str, height, bitrate_kbps| LadderRenditionConfig {
            name: name.into(),
            height,
            bitrate_kbps,
        };
        Self {
            renditions: vec![
                r("720p", 720, 2800),
                r("480p", 480, 1400),
                r("360p", 360, 800),
            ],
            preset: DEFAULT_LADDER_PRESET.into(),
            audio_bitrate_kbps: DEFAULT_LADDER_AUDIO_BITRATE_KBPS,
            keyframe_interval_s: DEFAULT_LADDER_KEYFRAME_INTERVAL_S,
            live_default: false,
            max_realtime_lag_s: DEFAULT_LADDER_MAX_REALTIME_LAG_S,
            threads: 0,
        }
    }
}

/// x264's presets.
pub const X264_PRESETS: &[&str] = &[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

impl LadderConfig {
    /// Rejects ladders that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.renditions.is_empty() || self.renditions.len() > 8 {
            return Err("[ladder] renditions must list 1-8 renditions".into());
        }
        let mut names = std::collections::HashSet::new();
        for r in &self.renditions {
            if !is_valid_channel_name(&r.name) {
                return Err(format!(
                    "[ladder] rendition name {:?} must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'",
                    r.name
                ));
            }
            if r.name.starts_with("video") || r.name.starts_with("audio") {
                return Err(format!(
                    "[ladder] rendition name {:?} must not start with video/audio (source renditions)",
                    r.name
                ));
            }
            if !names.insert(&r.name) {
                return Err(format!("[ladder] rendition {:?} is listed twice", r.name));
            }
            if !(16..=4320).contains(&r.height) {
                return Err(format!(
                    "[ladder] rendition {:?}: height must be 16..=4320",
                    r.name
                ));
            }
            if !(50..=100_000).contains(&r.bitrate_kbps) {
                return Err(format!(
                    "[ladder] rendition {:?}: bitrate_kbps must be 50..=100000",
                    r.name
                ));
            }
        }
        if !X264_PRESETS.contains(&self.preset.as_str()) {
            return Err(format!(
                "[ladder] preset {:?} is not an x264 preset",
                self.preset
            ));
        }
        if !(16..=512).contains(&self.audio_bitrate_kbps) {
            return Err("[ladder] audio_bitrate_kbps must be 16..=512".into());
        }
        if !(0.5..=20.0).contains(&self.keyframe_interval_s) {
            return Err("[ladder] keyframe_interval_s must be 0.5..=20".into());
        }
        if !(0.5..=60.0).contains(&self.max_realtime_lag_s) {
            return Err("[ladder] max_realtime_lag_s must be 0.5..=60".into());
        }
        if self.threads > 64 {
            return Err("[ladder] threads must be 0..=64".into());
        }
        Ok(())
    }
}

// ---- end of [ladder] ----

/// Channel names appear in URLs: keep them to a safe alphabet.
pub fn is_valid_channel_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::from_toml_with_env("", Vec::new()).unwrap();
        assert_eq!(c.http.listen.port(), 8080);
        assert_eq!(c.rtmp.listen.port(), 1935);
        assert_eq!(c.packaging.segment_target_s, DEFAULT_SEGMENT_TARGET_S);
    }

    #[test]
    fn env_overrides_file() {
        let c = Config::from_toml_with_env(
            "[http]\nlisten = \"127.0.0.1:9000\"\n",
            vec![
                ("FERROCAST_HTTP__LISTEN".into(), "127.0.0.1:9100".into()),
                ("FERROCAST_PACKAGING__PART_TARGET_S".into(), "0.5".into()),
                ("UNRELATED".into(), "x".into()),
                ("FERROCAST_ORIGIN_BIN".into(), "/not/an/override".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.http.listen.port(), 9100);
        assert_eq!(c.packaging.part_target_s, 0.5);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = Config::from_toml_with_env("[http]\nlisten_typo = 1\n", Vec::new()).unwrap_err();
        assert!(err.to_string().contains("listen_typo"), "{err}");
    }

    #[test]
    fn bad_values_are_explained() {
        let err =
            Config::from_toml_with_env("[packaging]\npart_target_s = 5\n", Vec::new()).unwrap_err();
        assert!(err.to_string().contains("part_target_s"), "{err}");
        let err = Config::from_toml_with_env(
            "[[channels]]\nname = \"a b\"\nstream_key = \"12345678\"\n",
            Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("channel name"), "{err}");
    }

    #[test]
    fn ladder_defaults_and_channel_flags() {
        let c = Config::from_toml_with_env(
            "[ladder]\nlive_default = true\nrenditions = [{ name = \"540p\", height = 540, \
             bitrate_kbps = 2000 }]\n[[channels]]\nname = \"a\"\nstream_key = \"12345678\"\n\
             [[channels]]\nname = \"b\"\nstream_key = \"abcdefgh\"\nladder = false\nrecord = true\n",
            Vec::new(),
        )
        .unwrap();
        assert_eq!(c.ladder.renditions.len(), 1);
        assert_eq!(c.ladder.preset, DEFAULT_LADDER_PRESET);
        // An absent `ladder` takes `live_default`; an explicit one stays.
        assert_eq!(c.channels[0].ladder, Some(true));
        assert!(!c.channels[0].record);
        assert_eq!(c.channels[1].ladder, Some(false));
        assert!(c.channels[1].record);
        let d = LadderConfig::default();
        let heights: Vec<u32> = d.renditions.iter().map(|r| r.height).collect();
        assert_eq!(heights, [720, 480, 360]);
        assert!(!d.live_default);
    }

    #[test]
    fn bad_ladders_are_explained() {
        for (toml, needle) in [
            ("[ladder]\nrenditions = []\n", "renditions"),
            ("[ladder]\npreset = \"quick\"\n", "preset"),
            ("[ladder]\nmax_realtime_lag_s = 0\n", "max_realtime_lag_s"),
            (
                "[ladder]\nrenditions = [{ name = \"video1\", height = 360, bitrate_kbps = 800 }]\n",
                "video",
            ),
            (
                "[ladder]\nrenditions = [{ name = \"a\", height = 360, bitrate_kbps = 800 }, \
                 { name = \"a\", height = 240, bitrate_kbps = 400 }]\n",
                "twice",
            ),
        ] {
            let err = Config::from_toml_with_env(toml, Vec::new()).unwrap_err();
            assert!(err.to_string().contains(needle), "{toml}: {err}");
        }
    }

    #[test]
    fn stream_keys_are_not_in_debug_output() {
        let c = ChannelConfig {
            name: "a".into(),
            stream_key: "supersecret".into(),
            ladder: None,
            record: false,
        };
        assert!(!format!("{c:?}").contains("supersecret"));
    }

    /// `configs/origin.toml` must stay loadable and document every key.
    #[test]
    fn example_config_loads_and_documents_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/origin.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let c = Config::from_toml_with_env(&text, Vec::new()).unwrap();
        assert!(!c.channels.is_empty());
        // Every key of the effective configuration appears in the example file.
        let effective: toml::Table = c.to_toml().parse().unwrap();
        for (section, value) in &effective {
            assert!(
                text.contains(&format!("[{section}]")) || text.contains(&format!("[[{section}]]")),
                "section {section} undocumented"
            );
            if let toml::Value::Table(t) = value {
                for (key, value) in t {
                    if let toml::Value::Table(inner) = value {
                        // A sub-table ([tls.acme]): its header and its keys.
                        assert!(
                            text.contains(&format!("[{section}.{key}]")),
                            "section {section}.{key} undocumented"
                        );
                        for k in inner.keys() {
                            assert!(
                                text.contains(&format!("{k} =")),
                                "key {section}.{key}.{k} undocumented"
                            );
                        }
                        continue;
                    }
                    assert!(
                        text.contains(&format!("{key} =")),
                        "key {section}.{key} undocumented"
                    );
                }
            }
        }
    }
}
