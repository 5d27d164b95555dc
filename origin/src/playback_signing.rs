//! The origin's Ed25519 key for playback tokens ([`edge::token`] format).
//!
//! The control plane signs tokens; origins and edges verify them with the public key
//! only. The key lives in `data_dir/playback-signing.key` (the 32-byte seed in
//! base64url, mode 0600), created at first start, so tokens survive restarts and
//! several origins can share one key by copying the file. The public key is printed
//! in the start-up banner and served at `GET /api/v1/tokens/public-key`; edge
//! operators put it in `[auth] public_key`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::SigningKey;
use rand::RngCore;

/// File name of the key in the data dir.
pub const KEY_FILE: &str = "playback-signing.key";

/// Why the key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file does not hold a base64url 32-byte seed.
    #[error("{0}: not a base64url Ed25519 seed (32 bytes)")]
    Malformed(PathBuf),
}

/// Loads the key from `data_dir`, creating it when missing.
pub fn load_or_create(data_dir: &Path) -> Result<SigningKey, SigningKeyError> {
    let path = data_dir.join(KEY_FILE);
    let io = |source| SigningKeyError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let seed: [u8; 32] = URL_SAFE_NO_PAD
                .decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| SigningKeyError::Malformed(path.clone()))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io)?;
            f.write_all(URL_SAFE_NO_PAD.encode(seed).as_bytes())
                .and_then(|()| f.write_all(b"\n"))
                .and_then(|()| f.sync_all())
                .map_err(io)?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(io(e)),
    }
}

/// The public key as `[auth] public_key` takes it (base64url, no padding).
pub fn public_key_text(key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge::token::{sign, TokenClaims, TokenVerifier};

    #[test]
    fn the_key_is_created_once_and_verifies_with_the_edge_verifier() {
        let dir = tempfile::tempdir().unwrap();
        let key = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(
            key.to_bytes(),
            again.to_bytes(),
            "the same key after a restart"
        );
        let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);

        let verifier = TokenVerifier::new(&public_key_text(&key), vec![]).unwrap();
        let claims = TokenClaims {
            prefix: "/live/a/".into(),
            expires_at_s: 2_000,
            client: None,
        };
        let token = sign(&key, &claims);
        assert_eq!(
            verifier
                .verify(&token, "/live/a/x.m4s", None, 1_000)
                .unwrap(),
            claims
        );
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        assert!(matches!(
            load_or_create(dir.path()),
            Err(SigningKeyError::Malformed(_))
        ));
    }
}
