//! Unit tests of `assets`.

use super::*;
use std::sync::Arc;

use crate::catalog::asset_store::new_asset_id;
use crate::catalog::{AssetMedia, AssetOrigin, Catalog, NewAsset};

fn body(r: &UpstreamResponse) -> serde_json::Value {
    match &r.body {
        edge::upstream::UpstreamBody::Full(b) if b.is_empty() => serde_json::Value::Null,
        edge::upstream::UpstreamBody::Full(b) => serde_json::from_slice(b).unwrap(),
        _ => panic!("a full body"),
    }
}

async fn api(data_dir: &std::path::Path) -> ControlApi {
    let catalog = Catalog::open("sqlite://catalog.db", data_dir)
        .await
        .unwrap();
    let registry = prometheus::Registry::new();
    ControlApi::new(
        catalog,
        Arc::new(crate::channels::Channels::new(
            &crate::config::PackagingConfig::default(),
        )),
        &["k".to_owned()],
        Arc::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32])),
        Arc::new(crate::chat::Chat::new(
            Arc::new(crate::chat::fanout::InProcess::default()),
            crate::chat::ChatMetrics::register(&registry).unwrap(),
        )),
    )
    .with_data_dir(data_dir)
}

async fn asset(api: &ControlApi, title: &str) -> String {
    let id = new_asset_id();
    api.catalog
        .create_asset(NewAsset {
            id: id.clone(),
            title: title.into(),
            description: String::new(),
            tags: vec!["t".into()],
            source_name: "s.mp4".into(),
            size_bytes: 10,
            origin: AssetOrigin::Upload,
            channel: None,
            status: AssetStatus::Uploaded,
        })
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn the_public_sees_ready_assets_and_admins_see_progress() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path()).await;
    let ready = asset(&api, "Ready one").await;
    let busy = asset(&api, "Busy one").await;
    api.catalog
        .update_asset_media(
            &ready,
            AssetMedia {
                duration_s: Some(30.0),
                renditions_json: Some("[{\"name\":\"720p\"}]".into()),
                ..AssetMedia::default()
            },
        )
        .await
        .unwrap();
    api.catalog
        .set_asset_status(&ready, AssetStatus::Ready, None)
        .await
        .unwrap();
    api.catalog.enqueue_job(&busy).await.unwrap();
    let job = api.catalog.claim_job().await.unwrap().unwrap();
    api.catalog
        .job_progress(&job.id, 40.0, Some(12.0))
        .await
        .unwrap();
    api.catalog
        .set_asset_status(&busy, AssetStatus::Processing, None)
        .await
        .unwrap();

    let public = body(&list(&api, None, false).await);
    assert_eq!(public["assets"].as_array().unwrap().len(), 1);
    assert_eq!(public["assets"][0]["id"], ready.as_str());
    let all = body(&list(&api, Some("limit=10"), true).await);
    assert_eq!(all["assets"].as_array().unwrap().len(), 2);
    let hidden = body(&list(&api, Some("status=processing"), false).await);
    assert_eq!(hidden["assets"].as_array().unwrap().len(), 0);
    let found = body(&list(&api, Some("q=busy&status=processing"), true).await);
    assert_eq!(found["assets"][0]["id"], busy.as_str());
    assert_eq!(
        list(&api, Some("status=nope"), true).await.status,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(get(&api, &busy, false).await.status, StatusCode::NOT_FOUND);
    let b = body(&get(&api, &busy, true).await);
    assert_eq!(b["status"], "processing");
    assert_eq!(b["job"]["state"], "running");
    assert_eq!(b["job"]["progress_percent"], 40.0);
    assert_eq!(b["job"]["eta_s"], 12.0);
    assert!(b.get("urls").is_none());
    let r = body(&get(&api, &ready, false).await);
    assert_eq!(r["urls"]["hls"], format!("/vod/{ready}/master.m3u8"));
    assert_eq!(r["urls"]["dash"], format!("/vod/{ready}/manifest.mpd"));
    assert_eq!(r["renditions"][0]["name"], "720p");
    assert_eq!(r["duration_s"], 30.0);
    assert_eq!(
        get(&api, "../../etc", true).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn views_are_counted_once_per_address_and_asset() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path()).await;
    let id = asset(&api, "Watched").await;
    let a: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let b: SocketAddr = "192.0.2.2:5000".parse().unwrap();
    // Not ready: not countable.
    assert_eq!(
        count_view(&api, &id, Some(a)).await.status,
        StatusCode::NOT_FOUND
    );
    api.catalog
        .set_asset_status(&id, AssetStatus::Ready, None)
        .await
        .unwrap();
    let first = count_view(&api, &id, Some(a)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(body(&first)["views"], 1);
    for _ in 0..5 {
        // Another port of the same address is the same client.
        let again = count_view(&api, &id, Some("192.0.2.1:6000".parse().unwrap())).await;
        assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(body(&count_view(&api, &id, Some(b)).await)["views"], 2);
    assert_eq!(api.catalog.asset(&id).await.unwrap().unwrap().views, 2);
}

#[tokio::test]
async fn edits_are_validated_and_deletes_remove_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(dir.path()).await;
    let id = asset(&api, "Old").await;
    let json_body = |s: &str| {
        Some(RequestBody::new(http_body_util::Full::new(
            bytes::Bytes::from(s.to_owned()),
        )))
    };
    let bad = edit(&api, &id, json_body(r#"{"tags":["50%"]}"#)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let empty = edit(&api, &id, json_body(r#"{"title":"  "}"#)).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let ok = edit(&api, &id, json_body(r#"{"title":"New","tags":["A","b"]}"#)).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(body(&ok)["tags"], serde_json::json!(["a", "b"]));
    let files = dir.path().join("vod").join(&id);
    std::fs::create_dir_all(files.join("720p")).unwrap();
    std::fs::write(files.join("source"), b"x").unwrap();
    assert_eq!(delete(&api, &id).await.status, StatusCode::NO_CONTENT);
    assert!(!files.exists());
    assert_eq!(delete(&api, &id).await.status, StatusCode::NOT_FOUND);
}

#[test]
fn query_strings_are_form_decoded() {
    assert_eq!(
        query_params(Some("q=live+music%21&tag=caf%C3%A9&limit=5&x")),
        vec![
            ("q".to_owned(), "live music!".to_owned()),
            ("tag".to_owned(), "café".to_owned()),
            ("limit".to_owned(), "5".to_owned()),
            ("x".to_owned(), String::new()),
        ]
    );
    assert_eq!(decode("100%"), "100%");
    assert_eq!(decode("%zz"), "%zz");
    assert!(query_params(None).is_empty());
}
