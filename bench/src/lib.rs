//! # bench — load generators, test publishers and peer comparisons
//!
//! - [`rtmp_client`]: an RTMP publisher written independently of `ingest`;
//! - [`flv_tags`]: legacy AVC/AAC and Enhanced RTMP v1 video tag bodies;
//! - [`flv_file`]: reads the tags of an `.flv` file for replay; [`loop_clip`]:
//!   such a clip split into start tags and a looped media part;
//! - [`elementary`]: HEVC Annex B, AV1 IVF/OBU and AAC ADTS readers that
//!   build the decoder configuration records;
//! - [`proc_cpu`]: CPU seconds of a process tree from `/proc`;
//! - [`edge_load`]: an HTTP/1.1, HTTP/2 (h2c or TLS) and HTTP/3 load generator
//!   over a fixed or Zipf object catalog, with latency percentiles, `x-cache`
//!   counts, handshakes per second and the server's CPU per request and byte;
//! - [`whep_client`]: headless WHEP viewers on str0m (benchmarks, e2e tests).
//!
//! Binaries: `ertmp-publish` (Enhanced RTMP test publisher), `rtmp-load`
//! (N paced publishers, CPU per stream of the server under test), `edge-load`
//! (the load generator above), `whep-fanout` (WHEP viewers per core vs LL-HLS)
//! and `static-origin` (sized cacheable objects for the
//! edge bench, `bench/edge_vs_peers.sh`).
#![forbid(unsafe_code)]

pub mod edge_load;
pub mod elementary;
pub mod flv_file;
pub mod flv_tags;
pub mod loop_clip;
pub mod proc_cpu;
pub mod rtmp_client;
pub mod whep_client;
