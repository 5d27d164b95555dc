//! `/api/v1/tokens`: mint playback tokens, and publish the key that verifies them.
//!
//! | method and path | does | answers |
//! |---|---|---|
//! | `POST /tokens` `{"channel" \| "prefix", "expires_in_s"?, "client"?}` | mint | 201 `{"token", "prefix", "expires_at_s", "client", "path_prefix"}` |
//! | `GET /tokens/public-key` | the Ed25519 public key for `[auth] public_key` | 200 `{"public_key", "algorithm"}` |
//!
//! A token covers every path starting with its prefix until its expiry and, when
//! `client` is given, only for that address. Players use it as a path prefix:
//! `/t/{token}/live/{channel}/master.m3u8`.

use std::net::IpAddr;

use edge::pipeline::RequestBody;
use edge::token::{sign, TokenClaims};
use edge::upstream::UpstreamResponse;
use http::StatusCode;
use serde::Deserialize;

use super::json::{error, json, parse_body};
use super::ControlApi;
use crate::clock::now_ms;
use crate::config::is_valid_channel_name;
use crate::playback_signing::public_key_text;

/// Lifetime of a token when the request names none.
pub const DEFAULT_LIFETIME_S: u64 = 3_600;
/// Longest lifetime a token may be given (30 days).
pub const MAX_LIFETIME_S: u64 = 30 * 24 * 3_600;
/// Longest prefix accepted.
pub const MAX_PREFIX_BYTES: usize = 512;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintToken {
    channel: Option<String>,
    prefix: Option<String>,
    expires_in_s: Option<u64>,
    client: Option<IpAddr>,
}

type Answer = Result<UpstreamResponse, UpstreamResponse>;

fn bad(message: &str) -> UpstreamResponse {
    error(StatusCode::BAD_REQUEST, message)
}

/// `POST /tokens` (authorised already).
pub(crate) async fn mint(api: &ControlApi, body: Option<RequestBody>) -> UpstreamResponse {
    mint_inner(api, body).await.unwrap_or_else(|r| r)
}

async fn mint_inner(api: &ControlApi, body: Option<RequestBody>) -> Answer {
    let req: MintToken = parse_body(body).await?;
    let prefix = match (req.channel, req.prefix) {
        (Some(channel), None) if is_valid_channel_name(&channel) => format!("/live/{channel}/"),
        (Some(_), None) => return Err(bad("channel must be a valid channel name")),
        (None, Some(prefix)) => {
            if !prefix.starts_with('/')
                || prefix.len() > MAX_PREFIX_BYTES
                || prefix.split('/').any(|s| s == ".." || s == ".")
            {
                return Err(bad(&format!(
                    "prefix must be an absolute path of at most {MAX_PREFIX_BYTES} bytes without . or .. segments"
                )));
            }
            prefix
        }
        _ => return Err(bad("give exactly one of channel or prefix")),
    };
    let lifetime = req.expires_in_s.unwrap_or(DEFAULT_LIFETIME_S);
    if lifetime == 0 || lifetime > MAX_LIFETIME_S {
        return Err(bad(&format!("expires_in_s must be 1-{MAX_LIFETIME_S}")));
    }
    let claims = TokenClaims {
        prefix,
        expires_at_s: now_ms() / 1000 + lifetime,
        client: req.client,
    };
    let token = sign(&api.signing, &claims);
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({
            "path_prefix": format!("/t/{token}"),
            "token": token,
            "prefix": claims.prefix,
            "expires_at_s": claims.expires_at_s,
            "client": claims.client,
        }),
    ))
}

/// `GET /tokens/public-key`.
pub(crate) fn public_key(api: &ControlApi) -> UpstreamResponse {
    json(
        StatusCode::OK,
        &serde_json::json!({
            "public_key": public_key_text(&api.signing),
            "algorithm": "Ed25519",
        }),
    )
}
