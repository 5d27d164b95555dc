//! Unit tests of `handlers`.

use super::*;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use crate::catalog::{AssetQuery, Catalog, JobState};
use crate::config::UploadsConfig;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn field_of<'a>(r: &'a UpstreamResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_catalog_failure_leaves_no_asset_and_a_later_head_finishes_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open("sqlite://c.db", dir.path()).await.unwrap();
    let jobs = Arc::new(tokio::sync::Notify::new());
    let uploads = Uploads::new(
        &UploadsConfig::default(),
        dir.path(),
        catalog.clone(),
        &["k".to_owned()],
        jobs.clone(),
        &prometheus::Registry::new(),
    )
    .unwrap();
    let created = uploads
        .create(&headers(&[
            ("upload-length", "5"),
            ("upload-metadata", "title Y2F0cw=="),
        ]))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = field_of(&created, "location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    // The job table is gone: the asset cannot get its job, so there is no asset.
    sqlx::query("ALTER TABLE jobs RENAME TO jobs_away")
        .execute(catalog.pool())
        .await
        .unwrap();
    let patch = headers(&[
        ("content-type", tus::OFFSET_OCTET_STREAM),
        ("upload-offset", "0"),
    ]);
    let body = RequestBody::new(http_body_util::Full::new(Bytes::from_static(b"hello")));
    let r = uploads.patch(&id, &patch, Some(body)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(field_of(&r, "upload-offset"), Some("5"));
    let everything = AssetQuery {
        limit: 10,
        ..AssetQuery::default()
    };
    assert!(catalog
        .list_assets(everything.clone())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path().join("vod")).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read(dir.path().join("uploads").join(format!("{id}.part"))).unwrap(),
        b"hello"
    );
    assert_eq!(
        uploads.head(&id).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Back: the client's next HEAD (offset = length, so it sends nothing more)
    // makes the asset.
    sqlx::query("ALTER TABLE jobs_away RENAME TO jobs")
        .execute(catalog.pool())
        .await
        .unwrap();
    let head = uploads.head(&id).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(field_of(&head, "upload-offset"), Some("5"));
    let asset = field_of(&head, ASSET_HEADER).unwrap().to_owned();
    let assets = catalog.list_assets(everything).await.unwrap();
    assert_eq!(assets.len(), 1);
    assert_eq!(
        (assets[0].id.as_str(), assets[0].title.as_str()),
        (asset.as_str(), "cats")
    );
    assert_eq!(
        std::fs::read(dir.path().join("vod").join(&asset).join("source")).unwrap(),
        b"hello"
    );
    let queued = catalog.jobs_for_asset(&asset).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].state, JobState::Queued);
    tokio::time::timeout(Duration::from_secs(1), jobs.notified())
        .await
        .expect("the runner was notified");
    // A repeated last PATCH names the same asset and makes no other.
    let again = uploads
        .patch(
            &id,
            &headers(&[
                ("content-type", tus::OFFSET_OCTET_STREAM),
                ("upload-offset", "5"),
            ]),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    assert_eq!(field_of(&again, ASSET_HEADER), Some(asset.as_str()));
    assert_eq!(catalog.jobs_for_asset(&asset).await.unwrap().len(), 1);
}

#[test]
fn metadata_gives_title_description_and_tags() {
    let mut m = BTreeMap::new();
    m.insert("filename".to_owned(), "clip.mp4".to_owned());
    m.insert("tags".to_owned(), "Cats, funny ,".to_owned());
    let (title, description, tags) = describe(&m).unwrap();
    assert_eq!((title.as_str(), description.as_str()), ("clip.mp4", ""));
    assert_eq!(tags, ["cats", "funny"]);
    m.insert("title".to_owned(), "My cats".to_owned());
    assert_eq!(describe(&m).unwrap().0, "My cats");
    m.insert("tags".to_owned(), "50%".to_owned());
    assert!(describe(&m).is_err());
    assert_eq!(describe(&BTreeMap::new()).unwrap().0, "Untitled");
}

#[test]
fn only_unfinished_uploads_expire() {
    let mut info = UploadInfo {
        length: 1,
        metadata: BTreeMap::new(),
        created_ms: 0,
        expires_ms: 100,
        asset: None,
    };
    assert!(!expired(&info, 99));
    assert!(expired(&info, 100));
    info.asset = Some("a".into());
    assert!(!expired(&info, 1000));
}
