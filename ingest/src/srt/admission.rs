//! Who may publish over SRT: the listener's rules for a caller's conclusion
//! handshake, decided before the handshake is answered.
//!
//! The caller's induction and conclusion requests (draft-sharabayko-srt §4.3.1,
//! "Caller-Listener Handshake") carry its stream id (the SID extension, §3.2.1.3)
//! and, when it encrypts, its key size (the KMREQ extension, §3.2.2, and the
//! handshake's encryption field, §3.2.1). From those alone this module decides:
//!
//! 1. the stream id names a key ([`super::stream_id`]);
//! 2. encryption matches the listener: a passphrase configured means callers
//!    must encrypt, none means they must not. This also guards srt-protocol
//!    0.4.4, which panics when an encrypting caller meets a listener without key
//!    settings, or on a key-size mismatch — so the caller's key size is always
//!    the one accepted.
//!
//! What remains (the catalog's [`PublishHandler::check`](crate::publish::PublishHandler::check),
//! then `publish` once the handshake completed) is asynchronous and driven by
//! [`super::driver`].

use srt_protocol::options::{KeySize, Passphrase};
use srt_protocol::settings::KeySettings;
use srt_tokio::access::ServerRejectReason;

use super::stream_id::publish_key;

/// A caller admitted by the listener's rules (not yet by the catalog).
#[derive(Debug)]
pub struct Admitted {
    /// The stream key. Never log it.
    pub stream_key: String,
    /// The key settings to accept the caller with (`None`: unencrypted).
    pub key_settings: Option<KeySettings>,
}

/// Why a caller is refused, and the rejection code sent back (§3.2.1.2,
/// "Handshake Rejection Reason Codes": `SRT_REJX_*` server codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// For the log line (never contains the key).
    pub why: String,
    /// The rejection reason in the handshake reply.
    pub reason: ServerRejectReason,
}

/// Applies the listener's rules to a caller with `stream_id` and `key_size`;
/// `passphrase` is the listener's (`[srt] passphrase`).
pub fn admit(
    stream_id: Option<&str>,
    key_size: KeySize,
    passphrase: Option<&str>,
) -> Result<Admitted, Refusal> {
    let refuse = |why: &str, reason| Refusal {
        why: why.to_owned(),
        reason,
    };
    let stream_key = publish_key(stream_id)
        .map_err(|e| refuse(&e.to_string(), ServerRejectReason::BadRequest))?;
    let caller_encrypts = key_size != KeySize::Unspecified;
    let key_settings = match (passphrase, caller_encrypts) {
        (None, false) => None,
        (None, true) => {
            return Err(refuse(
                "caller encrypts but this listener has no passphrase",
                ServerRejectReason::Unacceptable,
            ))
        }
        (Some(_), false) => {
            return Err(refuse(
                "a passphrase is required on this listener",
                ServerRejectReason::Unauthorized,
            ))
        }
        (Some(p), true) => match Passphrase::try_from(p.to_owned()) {
            Ok(passphrase) => Some(KeySettings {
                key_size,
                passphrase,
            }),
            Err(_) => {
                return Err(refuse(
                    "the configured passphrase is unusable",
                    ServerRejectReason::InternalServerError,
                ))
            }
        },
    };
    Ok(Admitted {
        stream_key,
        key_settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: Option<&str> = Some("publish/live/k1");

    #[test]
    fn plain_caller_on_a_plain_listener() {
        let a = admit(SID, KeySize::Unspecified, None).unwrap();
        assert_eq!(a.stream_key, "k1");
        assert!(a.key_settings.is_none());
    }

    #[test]
    fn encryption_must_match_the_listener() {
        let r = admit(SID, KeySize::AES128, None).unwrap_err();
        assert_eq!(r.reason, ServerRejectReason::Unacceptable);
        let r = admit(SID, KeySize::Unspecified, Some("correct-horse-battery")).unwrap_err();
        assert_eq!(r.reason, ServerRejectReason::Unauthorized);
    }

    #[test]
    fn the_callers_key_size_is_accepted() {
        let a = admit(SID, KeySize::AES256, Some("correct-horse-battery")).unwrap();
        assert_eq!(a.key_settings.unwrap().key_size, KeySize::AES256);
    }

    #[test]
    fn bad_stream_ids_and_passphrases() {
        let r = admit(None, KeySize::Unspecified, None).unwrap_err();
        assert_eq!(r.reason, ServerRejectReason::BadRequest);
        let r = admit(SID, KeySize::AES128, Some("short")).unwrap_err();
        assert_eq!(r.reason, ServerRejectReason::InternalServerError);
    }
}
