//! Unit tests of `store`.

use super::*;

fn info(length: u64) -> UploadInfo {
    UploadInfo {
        length,
        metadata: BTreeMap::new(),
        created_ms: 1,
        expires_ms: 2,
        asset: None,
    }
}

#[tokio::test]
async fn the_offset_is_the_durable_length_of_the_part_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = UploadStore::new(dir.path()).unwrap();
    let id = store.create(&info(10)).await.unwrap();
    assert!(is_upload_id(&id));
    let g = store.lock(&id).await.unwrap();
    assert_eq!(store.read(&g).await.unwrap().unwrap(), (info(10), 0));
    let mut part = store.open_at(&g, 0).await.unwrap();
    part.write(b"hello").await.unwrap();
    assert_eq!(part.finish().await.0, 5);
    assert_eq!(store.read(&g).await.unwrap().unwrap().1, 5);
    // A second request waits for the first; the sweeper does not.
    assert!(store.try_lock(&id).is_none());
    drop(g);
    let g = store.try_lock(&id).unwrap();
    // Writing at an older offset cuts off what followed.
    let mut part = store.open_at(&g, 2).await.unwrap();
    part.write(b"LLO").await.unwrap();
    assert_eq!(part.finish().await.0, 5);
    assert_eq!(std::fs::read(store.part_path(&id)).unwrap(), b"heLLO");
    let source = store.move_to_asset(&g, "asset0000000").await.unwrap();
    assert_eq!(std::fs::read(&source).unwrap(), b"heLLO");
    store.move_back(&g, "asset0000000").await.unwrap();
    assert!(!store.asset_dir("asset0000000").exists());
    assert_eq!(store.list().await.unwrap(), vec![id.clone()]);
    store.remove(&g).await.unwrap();
    assert!(
        store.locks.lock().unwrap().is_empty(),
        "its lock is forgotten"
    );
    assert!(store.read(&g).await.unwrap().is_none());
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_full_disk_keeps_the_offset_at_what_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = UploadStore::new(dir.path()).unwrap();
    let id = store.create(&info(1 << 20)).await.unwrap();
    // /dev/full answers every write with ENOSPC.
    std::fs::remove_file(store.part_path(&id)).unwrap();
    std::os::unix::fs::symlink("/dev/full", store.part_path(&id)).unwrap();
    let g = store.lock(&id).await.unwrap();
    let mut part = store.open_at(&g, 0).await.unwrap();
    let first = part.write(&[7u8; 64 * 1024]).await;
    let (offset, error) = match first {
        Err(e) => (part.salvage().await, Some(e)),
        Ok(()) => part.finish().await,
    };
    let error = error.expect("writing to /dev/full fails");
    assert!(is_disk_full(&error), "{error:?}");
    assert_eq!(offset, 0);
}
