//! The catalog against SQLite (a file in a temp data dir) and PostgreSQL (a fresh
//! database on the server named by `FERROCAST_TEST_POSTGRES_URL`, which `./dev test`
//! starts on loopback). Without that variable the PostgreSQL half is skipped with a
//! message, unless `FERROCAST_REQUIRE_POSTGRES=1`, which makes it fail.

mod common;

use common::TestDb;
use std::sync::Arc;

use origin::catalog::{CatalogError, ChannelUpdate, NewChannel, Playback};
use origin::config::ChannelConfig;

fn new_channel(name: &str) -> NewChannel {
    NewChannel {
        name: name.into(),
        title: format!("Title of {name}"),
        playback: Playback::Public,
        stream_key: None,
        ladder: false,
        record: false,
    }
}

both_backends!(crud_and_stream_keys);
async fn crud_and_stream_keys(db_ref: &TestDb) {
    let catalog = db_ref.open().await;
    let (a, key_a) = catalog
        .create_channel(new_channel("alpha"), 1_000)
        .await
        .unwrap();
    assert_eq!(a.name, "alpha");
    assert_eq!(a.created_ms, 1_000);
    assert_eq!(key_a.len(), 32);
    let (_, key_b) = catalog
        .create_channel(new_channel("beta"), 2_000)
        .await
        .unwrap();
    assert_ne!(key_a, key_b);

    assert!(matches!(
        catalog.create_channel(new_channel("alpha"), 3_000).await,
        Err(CatalogError::ChannelExists(n)) if n == "alpha"
    ));
    let same_key = NewChannel {
        stream_key: Some(key_b.clone()),
        ..new_channel("gamma")
    };
    assert!(matches!(
        catalog.create_channel(same_key, 3_000).await,
        Err(CatalogError::StreamKeyTaken)
    ));

    let names: Vec<_> = catalog
        .channels()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(catalog.channel("alpha").await.unwrap().unwrap(), a);
    assert!(catalog.channel("nope").await.unwrap().is_none());

    assert_eq!(
        catalog
            .channel_for_stream_key(&key_a)
            .await
            .unwrap()
            .unwrap()
            .name,
        "alpha"
    );
    assert!(catalog
        .channel_for_stream_key("wrong-key")
        .await
        .unwrap()
        .is_none());

    let updated = catalog
        .update_channel(
            "alpha",
            ChannelUpdate {
                title: Some("Renamed".into()),
                playback: Some(Playback::Token),
                chat_anonymous: Some(false),
                ladder: Some(true),
                record: Some(true),
            },
            5_000,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.playback),
        ("Renamed", Playback::Token)
    );
    assert_eq!((updated.created_ms, updated.updated_ms), (1_000, 5_000));
    assert!(!updated.chat_anonymous);
    assert!(
        updated.ladder && updated.record,
        "ladder and record are stored"
    );
    assert!(!a.ladder && !a.record, "both are off unless asked for");
    assert!(a.chat_anonymous, "anonymous chat is allowed by default");
    let partial = catalog
        .update_channel(
            "alpha",
            ChannelUpdate {
                title: Some("Again".into()),
                ..ChannelUpdate::default()
            },
            6_000,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(partial.playback, Playback::Token, "an absent field is kept");
    assert!(!partial.chat_anonymous, "an absent field is kept");
    assert!(catalog
        .update_channel("nope", ChannelUpdate::default(), 1)
        .await
        .unwrap()
        .is_none());

    let rotated = catalog
        .rotate_stream_key("alpha", 7_000)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(rotated, key_a);
    assert!(
        catalog
            .channel_for_stream_key(&key_a)
            .await
            .unwrap()
            .is_none(),
        "old key revoked"
    );
    assert_eq!(
        catalog
            .channel_for_stream_key(&rotated)
            .await
            .unwrap()
            .unwrap()
            .name,
        "alpha"
    );
    assert!(catalog
        .rotate_stream_key("nope", 1)
        .await
        .unwrap()
        .is_none());

    assert!(catalog.delete_channel("beta").await.unwrap());
    assert!(!catalog.delete_channel("beta").await.unwrap());
    assert!(catalog
        .channel_for_stream_key(&key_b)
        .await
        .unwrap()
        .is_none());
    catalog.close().await;
}

