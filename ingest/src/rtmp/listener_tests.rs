//! Live tests: `serve` on 127.0.0.1:0 with a test handler; ffmpeg (Debian's, libx264
//! with B-frames + AAC) publishes; a raw TCP client misbehaves.

use std::process::Stdio;
use std::sync::Mutex;

use packager::media::{CodecConfig, Frame, MediaKind, Track};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::publish::PublishFuture;
use crate::rtmp::handshake::HANDSHAKE_SIZE;

#[derive(Default)]
struct Seen {
    requests: Vec<(String, String)>,
    tracks: Vec<Track>,
    frames: Vec<Frame>,
    ends: usize,
}

struct TestHandler(Arc<Mutex<Seen>>);
struct TestSink(Arc<Mutex<Seen>>);

impl MediaSink for TestSink {
    fn channel(&self) -> &str {
        "test-channel"
    }
    fn track(&mut self, track: Track) {
        self.0.lock().unwrap().tracks.push(track);
    }
    fn frame(&mut self, frame: Frame) {
        self.0.lock().unwrap().frames.push(frame);
    }
    fn end(&mut self) {
        self.0.lock().unwrap().ends += 1;
    }
}

impl PublishHandler for TestHandler {
    fn publish(&self, request: PublishRequest) -> PublishFuture {
        let seen = self.0.clone();
        seen.lock()
            .unwrap()
            .requests
            .push((request.app, request.stream_key.clone()));
        Box::pin(async move {
            if request.stream_key == "key" {
                Ok(Box::new(TestSink(seen)) as Box<dyn MediaSink>)
            } else {
                Err(PublishRejection::UnknownKey)
            }
        })
    }
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("ingest=debug")
        .try_init();
}

async fn start() -> (
    SocketAddr,
    Arc<Mutex<Seen>>,
    watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    init_logs();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (tx, rx) = watch::channel(false);
    let handler: Arc<dyn PublishHandler> = Arc::new(TestHandler(seen.clone()));
    let server = tokio::spawn(serve(listener, handler, RtmpLimits::default(), rx));
    (addr, seen, tx, server)
}

async fn ffmpeg_push(url: &str, seconds: &str) -> std::process::ExitStatus {
    tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine",
        ])
        .args([
            "-t", seconds, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-bf", "3", "-g", "30",
        ])
        .args(["-c:a", "aac", "-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .expect("ffmpeg is installed")
}

#[tokio::test]
async fn ffmpeg_publishes_h264_with_b_frames_and_aac() {
    let (addr, seen, stop, server) = start().await;
    let status = ffmpeg_push(&format!("rtmp://{addr}/live/key"), "2").await;
    assert!(status.success(), "ffmpeg failed: {status}");
    // The server notices the close right after ffmpeg exits.
    for _ in 0..100 {
        if seen.lock().unwrap().ends > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    server.await.unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests, [("live".to_owned(), "key".to_owned())]);
    assert_eq!(seen.ends, 1, "sink.end() exactly once");
    assert!(matches!(seen.tracks[..], [ref a, ref b] if
        matches!(a.codec, CodecConfig::H264(_)) && matches!(b.codec, CodecConfig::Aac(_))
        || matches!(a.codec, CodecConfig::Aac(_)) && matches!(b.codec, CodecConfig::H264(_))));
    let video: Vec<&Frame> = seen
        .frames
        .iter()
        .filter(|f| f.kind == MediaKind::Video)
        .collect();
    let audio: Vec<&Frame> = seen
        .frames
        .iter()
        .filter(|f| f.kind == MediaKind::Audio)
        .collect();
    assert!(video.len() >= 55, "video frames: {}", video.len());
    assert!(audio.len() >= 80, "audio frames: {}", audio.len());
    assert!(video[0].keyframe);
    assert!(
        video.windows(2).all(|w| w[1].dts > w[0].dts),
        "video DTS strictly increasing"
    );
    assert!(
        audio.windows(2).all(|w| w[1].dts > w[0].dts),
        "audio DTS strictly increasing"
    );
    assert!(
        video.iter().any(|f| f.pts > f.dts),
        "B-frames give composition offsets"
    );
    let VideoSize(w, h) = video_size(&seen.tracks);
    assert_eq!((w, h), (320, 240));
}

struct VideoSize(u32, u32);

fn video_size(tracks: &[Track]) -> VideoSize {
    let info = tracks.iter().find_map(|t| t.codec.video_info()).unwrap();
    VideoSize(info.width, info.height)
}

#[tokio::test]
async fn unknown_key_is_rejected_and_oversized_chunk_closes() {
    let (addr, seen, stop, server) = start().await;
    let status = ffmpeg_push(&format!("rtmp://{addr}/live/wrong"), "1").await;
    assert!(!status.success(), "ffmpeg must fail on a rejected key");

    // A raw client: handshake, then Set Chunk Size 16 MiB. The server must close.
    let mut sock = TcpStream::connect(addr).await.unwrap();
    let mut c0c1 = vec![3u8];
    c0c1.extend_from_slice(&[0u8; HANDSHAKE_SIZE]);
    sock.write_all(&c0c1).await.unwrap();
    let mut s0s1s2 = vec![0u8; 1 + 2 * HANDSHAKE_SIZE];
    sock.read_exact(&mut s0s1s2).await.unwrap();
    sock.write_all(&[0u8; HANDSHAKE_SIZE]).await.unwrap();
    let mut set_chunk = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0];
    set_chunk.extend_from_slice(&(16u32 << 20).to_be_bytes());
    sock.write_all(&set_chunk).await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "server must close the connection");

    stop.send(true).unwrap();
    server.await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests.len(), 1);
    assert_eq!((seen.ends, seen.frames.len()), (0, 0));
}
