//! The VOD asset and job catalog (issue 7) against SQLite and, when
//! `FERROCAST_TEST_POSTGRES_URL` is set (`./dev test`), PostgreSQL: CRUD, full-text
//! search (FTS5 / tsvector) kept in step with edits and deletes, tag and status
//! filters, views, and the job queue's atomic claims and restart re-queueing.

mod common;

use common::TestDb;
use std::collections::HashSet;
use std::sync::Arc;

use origin::catalog::asset_store::new_asset_id;
use origin::catalog::{
    AssetMedia, AssetOrigin, AssetQuery, AssetStatus, AssetUpdate, Catalog, JobState, NewAsset,
};

fn new_asset(title: &str, description: &str, tags: &[&str]) -> NewAsset {
    NewAsset {
        id: new_asset_id(),
        title: title.into(),
        description: description.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        source_name: format!("{title}.mp4"),
        size_bytes: 1234,
        origin: AssetOrigin::Upload,
        channel: None,
        status: AssetStatus::Uploaded,
    }
}

fn query(q: Option<&str>, tag: Option<&str>, status: Option<AssetStatus>) -> AssetQuery {
    AssetQuery {
        q: q.map(str::to_owned),
        tag: tag.map(str::to_owned),
        status,
        limit: 50,
        offset: 0,
    }
}

async fn titles(catalog: &Catalog, q: AssetQuery) -> Vec<String> {
    let mut t: Vec<String> = catalog
        .list_assets(q)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.title)
        .collect();
    t.sort();
    t
}

