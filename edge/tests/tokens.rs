//! Playback tokens through the pipeline: `/t/{token}/…` verified and stripped, 403
//! (`no-store`, never reaching the upstream) for missing, expired, foreign-prefix,
//! forged and client-mismatched tokens.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ed25519_dalek::SigningKey;
use edge::pipeline::{PeerAddr, Pipeline};
use edge::token::{sign, TokenClaims, TokenVerifier};
use edge::upstream::{
    ObjectKind, Upstream, UpstreamBody, UpstreamFuture, UpstreamRequest, UpstreamResponse,
};
use http::{Request, StatusCode};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

struct Shared(Arc<Recorder>);

impl Upstream for Shared {
    fn fetch(&self, request: UpstreamRequest) -> UpstreamFuture {
        self.0 .0.lock().unwrap().push(request.path.clone());
        Box::pin(async move {
            UpstreamResponse {
                status: StatusCode::OK,
                kind: ObjectKind::Segment,
                content_type: "video/mp4",
                cache_control: "public, max-age=86400, immutable".into(),
                headers: http::HeaderMap::new(),
                body: UpstreamBody::Full(Bytes::from(request.path)),
            }
        })
    }
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn setup() -> (Pipeline, Arc<Recorder>, SigningKey) {
    let key = SigningKey::from_bytes(&[42u8; 32]);
    use base64::Engine;
    let public =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
    let verifier = TokenVerifier::new(&public, vec!["/live/".into()]).unwrap();
    let recorder = Arc::new(Recorder::default());
    let pipeline = Pipeline::new(
        Arc::new(Shared(recorder.clone())),
        &prometheus::Registry::new(),
    )
    .unwrap()
    .with_token_verifier(verifier);
    (pipeline, recorder, key)
}

async fn get(p: &Pipeline, path: &str, peer: &str) -> (StatusCode, String, String) {
    let peer: SocketAddr = peer.parse().unwrap();
    let req = Request::get(path)
        .extension(PeerAddr(peer))
        .body(())
        .unwrap();
    let resp = p.handle(req).await;
    let status = resp.status();
    let cc = resp
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.into_body().collect_bytes().await;
    (status, cc, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn valid_tokens_are_stripped_and_bad_ones_refused() {
    let (p, recorder, key) = setup();
    let claims = |prefix: &str, exp: u64, client: Option<&str>| TokenClaims {
        prefix: prefix.into(),
        expires_at_s: exp,
        client: client.map(|c| c.parse().unwrap()),
    };
    let good = sign(&key, &claims("/live/ch/", now_s() + 60, None));
    let (status, _, body) = get(
        &p,
        &format!("/t/{good}/live/ch/video0/seg1.m4s"),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body, "/live/ch/video0/seg1.m4s",
        "the upstream sees no token"
    );

    let bound = sign(&key, &claims("/live/ch/", now_s() + 60, Some("10.0.0.7")));
    let (status, _, _) = get(&p, &format!("/t/{bound}/live/ch/a.m4s"), "10.0.0.7:5").await;
    assert_eq!(status, StatusCode::OK);

    let expired = sign(&key, &claims("/live/ch/", now_s() - 1, None));
    let other_key = sign(
        &SigningKey::from_bytes(&[1u8; 32]),
        &claims("/live/", now_s() + 60, None),
    );
    let cases = [
        (
            "/live/ch/video0/seg1.m4s".to_string(),
            "127.0.0.1:1",
            "required",
        ),
        (
            format!("/t/{expired}/live/ch/x.m4s"),
            "127.0.0.1:1",
            "expired",
        ),
        (
            format!("/t/{good}/live/other/x.m4s"),
            "127.0.0.1:1",
            "does not cover",
        ),
        (
            format!("/t/{other_key}/live/ch/x.m4s"),
            "127.0.0.1:1",
            "signature",
        ),
        (
            format!("/t/{bound}/live/ch/x.m4s"),
            "10.0.0.8:5",
            "client address",
        ),
        (
            "/t/garbage/live/ch/x.m4s".to_string(),
            "127.0.0.1:1",
            "malformed",
        ),
    ];
    let seen_before = recorder.0.lock().unwrap().len();
    for (path, peer, why) in cases {
        let (status, cc, body) = get(&p, &path, peer).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(cc, "no-store", "{path}");
        assert!(body.contains(why), "{path}: {body}");
    }
    assert_eq!(
        recorder.0.lock().unwrap().len(),
        seen_before,
        "refused requests never reach the upstream"
    );

    let (status, _, _) = get(&p, "/healthz", "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::OK, "unprotected paths need no token");
}
