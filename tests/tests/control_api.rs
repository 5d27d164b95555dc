//! # Control plane REST API against a real origin
//!
//! `ferrocast-origin` with an admin key, on SQLite (default) and on PostgreSQL (the
//! throwaway server `./dev test` starts; skipped with a message when
//! `FERROCAST_TEST_POSTGRES_URL` is unset, failing when `FERROCAST_REQUIRE_POSTGRES=1`):
//!
//! - `/api/v1/openapi.json` is served;
//! - a token-required channel answers 403 without a token, for another channel or
//!   expired, at the origin and through an edge holding the public key, and plays
//!   with a token minted by `POST /api/v1/tokens`;
//! - writes without a key, or with a wrong one, get 401; malformed JSON, unknown
//!   fields and bad names 400 with a message; unknown channels 404; a duplicate 409;
//! - a channel created through the API takes an ffmpeg publisher (its codecs,
//!   resolution and bitrate then show in the API) with the key the
//!   API returned and shows `live: true`; its playlist is served;
//! - kick (the publisher is disconnected; 409 when nobody publishes), update, key rotation (the old key stops working) and delete;
//! - after repeated wrong keys from one address, even the right key is refused for
//!   a while (the log says why).

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};
use tests::edge::{Edge, EdgeConfig};
use tests::http;
use tests::origin::{Origin, OriginConfig};
use tests::publisher::{PublishOptions, Publisher};

const ADMIN_KEY: &str = "test-admin-key-0123456789";

use tests::http::api_call as call;

