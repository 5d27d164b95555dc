//! Which stream key an SRT caller publishes to, from its stream id.
//!
//! Two forms are accepted:
//! - plain: `publish/live/{key}`;
//! - SRT access control (Haivision SRT `docs/features/access-control.md`):
//!   `#!::r=live/{key},m=publish` — comma-separated `key=value` pairs after `#!::`;
//!   `r` is the resource, `m` the mode (`publish` required; `request` is playback,
//!   which this listener does not serve). Other keys (`u`, `s`, `t`, …) are ignored.

/// Why a stream id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamIdError {
    /// No stream id at all.
    #[error("no stream id: use streamid=publish/live/KEY or #!::r=live/KEY,m=publish")]
    Missing,
    /// Not one of the two forms.
    #[error("stream id is not publish/live/KEY or #!::r=live/KEY,m=publish")]
    Unrecognised,
    /// Access-control form with a mode other than `publish`.
    #[error("only m=publish is served on this port")]
    NotPublish,
}

/// The stream key in `stream_id`.
pub fn publish_key(stream_id: Option<&str>) -> Result<String, StreamIdError> {
    let sid = stream_id.ok_or(StreamIdError::Missing)?;
    if let Some(list) = sid.strip_prefix("#!::") {
        let (mut resource, mut mode) = (None, None);
        for pair in list.split(',') {
            match pair.split_once('=') {
                Some(("r", v)) => resource = Some(v),
                Some(("m", v)) => mode = Some(v),
                _ => {}
            }
        }
        if mode.is_some_and(|m| m != "publish") {
            return Err(StreamIdError::NotPublish);
        }
        if mode.is_none() {
            // The SRT guidelines default m to request (playback).
            return Err(StreamIdError::NotPublish);
        }
        return resource
            .and_then(|r| r.strip_prefix("live/"))
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .ok_or(StreamIdError::Unrecognised);
    }
    sid.strip_prefix("publish/live/")
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or(StreamIdError::Unrecognised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_refusals() {
        assert_eq!(publish_key(Some("publish/live/abc123")).unwrap(), "abc123");
        assert_eq!(
            publish_key(Some("#!::r=live/abc123,m=publish")).unwrap(),
            "abc123"
        );
        assert_eq!(
            publish_key(Some("#!::u=ann,r=live/k,m=publish,s=x")).unwrap(),
            "k"
        );
        assert_eq!(publish_key(None), Err(StreamIdError::Missing));
        assert_eq!(
            publish_key(Some("live/abc")),
            Err(StreamIdError::Unrecognised)
        );
        assert_eq!(
            publish_key(Some("publish/live/")),
            Err(StreamIdError::Unrecognised)
        );
        assert_eq!(
            publish_key(Some("#!::r=live/k,m=request")),
            Err(StreamIdError::NotPublish)
        );
        assert_eq!(
            publish_key(Some("#!::r=live/k")),
            Err(StreamIdError::NotPublish)
        );
        assert_eq!(
            publish_key(Some("#!::r=vod/k,m=publish")),
            Err(StreamIdError::Unrecognised)
        );
    }
}
