//! A plain-text listener that answers only HTTP-01 challenges
//! (`[tls.acme] http01_listen`, normally port 80).
//!
//! A node whose `[http] listen` speaks TLS cannot answer HTTP-01 there: the CA
//! fetches `http://{name}/.well-known/acme-challenge/{token}` in plain text on port
//! 80 (RFC 8555 §8.3). This listener answers those paths from the same
//! [`Http01Tokens`] and 404 for anything else, with HTTP/1.1 only and a bound on
//! each connection's life ([`CONNECTION_LIMIT`]), since anyone may connect.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::Http01Tokens;

/// Longest a connection to the challenge listener may stay open.
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(30);

fn respond(tokens: &Http01Tokens, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, body) = tokens
        .lookup(req.method(), req.uri().path())
        .unwrap_or((StatusCode::NOT_FOUND, Bytes::from_static(b"not found\n")));
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Serves `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    tokens: Arc<Http01Tokens>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!("[tls.acme] http01_listen accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => if *stop.borrow() { return } else { continue },
        };
        let tokens = tokens.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let response = respond(&tokens, &req);
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(tcp), service);
            let _ = tokio::time::timeout(CONNECTION_LIMIT, conn).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn answers_a_token_and_404_elsewhere() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tokens = Arc::new(Http01Tokens::default());
        tokens.insert("abc", "abc.thumbprint");
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, tokens, stop_rx));
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: a.test\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let ok = get("/.well-known/acme-challenge/abc").await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nabc.thumbprint"), "{ok}");
        assert!(get("/.well-known/acme-challenge/zzz")
            .await
            .starts_with("HTTP/1.1 404"));
        assert!(get("/").await.starts_with("HTTP/1.1 404"));
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