both_backends!(a_restart_keeps_everything_and_bootstrap_keeps_rotated_keys);
async fn a_restart_keeps_everything_and_bootstrap_keeps_rotated_keys(db_ref: &TestDb) {
    let boot = [ChannelConfig {
        name: "boot".into(),
        stream_key: "configured-key-1".into(),
        ladder: Some(true),
        record: true,
    }];
    let catalog = db_ref.open().await;
    assert_eq!(catalog.bootstrap(&boot, 1).await.unwrap(), ["boot"]);
    assert_eq!(
        catalog
            .channel_for_stream_key("configured-key-1")
            .await
            .unwrap()
            .unwrap()
            .name,
        "boot"
    );
    let booted = catalog.channel("boot").await.unwrap().unwrap();
    assert!(
        booted.ladder && booted.record,
        "[[channels]] flags are bootstrapped"
    );
    let rotated = catalog.rotate_stream_key("boot", 2).await.unwrap().unwrap();
    catalog
        .create_channel(new_channel("other"), 3)
        .await
        .unwrap();
    catalog.close().await;

    let reopened = db_ref.open().await;
    assert!(
        reopened.bootstrap(&boot, 4).await.unwrap().is_empty(),
        "already there"
    );
    assert!(
        reopened
            .channel_for_stream_key("configured-key-1")
            .await
            .unwrap()
            .is_none(),
        "the catalog, not the config, holds the key after bootstrap"
    );
    assert_eq!(
        reopened
            .channel_for_stream_key(&rotated)
            .await
            .unwrap()
            .unwrap()
            .name,
        "boot"
    );
    assert_eq!(reopened.channels().await.unwrap().len(), 2);
    reopened.close().await;
}

both_backends!(concurrent_writes_lose_nothing);
async fn concurrent_writes_lose_nothing(db_ref: &TestDb) {
    let catalog = Arc::new(db_ref.open().await);
    catalog
        .create_channel(new_channel("shared"), 0)
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40i64 {
        let c = catalog.clone();
        tasks.spawn(async move {
            c.create_channel(new_channel(&format!("ch-{i:02}")), i)
                .await
                .unwrap();
            let update = if i % 2 == 0 {
                ChannelUpdate {
                    title: Some(format!("title {i}")),
                    ..ChannelUpdate::default()
                }
            } else {
                ChannelUpdate {
                    playback: Some(Playback::Token),
                    ..ChannelUpdate::default()
                }
            };
            c.update_channel("shared", update, i)
                .await
                .unwrap()
                .unwrap();
            c.rotate_stream_key(&format!("ch-{i:02}"), i)
                .await
                .unwrap()
                .unwrap()
        });
    }
    let mut keys = Vec::new();
    while let Some(key) = tasks.join_next().await {
        keys.push(key.unwrap());
    }
    assert_eq!(catalog.channels().await.unwrap().len(), 41);
    for key in &keys {
        assert!(catalog.channel_for_stream_key(key).await.unwrap().is_some());
    }
    let shared = catalog.channel("shared").await.unwrap().unwrap();
    assert_eq!(
        shared.playback,
        Playback::Token,
        "odd writers set token; none lost"
    );
    assert!(
        shared.title.starts_with("title "),
        "an even writer's title: {}",
        shared.title
    );
    catalog.close().await;
}

both_backends!(webhook_subscriptions);
async fn webhook_subscriptions(db_ref: &TestDb) {
    let catalog = db_ref.open().await;
    let events = vec!["stream.started".to_owned(), "stream.ended".to_owned()];
    let a = catalog
        .create_webhook("http://127.0.0.1:9/a", &events, 1)
        .await
        .unwrap();
    let b = catalog
        .create_webhook("https://example.test/b", &events[..1], 2)
        .await
        .unwrap();
    assert_ne!(a.id, b.id);
    assert_ne!(a.secret, b.secret);
    assert_eq!(a.secret.len(), 32);
    let all = catalog.webhooks().await.unwrap();
    assert_eq!(all, vec![a.clone(), b.clone()]);
    assert_eq!(all[0].events, events);
    assert!(catalog.delete_webhook(&a.id).await.unwrap());
    assert!(!catalog.delete_webhook(&a.id).await.unwrap());
    assert_eq!(catalog.webhooks().await.unwrap(), vec![b]);
    catalog.close().await;
}
