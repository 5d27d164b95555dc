//! # Our RTMP publisher against nginx-rtmp, a third-party server
//!
//! Starts nginx (with `libnginx-mod-rtmp`) in a temp prefix on a free
//! loopback port, as a foreground child process, and checks that:
//! - an ffmpeg-made H.264/AAC FLV clip published with `bench::rtmp_client`
//!   becomes an HLS playlist with segments that ffprobe reads;
//! - a second publisher on the same key gets a clear
//!   `NetStream.Publish.BadName` error.
//!
//! Skips (passes with a note) when nginx, the rtmp module or ffmpeg is
//! missing, so `cargo test` works on any box.

use bench::flv_file::{read_tags, TAG_SCRIPT};
use bench::rtmp_client::{ClientError, Publisher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Nginx {
    /// SIGTERM to the master, which stops its worker and cache manager too
    /// (SIGKILL would orphan them); SIGKILL only if it is still there after 5 s.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn start_nginx() -> Option<Nginx> {
    if !Path::new(MODULE).exists() || !have("nginx") || !have("ffmpeg") {
        eprintln!("SKIP: needs nginx, libnginx-mod-rtmp and ffmpeg");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let dir = std::env::temp_dir().join(format!("ferrocast-nginx-{}-{port}", std::process::id()));
    std::fs::create_dir_all(dir.join("hls")).ok()?;
    let d = dir.display();
    // As root, workers would drop privileges and could not write to our dir.
    let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let user = if is_root { "user root;\n" } else { "" };
    let conf = format!(
        "{user}daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nload_module {MODULE};\nevents {{ worker_connections 256; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n\
         application live {{ live on; record off; hls on; hls_path {d}/hls; hls_fragment 1s; }} }} }}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).ok()?;
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let nginx = Nginx { child, dir, port };
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(nginx)
}

fn make_clip(dir: &Path) -> PathBuf {
    let out = dir.join("clip.flv");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args([
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=44100",
        ])
        .args([
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            "2",
        ])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made the clip");
    out
}

#[tokio::test]
async fn publish_to_nginx_rtmp_makes_hls_and_duplicates_are_rejected() {
    let Some(nginx) = start_nginx() else { return };
    let clip = make_clip(&nginx.dir);
    let tags = read_tags(std::fs::read(&clip).unwrap().into()).unwrap();
    let url = format!("rtmp://127.0.0.1:{}/live/bench", nginx.port);

    let mut p = Publisher::connect(&url)
        .await
        .expect("nginx accepts the publish");
    for tag in &tags {
        match tag.tag_type {
            TAG_SCRIPT => p.send_script_tag(&tag.body).await.unwrap(),
            9 => p.send_video(tag.timestamp, tag.body.clone()).await.unwrap(),
            _ => p.send_audio(tag.timestamp, tag.body.clone()).await.unwrap(),
        }
    }

    let second = Publisher::connect(&url).await;
    match second {
        Err(ClientError::PublishRejected { code, .. }) => {
            assert_eq!(code, "NetStream.Publish.BadName")
        }
        Err(e) => panic!("expected BadName, got {e}"),
        Ok(_) => panic!("nginx accepted a second publisher on the same key"),
    }
    p.close().await.unwrap();

    let playlist = nginx.dir.join("hls/bench.m3u8");
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = std::fs::read_to_string(&playlist).unwrap_or_default();
        if text.matches("#EXTINF").count() >= 2 || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(text.matches("#EXTINF").count() >= 2, "playlist:\n{text}");
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(&playlist)
        .output()
        .unwrap();
    let codecs = String::from_utf8_lossy(&probe.stdout);
    assert!(
        codecs.contains("h264") && codecs.contains("aac"),
        "ffprobe saw {codecs:?}"
    );
}