both_backends!(assets_crud_search_and_views);
async fn assets_crud_search_and_views(db_ref: &TestDb) {
    let catalog = db_ref.open().await;
    let cats = catalog
        .create_asset(new_asset(
            "Cats playing",
            "Two kittens chase a laser",
            &["cats", "funny"],
        ))
        .await
        .unwrap();
    assert_eq!(cats.status, AssetStatus::Uploaded);
    assert_eq!(cats.tags, vec!["cats", "funny"]);
    assert_eq!(cats.views, 0);
    let concert = catalog
        .create_asset(new_asset(
            "Concert",
            "Live music from the harbour",
            &["music"],
        ))
        .await
        .unwrap();
    catalog
        .create_asset(new_asset("Cooking", "Bread, slowly", &[]))
        .await
        .unwrap();
    assert_eq!(catalog.asset(&cats.id).await.unwrap().unwrap(), cats);
    assert!(catalog.asset("nosuchasset00").await.unwrap().is_none());

    // Words from title, description and tags; stemming (cat ~ cats, chasing ~ chase).
    assert_eq!(
        titles(&catalog, query(Some("cat"), None, None)).await,
        ["Cats playing"]
    );
    assert_eq!(
        titles(&catalog, query(Some("chasing kittens"), None, None)).await,
        ["Cats playing"]
    );
    assert_eq!(
        titles(&catalog, query(Some("harbour"), None, None)).await,
        ["Concert"]
    );
    assert_eq!(
        titles(&catalog, query(Some("funny"), None, None)).await,
        ["Cats playing"]
    );
    // All words must match; operators in user text are just words.
    assert!(titles(&catalog, query(Some("cats harbour"), None, None))
        .await
        .is_empty());
    assert!(titles(&catalog, query(Some("\"unbalanced OR"), None, None))
        .await
        .is_empty());
    assert_eq!(titles(&catalog, query(None, None, None)).await.len(), 3);
    assert_eq!(
        titles(&catalog, query(Some("  "), None, None)).await.len(),
        3
    );
    // Tag and status filters, alone and with a search.
    assert_eq!(
        titles(&catalog, query(None, Some("music"), None)).await,
        ["Concert"]
    );
    assert_eq!(
        titles(&catalog, query(None, Some("Music "), None)).await,
        ["Concert"]
    );
    assert!(titles(&catalog, query(None, Some("mus"), None))
        .await
        .is_empty());
    assert!(titles(&catalog, query(None, Some("%"), None))
        .await
        .is_empty());
    assert!(catalog
        .set_asset_status(&concert.id, AssetStatus::Ready, None)
        .await
        .unwrap());
    assert_eq!(
        titles(&catalog, query(None, None, Some(AssetStatus::Ready))).await,
        ["Concert"]
    );
    assert!(titles(
        &catalog,
        query(Some("cats"), None, Some(AssetStatus::Ready))
    )
    .await
    .is_empty());
    // Paging: newest first.
    let page = catalog
        .list_assets(AssetQuery {
            limit: 2,
            offset: 1,
            ..AssetQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 2);

    // Edits are searchable at once, and the old words are gone.
    let edited = catalog
        .update_asset(
            &cats.id,
            AssetUpdate {
                title: Some("Dogs sleeping".into()),
                tags: Some(vec!["dogs".into()]),
                ..AssetUpdate::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.description, cats.description);
    assert_eq!(
        titles(&catalog, query(Some("dog"), None, None)).await,
        ["Dogs sleeping"]
    );
    assert!(titles(&catalog, query(Some("funny"), None, None))
        .await
        .is_empty());
    assert_eq!(
        titles(&catalog, query(None, Some("dogs"), None)).await,
        ["Dogs sleeping"]
    );
    assert!(catalog
        .update_asset("nosuchasset00", AssetUpdate::default())
        .await
        .unwrap()
        .is_none());

    // Media, failure reasons, views.
    let media = AssetMedia {
        duration_s: Some(30.04),
        width: Some(1280),
        height: Some(720),
        codecs: Some("avc1.64001f,mp4a.40.2".into()),
        renditions_json: Some("[{\"name\":\"720p\"}]".into()),
    };
    assert!(catalog
        .update_asset_media(&concert.id, media.clone())
        .await
        .unwrap());
    let stored = catalog.asset(&concert.id).await.unwrap().unwrap();
    assert_eq!(stored.duration_s, Some(30.04));
    assert_eq!((stored.width, stored.height), (Some(1280), Some(720)));
    assert_eq!(stored.renditions_json, media.renditions_json);
    assert!(catalog
        .set_asset_status(
            &cats.id,
            AssetStatus::Failed,
            Some("no video or audio stream")
        )
        .await
        .unwrap());
    assert_eq!(
        catalog
            .asset(&cats.id)
            .await
            .unwrap()
            .unwrap()
            .reason
            .as_deref(),
        Some("no video or audio stream")
    );
    assert_eq!(catalog.count_view(&concert.id).await.unwrap(), Some(1));
    assert_eq!(catalog.count_view(&concert.id).await.unwrap(), Some(2));
    assert_eq!(catalog.count_view("nosuchasset00").await.unwrap(), None);

    // Deleting removes the asset, its jobs and its search entry.
    catalog.enqueue_job(&cats.id).await.unwrap();
    assert!(catalog.delete_asset(&cats.id).await.unwrap());
    assert!(!catalog.delete_asset(&cats.id).await.unwrap());
    assert!(catalog.jobs_for_asset(&cats.id).await.unwrap().is_empty());
    assert!(titles(&catalog, query(Some("dogs"), None, None))
        .await
        .is_empty());
    assert_eq!(titles(&catalog, query(None, None, None)).await.len(), 2);

    // An asset with its job, in one transaction: both or neither.
    let (made, job) = catalog
        .create_asset_with_job(new_asset("With job", "", &[]))
        .await
        .unwrap();
    assert_eq!(
        (job.asset_id.as_str(), job.state),
        (made.id.as_str(), JobState::Queued)
    );
    let mut twice = new_asset("Same id", "", &[]);
    twice.id = made.id.clone();
    assert!(catalog.create_asset_with_job(twice).await.is_err());
    assert_eq!(catalog.jobs_for_asset(&made.id).await.unwrap().len(), 1);
    assert_eq!(
        catalog.asset(&made.id).await.unwrap().unwrap().title,
        "With job"
    );
    assert!(catalog.delete_asset(&made.id).await.unwrap());
    catalog.close().await;

    // The index survives a reopen (created once, not rebuilt empty).
    let catalog = db_ref.open().await;
    assert_eq!(
        titles(&catalog, query(Some("harbour"), None, None)).await,
        ["Concert"]
    );
    catalog.close().await;
}

both_backends!(jobs_are_claimed_once_and_requeued_after_a_restart);
async fn jobs_are_claimed_once_and_requeued_after_a_restart(db_ref: &TestDb) {
    let catalog = Arc::new(db_ref.open().await);
    let mut assets = Vec::new();
    for i in 0..6 {
        let a = catalog
            .create_asset(new_asset(&format!("a{i}"), "", &[]))
            .await
            .unwrap();
        let job = catalog.enqueue_job(&a.id).await.unwrap();
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(job.attempts, 0);
        assets.push(a.id);
    }
    // Twelve claimers race for six jobs: each job goes to exactly one of them.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let c = catalog.clone();
        tasks.spawn(async move { c.claim_job().await.unwrap() });
    }
    let mut claimed = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Some(job) = r.unwrap() {
            assert_eq!(job.state, JobState::Running);
            assert_eq!(job.attempts, 1);
            claimed.push(job);
        }
    }
    let ids: HashSet<&str> = claimed.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids.len(), claimed.len(), "no job claimed twice");
    // SQLite serialises the claims, so all six are taken; PostgreSQL's SKIP LOCKED
    // lets each claimer find a free job too.
    assert_eq!(claimed.len(), 6);
    assert!(catalog.claim_job().await.unwrap().is_none());

    let job = &claimed[0];
    assert!(catalog
        .job_progress(&job.id, 42.5, Some(12.0))
        .await
        .unwrap());
    let jobs = catalog.jobs_for_asset(&job.asset_id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].progress_percent, jobs[0].eta_s),
        (42.5, Some(12.0))
    );
    assert!(catalog.job_progress(&job.id, 250.0, None).await.unwrap());
    assert_eq!(
        catalog
            .job(&job.id)
            .await
            .unwrap()
            .unwrap()
            .progress_percent,
        100.0
    );
    assert!(catalog.finish_job(&job.id, true, None).await.unwrap());
    let failed = &claimed[1];
    assert!(catalog
        .finish_job(&failed.id, false, Some("not media"))
        .await
        .unwrap());
    let f = catalog.job(&failed.id).await.unwrap().unwrap();
    assert_eq!(
        (f.state, f.reason.as_deref()),
        (JobState::Failed, Some("not media"))
    );
    assert!(!catalog
        .finish_job("nosuchjob0000", true, None)
        .await
        .unwrap());
    catalog.close().await;

    // A restart: the four still running go back to the queue, finished ones stay.
    let catalog = db_ref.open().await;
    assert_eq!(catalog.requeue_running_jobs().await.unwrap(), 4);
    assert_eq!(
        catalog.job(&job.id).await.unwrap().unwrap().state,
        JobState::Done
    );
    let again = catalog.claim_job().await.unwrap().unwrap();
    assert_eq!(again.attempts, 2, "the attempt count shows the restart");
    assert_eq!(again.eta_s, None);
    catalog.close().await;
}
