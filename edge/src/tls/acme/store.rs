//! The ACME state directory: the account and the current certificate.
//!
//! | file | what | mode |
//! |---|---|---|
//! | `account.json` | the account URL and its private key (instant-acme's `AccountCredentials`), bound to one directory URL | 0600 |
//! | `certificate.pem` | the issued chain, leaf first | 0644 |
//! | `certificate.key` | the certificate's private key (PKCS#8 PEM) | 0600 |
//!
//! Files are written to a temporary name and renamed, so a crash leaves the old or
//! the new file, never half of one; the key is renamed before the chain, and a
//! chain whose key does not match is ignored at start (a new order follows).

use std::io::Write;
use std::path::{Path, PathBuf};

/// The directory; see the module docs.
#[derive(Debug, Clone)]
pub struct AcmeStore {
    dir: PathBuf,
}

const ACCOUNT: &str = "account.json";
const CHAIN: &str = "certificate.pem";
const KEY: &str = "certificate.key";

impl AcmeStore {
    /// Creates `dir` (mode 0700) if needed.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stored account, if any.
    pub fn account(&self) -> std::io::Result<Option<Vec<u8>>> {
        read_optional(&self.dir.join(ACCOUNT))
    }

    /// Stores the account (secret: 0600).
    pub fn save_account(&self, json: &[u8]) -> std::io::Result<()> {
        self.write(ACCOUNT, json, 0o600)
    }

    /// Paths of the stored chain and key, when both exist.
    pub fn certificate_paths(&self) -> Option<(PathBuf, PathBuf)> {
        let (chain, key) = (self.dir.join(CHAIN), self.dir.join(KEY));
        (chain.is_file() && key.is_file()).then_some((chain, key))
    }

    /// Stores a new certificate: the key first (0600), then the chain.
    pub fn save_certificate(&self, chain_pem: &str, key_pem: &str) -> std::io::Result<()> {
        self.write(KEY, key_pem.as_bytes(), 0o600)?;
        self.write(CHAIN, chain_pem.as_bytes(), 0o644)
    }

    fn write(&self, name: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        {
            // `mode` applies only to a newly created file; a leftover temp keeps its
            // old mode otherwise.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, self.dir.join(name))
    }
}

fn read_optional(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = AcmeStore::open(&dir.path().join("acme")).unwrap();
        assert_eq!(store.account().unwrap(), None);
        assert!(store.certificate_paths().is_none());
        store.save_account(b"{}").unwrap();
        store.save_certificate("CHAIN", "KEY").unwrap();
        assert_eq!(store.account().unwrap().as_deref(), Some(&b"{}"[..]));
        let (chain, key) = store.certificate_paths().unwrap();
        assert_eq!(std::fs::read_to_string(chain).unwrap(), "CHAIN");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&key), 0o600);
            assert_eq!(mode(&store.dir().join(ACCOUNT)), 0o600);
            assert_eq!(mode(store.dir()), 0o700);
        }
    }
}
