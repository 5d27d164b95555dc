//! Decoder configuration records and the facts derived from them.
//!
//! Each submodule parses one codec's configuration record from the bytes the
//! container or protocol carries (`avcC`, `hvcC`, `av1C`, AudioSpecificConfig, …)
//! and keeps the raw record, so the muxer can copy it into the init segment verbatim.

pub mod aac;
pub mod av1;
pub mod avc;
pub mod bitreader;
pub mod hevc;
pub mod opus;
pub mod vp9;

/// A configuration record could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The record ended before a field it announces.
    #[error("{codec} configuration record truncated: {what}")]
    Truncated {
        /// Which codec's record.
        codec: &'static str,
        /// The field that was cut off.
        what: &'static str,
    },
    /// A field holds a value the specification forbids or we do not support.
    #[error("{codec} configuration record invalid: {what}")]
    Invalid {
        /// Which codec's record.
        codec: &'static str,
        /// What was wrong.
        what: &'static str,
    },
}
