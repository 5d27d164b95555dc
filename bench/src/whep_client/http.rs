//! The WHEP HTTP exchange (draft-ietf-wish-whep): `POST` the offer, read the
//! `201 Created` answer and its `Location`, `DELETE` the session. One HTTP/1.1
//! connection per request with hyper's `client::conn`, so hundreds of viewers
//! never share a pool.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, LOCATION};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::error::WhepError;

/// Largest response body read (an SDP answer is a few KiB).
const MAX_BODY: usize = 256 * 1024;

/// An `http://host:port/path` URL split for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` (port 80 when the URL has none).
    pub authority: String,
    /// The path and query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    /// Parses `http://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Self, WhepError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| WhepError::BadUrl(url.into()))?;
        let (auth, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if auth.is_empty() {
            return Err(WhepError::BadUrl(url.into()));
        }
        let has_port = match auth.rfind(']') {
            Some(b) => auth[b..].contains(':'),
            None => auth.contains(':'),
        };
        let authority = if has_port {
            auth.to_string()
        } else {
            format!("{auth}:80")
        };
        Ok(HttpUrl {
            authority,
            path: path.to_string(),
        })
    }

    /// The URL of `location` (absolute, or a path on this server).
    pub fn join(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("http://{}{}", self.authority, location)
        }
    }

    /// Back to text.
    pub fn to_url(&self) -> String {
        format!("http://{}{}", self.authority, self.path)
    }
}

/// A response: status, `Location`, body.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

/// Sends one request on a fresh connection and reads the whole response.
pub async fn request(
    method: Method,
    url: &HttpUrl,
    bearer: Option<&str>,
    sdp: Option<String>,
) -> Result<Response, WhepError> {
    let http = |e: &dyn std::fmt::Display| WhepError::Http(format!("{}: {e}", url.to_url()));
    let stream = TcpStream::connect(&url.authority)
        .await
        .map_err(|e| http(&e))?;
    stream.set_nodelay(true).map_err(|e| http(&e))?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| http(&e))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = Request::builder()
        .method(method)
        .uri(url.path.as_str())
        .header(HOST, url.authority.as_str());
    if let Some(token) = bearer {
        req = req.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match sdp {
        Some(s) => {
            req = req.header(CONTENT_TYPE, "application/sdp");
            Bytes::from(s)
        }
        None => Bytes::new(),
    };
    let req = req.body(Full::new(body)).map_err(|e| http(&e))?;
    let resp = sender.send_request(req).await.map_err(|e| http(&e))?;
    let status = resp.status();
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| http(&e))?
        .to_bytes();
    Ok(Response {
        status,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// POSTs an offer; returns the answer and the session URL.
pub async fn post_offer(
    url: &HttpUrl,
    bearer: Option<&str>,
    offer: String,
) -> Result<(String, String), WhepError> {
    let resp = request(Method::POST, url, bearer, Some(offer)).await?;
    if resp.status != StatusCode::CREATED {
        return Err(WhepError::Status {
            method: "POST",
            url: url.to_url(),
            status: resp.status.as_u16(),
            body: resp.body.trim().to_string(),
        });
    }
    let location = resp.location.ok_or(WhepError::NoLocation)?;
    Ok((resp.body, url.join(&location)))
}

/// DELETEs a session; returns the status (200 expected, 404 when unknown).
pub async fn delete(session_url: &str, bearer: Option<&str>) -> Result<u16, WhepError> {
    let url = HttpUrl::parse(session_url)?;
    let resp = request(Method::DELETE, &url, bearer, None).await?;
    Ok(resp.status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = HttpUrl::parse("http://127.0.0.1:8080/t/abc/whep/ch").unwrap();
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert_eq!(u.path, "/t/abc/whep/ch");
        assert_eq!(u.join("/whep/ch/s1"), "http://127.0.0.1:8080/whep/ch/s1");
        assert_eq!(u.join("http://x:1/y"), "http://x:1/y");
        let d = HttpUrl::parse("http://example.org").unwrap();
        assert_eq!(
            (d.authority.as_str(), d.path.as_str()),
            ("example.org:80", "/")
        );
        let v6 = HttpUrl::parse("http://[::1]/whep").unwrap();
        assert_eq!(v6.authority, "[::1]:80");
        assert!(HttpUrl::parse("https://x/").is_err());
        assert!(HttpUrl::parse("http:///x").is_err());
    }
}