fn expect(got: (u16, Value), status: u16, what: &str) -> Result<Value> {
    ensure!(
        got.0 == status,
        "{what}: expected {status}, got {} {}",
        got.0,
        got.1
    );
    if status >= 400 {
        ensure!(
            got.1["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: error without a message: {}",
            got.1
        );
    }
    Ok(got.1)
}

fn scenario(extra_toml: String, suffix: &str) -> Result<()> {
    let origin = Origin::start(OriginConfig {
        extra_toml,
        ..OriginConfig::default()
    })?;
    let api = |p: &str| origin.url(&format!("/api/v1/{p}"));
    let name = format!("api-{suffix}");
    let create = json!({ "name": name, "title": "Made by the API" }).to_string();

    // The OpenAPI document is served.
    let doc = expect(
        call("GET", &api("openapi.json"), None, None)?,
        200,
        "openapi",
    )?;
    ensure!(
        doc["openapi"] == "3.1.0" && doc["paths"]["/channels"].is_object(),
        "{doc}"
    );

    // Authentication and validation.
    expect(
        call("POST", &api("channels"), None, Some(&create))?,
        401,
        "no key",
    )?;
    expect(
        call("POST", &api("channels"), Some("wrong-key"), Some(&create))?,
        401,
        "wrong key",
    )?;
    let bad = expect(
        call(
            "POST",
            &api("channels"),
            Some(ADMIN_KEY),
            Some("{\"name\": "),
        )?,
        400,
        "malformed JSON",
    )?;
    ensure!(
        bad["error"]
            .as_str()
            .unwrap_or("")
            .contains("malformed JSON"),
        "message: {bad}"
    );
    expect(
        call(
            "POST",
            &api("channels"),
            Some(ADMIN_KEY),
            Some(r#"{"name":"x","colour":"red"}"#),
        )?,
        400,
        "unknown field",
    )?;
    expect(
        call(
            "POST",
            &api("channels"),
            Some(ADMIN_KEY),
            Some(r#"{"name":"a b"}"#),
        )?,
        400,
        "bad name",
    )?;
    expect(
        call("GET", &api("channels/no-such-channel"), None, None)?,
        404,
        "unknown channel",
    )?;
    expect(
        call(
            "PATCH",
            &api("channels/no-such-channel"),
            Some(ADMIN_KEY),
            Some("{}"),
        )?,
        404,
        "patch unknown",
    )?;
    expect(
        call(
            "DELETE",
            &api("channels/no-such-channel"),
            Some(ADMIN_KEY),
            None,
        )?,
        404,
        "delete unknown",
    )?;
    expect(
        call("GET", &api("nothing-here"), None, None)?,
        404,
        "unknown route",
    )?;
    expect(
        call("PUT", &api("channels"), Some(ADMIN_KEY), Some("{}"))?,
        405,
        "method",
    )?;

    // Create, then publish with the key the API returned.
    let created = expect(
        call("POST", &api("channels"), Some(ADMIN_KEY), Some(&create))?,
        201,
        "create",
    )?;
    let key = created["stream_key"]
        .as_str()
        .context("stream_key in the answer")?
        .to_owned();
    ensure!(
        created["name"] == name.as_str() && created["playback"] == "public",
        "{created}"
    );
    expect(
        call("POST", &api("channels"), Some(ADMIN_KEY), Some(&create))?,
        409,
        "duplicate",
    )?;
    let listed = expect(call("GET", &api("channels"), None, None)?, 200, "list")?;
    let entry = listed["channels"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name.as_str()))
        .context("the new channel in the list")?;
    ensure!(
        entry.get("stream_key").is_none(),
        "a listed channel must not show its key"
    );
    ensure!(entry["live"] == false, "{entry}");

    let opts = PublishOptions::default().with_gop_s(1.0);
    let mut publisher =
        Publisher::start(&origin.rtmp_url(&key), &opts, origin.dir(), "api-publisher")?;
    let master = origin.live_url(&name, "master.m3u8");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http::get(&master).map(|r| r.status == 200).unwrap_or(false) {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "no playlist for the API channel: {}",
            publisher.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let read = expect(
        call("GET", &api(&format!("channels/{name}")), None, None)?,
        200,
        "read",
    )?;
    ensure!(read["live"] == true, "live while publishing: {read}");

    // Token-required playback, at the origin and through an edge that has the key.
    let public = expect(
        call("GET", &api("tokens/public-key"), None, None)?,
        200,
        "public key",
    )?;
    let public_key = public["public_key"]
        .as_str()
        .context("public_key")?
        .to_owned();
    let edge = Edge::start(EdgeConfig {
        public_key: Some(public_key),
        ..EdgeConfig::new(vec![origin.url("")])
    })?;
    let master_path = format!("/live/{name}/master.m3u8");
    let status = |url: &str| http::get(url).map(|r| r.status).unwrap_or(0);
    ensure!(
        status(&origin.url(&master_path)) == 200,
        "public before the switch"
    );
    expect(
        call(
            "PATCH",
            &api(&format!("channels/{name}")),
            Some(ADMIN_KEY),
            Some(r#"{"playback":"token"}"#),
        )?,
        200,
        "to token playback",
    )?;
    ensure!(
        status(&origin.url(&master_path)) == 403,
        "origin without a token"
    );
    ensure!(
        status(&edge.url(&master_path)) == 403,
        "edge without a token"
    );
    let mint = |body: &str| call("POST", &api("tokens"), Some(ADMIN_KEY), Some(body));
    expect(
        call("POST", &api("tokens"), None, Some("{}"))?,
        401,
        "mint without key",
    )?;
    expect(
        mint(&format!(r#"{{"channel":"{name}","prefix":"/live/"}}"#))?,
        400,
        "both channel and prefix",
    )?;
    let minted = expect(mint(&format!(r#"{{"channel":"{name}"}}"#))?, 201, "mint")?;
    let with_token = format!(
        "{}{master_path}",
        minted["path_prefix"].as_str().context("path_prefix")?
    );
    let r = http::get(&origin.url(&with_token))?;
    ensure!(r.status == 200, "origin with a token: {}", r.summary());
    let r = http::get(&edge.url(&with_token))?;
    ensure!(r.status == 200, "edge with a token: {}", r.summary());
    let variant = r
        .text()
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_owned);
    let variant = variant.context("a variant in the multivariant playlist")?;
    let media = http::resolve(&edge.url(&with_token), &variant);
    let r = http::get(&media)?;
    ensure!(
        r.status == 200,
        "edge media playlist with the token (relative URI): {}",
        r.summary()
    );
    let other = expect(
        mint(r#"{"channel":"some-other-channel"}"#)?,
        201,
        "mint other",
    )?;
    let wrong = format!(
        "{}{master_path}",
        other["path_prefix"].as_str().unwrap_or("")
    );
    ensure!(
        status(&origin.url(&wrong)) == 403,
        "token for another channel at the origin"
    );
    ensure!(
        status(&edge.url(&wrong)) == 403,
        "token for another channel at the edge"
    );
    let short = expect(
        mint(&format!(r#"{{"channel":"{name}","expires_in_s":1}}"#))?,
        201,
        "mint short",
    )?;
    let expired = format!(
        "{}{master_path}",
        short["path_prefix"].as_str().unwrap_or("")
    );
    std::thread::sleep(Duration::from_millis(2_100));
    ensure!(
        status(&origin.url(&expired)) == 403,
        "expired token at the origin"
    );
    ensure!(
        status(&edge.url(&expired)) == 403,
        "expired token at the edge"
    );
    ensure!(
        status(&origin.url(&format!("/t/garbage{master_path}"))) == 403,
        "garbage token"
    );
    expect(
        call(
            "PATCH",
            &api(&format!("channels/{name}")),
            Some(ADMIN_KEY),
            Some(r#"{"playback":"public"}"#),
        )?,
        200,
        "back to public",
    )?;
    ensure!(status(&origin.url(&master_path)) == 200, "public again");
    // What the publisher sends, as the API reports it (a few seconds in by now).
    let stats = expect(
        call("GET", &api(&format!("channels/{name}")), None, None)?,
        200,
        "stats",
    )?;
    let tracks = stats["ingest"]["tracks"]
        .as_array()
        .context("ingest tracks while live")?;
    ensure!(
        tracks.iter().any(
            |t| t["codec"].as_str().is_some_and(|c| c.starts_with("avc1"))
                && t["width"] == 640
                && t["height"] == 360
        ),
        "a 640x360 H.264 track: {stats}"
    );
    ensure!(
        tracks
            .iter()
            .any(|t| t["codec"].as_str().is_some_and(|c| c.starts_with("mp4a"))),
        "an AAC track: {stats}"
    );
    let bitrate = stats["ingest"]["bitrate_bps"].as_u64().unwrap_or(0);
    ensure!(
        (10_000..50_000_000).contains(&bitrate),
        "a plausible ingest bitrate: {stats}"
    );

    // Kick: the publisher is disconnected (ffmpeg exits), the channel is no longer live.
    let kicked = expect(
        call(
            "POST",
            &api(&format!("channels/{name}/kick")),
            Some(ADMIN_KEY),
            None,
        )?,
        200,
        "kick",
    )?;
    ensure!(kicked["kicked"] == true, "{kicked}");
    ensure!(
        publisher.wait_exit(Duration::from_secs(15))?.is_some(),
        "a kicked publisher is disconnected"
    );
    let after = expect(
        call("GET", &api(&format!("channels/{name}")), None, None)?,
        200,
        "read after kick",
    )?;
    ensure!(after["live"] == false, "not live after the kick: {after}");
    expect(
        call(
            "POST",
            &api(&format!("channels/{name}/kick")),
            Some(ADMIN_KEY),
            None,
        )?,
        409,
        "kick with nobody publishing",
    )?;
    expect(
        call(
            "POST",
            &api("channels/no-such-channel/kick"),
            Some(ADMIN_KEY),
            None,
        )?,
        404,
        "kick unknown",
    )?;
    publisher.kill()?;

    // Update, rotate, delete.
    let patched = expect(
        call(
            "PATCH",
            &api(&format!("channels/{name}")),
            Some(ADMIN_KEY),
            Some(r#"{"playback":"token"}"#),
        )?,
        200,
        "patch",
    )?;
    ensure!(
        patched["playback"] == "token" && patched["title"] == "Made by the API",
        "{patched}"
    );
    let rotated = expect(
        call(
            "POST",
            &api(&format!("channels/{name}/rotate-key")),
            Some(ADMIN_KEY),
            None,
        )?,
        200,
        "rotate",
    )?;
    let new_key = rotated["stream_key"].as_str().context("new key")?;
    ensure!(new_key != key && new_key.len() >= 32, "{rotated}");
    let log_from = origin.log().len();
    let mut old = Publisher::start(&origin.rtmp_url(&key), &opts, origin.dir(), "old-key")?;
    let exited = old.wait_exit(Duration::from_secs(20))?;
    ensure!(
        exited.is_some(),
        "a publisher with the rotated-out key must be refused"
    );
    let log = origin.log_since(log_from);
    ensure!(log.contains("publish rejected"), "the log says why: {log}");
    ensure!(!log.contains(&key), "the log must not print the key");

    // Repeated wrong keys from one address: after the allowed failures even the
    // right key is refused for a while, without a catalog lookup.
    for i in 0..5 {
        let url = origin.rtmp_url("not-a-valid-key");
        let mut wrong = Publisher::start(&url, &opts, origin.dir(), &format!("wrong-{i}"))?;
        ensure!(
            wrong.wait_exit(Duration::from_secs(20))?.is_some(),
            "wrong key {i} refused"
        );
    }
    let log_from = origin.log().len();
    let mut right = Publisher::start(
        &origin.rtmp_url(new_key),
        &opts,
        origin.dir(),
        "right-after-wrong",
    )?;
    ensure!(
        right.wait_exit(Duration::from_secs(20))?.is_some(),
        "the address is rate-limited after repeated wrong keys"
    );
    let log = origin.log_since(log_from);
    ensure!(
        log.contains("too many wrong stream keys"),
        "the log says why: {log}"
    );

    expect(
        call(
            "DELETE",
            &api(&format!("channels/{name}")),
            Some(ADMIN_KEY),
            None,
        )?,
        204,
        "delete",
    )?;
    expect(
        call("GET", &api(&format!("channels/{name}")), None, None)?,
        404,
        "deleted",
    )?;
    Ok(())
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{}", std::process::id(), nanos % 1_000_000_000)
}

#[test]
fn rest_api_on_sqlite() {
    let extra = format!("[api]\nadmin_keys = [{ADMIN_KEY:?}]\n");
    scenario(extra, &unique_suffix()).unwrap();
}

#[test]
fn rest_api_on_postgres() {
    let Ok(url) = std::env::var("FERROCAST_TEST_POSTGRES_URL") else {
        assert_ne!(
            std::env::var("FERROCAST_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "FERROCAST_REQUIRE_POSTGRES=1 but FERROCAST_TEST_POSTGRES_URL is unset"
        );
        eprintln!("skipped: FERROCAST_TEST_POSTGRES_URL is unset (./dev test sets it)");
        return;
    };
    let extra = format!("[api]\nadmin_keys = [{ADMIN_KEY:?}]\n\n[database]\nurl = {url:?}\n");
    scenario(extra, &unique_suffix()).unwrap();
}
