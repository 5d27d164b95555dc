//! Where `[database] url` points.
//!
//! - `sqlite://NAME` — a file; a relative path is inside `[storage] data_dir`
//!   (`sqlite://ferrocast.db` is the default), an absolute one
//!   (`sqlite:///var/lib/ferrocast/catalog.db`) is taken as is. It is created if
//!   missing.
//! - `postgres://…` or `postgresql://…` — passed to PostgreSQL unchanged.

use std::path::{Path, PathBuf};

/// The database behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A URL resolved for connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUrl {
    /// Which driver.
    pub backend: Backend,
    /// What to hand the driver.
    pub connect_url: String,
    /// The SQLite file, if any.
    pub sqlite_path: Option<PathBuf>,
}

/// Why a URL cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    /// Neither `sqlite://` nor `postgres://`.
    #[error("[database] url must start with sqlite:// or postgres:// (got scheme {0:?})")]
    UnknownScheme(String),
    /// `sqlite://` with nothing after it.
    #[error("[database] url sqlite:// needs a file name, e.g. sqlite://ferrocast.db")]
    EmptySqlitePath,
}

/// Resolves `url` against `data_dir`.
pub fn resolve(url: &str, data_dir: &Path) -> Result<ResolvedUrl, DatabaseUrlError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(ResolvedUrl {
            backend: Backend::Postgres,
            connect_url: url.to_owned(),
            sqlite_path: None,
        });
    }
    let Some(rest) = url.strip_prefix("sqlite://") else {
        let scheme = url.split_once("://").map_or(url, |(s, _)| s);
        return Err(DatabaseUrlError::UnknownScheme(scheme.to_owned()));
    };
    let (path, _query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(DatabaseUrlError::EmptySqlitePath);
    }
    let path = Path::new(path);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        data_dir.join(path)
    };
    Ok(ResolvedUrl {
        backend: Backend::Sqlite,
        // mode=rwc: create the file when missing.
        connect_url: format!("sqlite://{}?mode=rwc", path.display()),
        sqlite_path: Some(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_files_live_in_the_data_dir() {
        let r = resolve("sqlite://ferrocast.db", Path::new("/srv/data")).unwrap();
        assert_eq!(r.backend, Backend::Sqlite);
        assert_eq!(r.connect_url, "sqlite:///srv/data/ferrocast.db?mode=rwc");
        let r = resolve("sqlite:///var/lib/c.db", Path::new("/srv/data")).unwrap();
        assert_eq!(r.sqlite_path.as_deref(), Some(Path::new("/var/lib/c.db")));
    }

    #[test]
    fn postgres_urls_pass_through_and_others_are_refused() {
        let u = "postgres://fc@127.0.0.1:5432/fc";
        assert_eq!(resolve(u, Path::new(".")).unwrap().connect_url, u);
        assert_eq!(
            resolve("mysql://x", Path::new(".")).unwrap_err(),
            DatabaseUrlError::UnknownScheme("mysql".into())
        );
        assert_eq!(
            resolve("sqlite://", Path::new(".")).unwrap_err(),
            DatabaseUrlError::EmptySqlitePath
        );
    }
}
