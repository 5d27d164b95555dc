//! # bench — load generators, test publishers and peer comparisons
//!
//! - [`rtmp_client`]: an RTMP publisher written independently of `ingest`;
//! - [`flv_tags`]: legacy AVC/AAC and Enhanced RTMP v1 video tag bodies;
//! - [`flv_file`]: reads the tags of an `.flv` file for replay;
//! - [`elementary`]: HEVC Annex B, AV1 IVF/OBU and AAC ADTS readers that
//!   build the decoder configuration records;
//! - [`proc_cpu`]: CPU seconds of a process tree from `/proc`.
//!
//! Binaries: `ertmp-publish` (Enhanced RTMP test publisher) and `rtmp-load`
//! (N paced publishers, CPU per stream of the server under test).
#![forbid(unsafe_code)]

pub mod edge_load;
pub mod elementary;
pub mod flv_file;
pub mod flv_tags;
pub mod proc_cpu;
pub mod rtmp_client;
