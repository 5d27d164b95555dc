//! The certificate files of `[tls]`: reading them into an [`SniResolver`], and
//! noticing when they change on disk.
//!
//! A reload reads every file again (default pair, `[[tls.sni]]` pairs, OCSP
//! staples) and builds a whole new resolver; only when all of it succeeds does it
//! replace the old one ([`super::ReloadableResolver`]). A half-written PEM, a key that
//! does not match its certificate, or a missing staple therefore leaves the node
//! serving the previous certificates.
//!
//! Change detection compares each file's size and modification time
//! ([`FileStamps`]). Polling was chosen over inotify: certificate tools replace files
//! by rename and Kubernetes secrets flip a `..data` symlink, both of which an inotify
//! watch on the old inode misses, while a `stat` per file every few seconds sees every
//! kind of replacement, costs nothing measurable and needs no new dependency.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;

use super::{SniResolver, TlsError, TlsSection};

/// Builds the resolver for the files named in `section`; `None` when no default
/// certificate is configured.
pub fn load_resolver(section: &TlsSection) -> Result<Option<SniResolver>, TlsError> {
    let (Some(cert), Some(key)) = (&section.cert, &section.key) else {
        return Ok(None);
    };
    let mut resolver = SniResolver::new(certified_key(cert, key, section.ocsp.as_deref())?);
    for entry in &section.sni {
        resolver.add(
            &entry.names,
            certified_key(&entry.cert, &entry.key, entry.ocsp.as_deref())?,
        )?;
    }
    Ok(Some(resolver))
}

/// One certificate chain with its key, and its OCSP staple when `ocsp` is given.
pub fn certified_key(
    cert: &Path,
    key: &Path,
    ocsp: Option<&Path>,
) -> Result<CertifiedKey, TlsError> {
    let provider = rustls::crypto::ring::default_provider();
    let (certs, key_der) = super::load_pem(cert, key)?;
    let mut certified = CertifiedKey::from_der(certs, key_der, &provider)?;
    if let Some(path) = ocsp {
        // RFC 6066 §8: the server sends the DER OCSPResponse in CertificateStatus
        // (TLS 1.2) or in the leaf's status_request extension (RFC 8446 §4.4.2.1).
        let staple = std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })?;
        if staple.is_empty() {
            return Err(TlsError::EmptyStaple(path.to_owned()));
        }
        certified.ocsp = Some(staple);
    }
    Ok(certified)
}

/// Every file a reload reads, in a stable order.
pub fn watched_paths(section: &TlsSection) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = [&section.cert, &section.key, &section.ocsp]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    for entry in &section.sni {
        paths.push(entry.cert.clone());
        paths.push(entry.key.clone());
        paths.extend(entry.ocsp.clone());
    }
    paths
}

/// Size and modification time of each watched file (`None` when it cannot be
/// read); two stamps differ when any file changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamps(Vec<Option<(u64, SystemTime)>>);

impl FileStamps {
    /// Stats each of `paths` (follows symlinks, so a flipped link counts).
    pub fn read(paths: &[PathBuf]) -> Self {
        Self(
            paths
                .iter()
                .map(|p| {
                    std::fs::metadata(p)
                        .ok()
                        .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
                })
                .collect(),
        )
    }
}

/// The leaf certificate of a resolver's answer, for logs and tests.
pub fn leaf(key: &CertifiedKey) -> Option<&CertificateDer<'static>> {
    key.cert.first()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let ck = rcgen::generate_simple_self_signed(
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        )
        .unwrap();
        let cert = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
        (cert, key)
    }

    #[test]
    fn staples_are_read_into_the_certified_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a", &["a.test"]);
        let ocsp = dir.path().join("a.ocsp");
        std::fs::write(&ocsp, b"\x30\x03\x0a\x01\x00").unwrap();
        let k = certified_key(&cert, &key, Some(&ocsp)).unwrap();
        assert_eq!(k.ocsp.as_deref(), Some(&b"\x30\x03\x0a\x01\x00"[..]));
        std::fs::write(&ocsp, b"").unwrap();
        assert!(matches!(
            certified_key(&cert, &key, Some(&ocsp)),
            Err(TlsError::EmptyStaple(_))
        ));
    }

    #[test]
    fn stamps_change_when_a_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a", &["a.test"]);
        let section = TlsSection {
            cert: Some(cert.clone()),
            key: Some(key),
            ..TlsSection::default()
        };
        let paths = watched_paths(&section);
        assert_eq!(paths.len(), 2);
        let before = FileStamps::read(&paths);
        assert_eq!(before, FileStamps::read(&paths));
        std::fs::write(&cert, "different length").unwrap();
        assert_ne!(before, FileStamps::read(&paths));
        std::fs::remove_file(&cert).unwrap();
        assert_ne!(before, FileStamps::read(&paths));
    }
}
