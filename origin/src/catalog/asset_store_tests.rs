//! Unit tests of `asset_store`.

use super::*;

#[test]
fn ids_are_url_safe_and_checked() {
    let id = new_asset_id();
    assert!(is_asset_id(&id), "{id}");
    assert_ne!(id, new_asset_id());
    assert!(!is_asset_id("../etc/passwd"));
    assert!(!is_asset_id("ABCDEFGHIJKLMN"));
    assert!(!is_asset_id("short"));
}

#[test]
fn tags_are_normalised_and_never_patterns() {
    let raw = vec![
        " Cats ".into(),
        "cats".into(),
        "".into(),
        "live music".into(),
    ];
    assert_eq!(normalise_tags(&raw).unwrap(), vec!["cats", "live music"]);
    for bad in ["a,b", "100%", "a_b"] {
        assert!(normalise_tags(&[bad.into()]).is_err(), "{bad}");
    }
    let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
    assert!(normalise_tags(&many).is_err());
}

#[test]
fn fts5_queries_quote_every_word() {
    assert_eq!(
        fts5_query("cats AND \"dogs\" NEAR(x").as_deref(),
        Some("\"cats\" \"AND\" \"dogs\" \"NEAR\" \"x\"")
    );
    assert_eq!(fts5_query(" -- * "), None);
}
