//! Writing an asset's files: every [`VodFile`] into the asset directory, each
//! through a temporary name and a rename, so a reader (or a crash) never sees half
//! a file; playlists and the MPD come last, so an asset is listed only once all its
//! segments are on disk.

use std::io::Write;
use std::path::Path;

use packager::vod::VodFile;

/// Writes `files` under `dir` (blocking: call from a blocking thread).
pub fn write_files(dir: &Path, files: &[VodFile]) -> std::io::Result<()> {
    for f in files {
        write_file(dir, f)?;
    }
    Ok(())
}

fn write_file(dir: &Path, file: &VodFile) -> std::io::Result<()> {
    // The packager's relative names are `a/b` at most, made of safe characters.
    debug_assert!(!file.path.contains(".."));
    let target = dir.join(&file.path);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = target.with_extension("tmp");
    let mut out = std::fs::File::create(&tmp)?;
    out.write_all(&file.data)?;
    drop(out);
    std::fs::rename(&tmp, &target)
}

/// Writes `files` from async code without blocking a worker.
pub async fn write_files_async(dir: &Path, files: Vec<VodFile>) -> std::io::Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || write_files(&dir, &files))
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn writes_nested_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            VodFile {
                path: "720p/seg1.m4s".into(),
                data: Bytes::from_static(b"moof"),
            },
            VodFile {
                path: "master.m3u8".into(),
                data: Bytes::from_static(b"#EXTM3U\n"),
            },
        ];
        write_files(dir.path(), &files).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("720p/seg1.m4s")).unwrap(),
            b"moof"
        );
        assert_eq!(
            std::fs::read(dir.path().join("master.m3u8")).unwrap(),
            b"#EXTM3U\n"
        );
        let tmp: Vec<_> = walk(dir.path())
            .into_iter()
            .filter(|p| p.ends_with(".tmp"))
            .collect();
        assert!(tmp.is_empty(), "{tmp:?}");
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
        out
    }
}
