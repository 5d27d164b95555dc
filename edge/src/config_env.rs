//! `FERROCAST_SECTION__KEY` environment overrides, shared by the origin's and the
//! edge's configuration loaders (ARCHITECTURE.md, operator contract).
//!
//! The section part names a TOML table; `_` in it descends into nested tables, so
//! `FERROCAST_CACHE_DISK__PATH=/srv/cache` sets `[cache.disk] path`. The value is read
//! as a TOML value when it parses as one (numbers, booleans, arrays), else as a
//! string. Variables without `__` are not overrides (test harness settings and the
//! like) and are ignored.
//!
//! [`load`] / [`from_toml_with_env`] do the whole read → override → deserialize
//! sequence for any `#[serde(default, deny_unknown_fields)]` configuration type;
//! each binary then runs its own `validate`.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "FERROCAST_";

/// A configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys or wrong types.
    #[error("invalid configuration: {0}")]
    Parse(#[from] toml::de::Error),
    /// An environment override does not name `SECTION__KEY`.
    #[error("environment variable {0} must look like FERROCAST_SECTION__KEY")]
    BadEnvName(String),
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Reads `path` (only defaults when `None`), applies `env` overrides, deserializes.
pub fn load<T: DeserializeOwned>(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
            path: p.to_owned(),
            source,
        })?,
        None => String::new(),
    };
    from_toml_with_env(&text, env)
}

/// Parses TOML `text`, applies `env` overrides, deserializes.
pub fn from_toml_with_env<T: DeserializeOwned>(
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let mut table: toml::Table = text.parse()?;
    apply_env_overrides(&mut table, env).map_err(ConfigError::BadEnvName)?;
    Ok(toml::Value::Table(table).try_into()?)
}

/// Applies every `FERROCAST_SECTION__KEY` of `env` to `table`. Fails with the
/// offending variable's name when it cannot be an override (empty section or key, or
/// a section that is a value rather than a table).
pub fn apply_env_overrides(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), String> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let Some((section, key)) = rest.split_once("__") else {
            continue;
        };
        if section.is_empty() || key.is_empty() || section.split('_').any(str::is_empty) {
            return Err(name);
        }
        let mut current = &mut *table;
        for part in section.split('_') {
            let entry = current
                .entry(part.to_ascii_lowercase())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(next) = entry else {
                return Err(name);
            };
            current = next;
        }
        current.insert(key.to_ascii_lowercase(), env_value(&value));
    }
    Ok(())
}

/// An environment value as TOML: a number, boolean or array when it parses as one,
/// else a string.
fn env_value(raw: &str) -> toml::Value {
    let probe = format!("v = {raw}");
    match probe.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sets_plain_and_nested_sections() {
        let mut t: toml::Table = "[http]\nlisten = \"0.0.0.0:1\"\n".parse().unwrap();
        apply_env_overrides(
            &mut t,
            env(&[
                ("FERROCAST_HTTP__LISTEN", "127.0.0.1:9"),
                ("FERROCAST_CACHE_DISK__BYTES", "1024"),
                ("FERROCAST_UPSTREAM__PARENTS", "[\"http://a:1\"]"),
                ("FERROCAST_HARNESS_THING", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(t["http"]["listen"].as_str(), Some("127.0.0.1:9"));
        assert_eq!(t["cache"]["disk"]["bytes"].as_integer(), Some(1024));
        assert_eq!(t["upstream"]["parents"][0].as_str(), Some("http://a:1"));
        assert!(!t.contains_key("harness"));
    }

    #[test]
    fn rejects_malformed_names() {
        let mut t = toml::Table::new();
        for bad in [
            "FERROCAST___KEY",
            "FERROCAST_HTTP__",
            "FERROCAST_CACHE__DISK_X",
        ] {
            let r = apply_env_overrides(&mut t, env(&[(bad, "1")]));
            if bad.ends_with("DISK_X") {
                // Section `CACHE`, key `DISK_X`: well-formed (serde rejects the key later).
                assert!(r.is_ok());
            } else {
                assert_eq!(r, Err(bad.to_string()));
            }
        }
        let mut t: toml::Table = "cache = 1\n".parse().unwrap();
        let r = apply_env_overrides(&mut t, env(&[("FERROCAST_CACHE_DISK__PATH", "/x")]));
        assert_eq!(r, Err("FERROCAST_CACHE_DISK__PATH".to_string()));
    }
}
