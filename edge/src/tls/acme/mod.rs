//! ACME (RFC 8555): certificates for `[tls.acme] names`, obtained and renewed by
//! the node itself, served through the same resolver as the `[tls]` files.
//!
//! | module | concept |
//! |---|---|
//! | [`section`] | the `[tls.acme]` keys |
//! | [`manager`] | the order / renewal task |
//! | [`renewal`] | when to order: schedule and backoff (no clock) |
//! | [`challenge`] | TLS-ALPN-01 certificates (RFC 8737), HTTP-01 tokens (§8.3) |
//! | [`http01_listener`] | a plain-text listener for HTTP-01 beside a TLS `[http] listen` |
//! | [`store`] | the state dir: account, certificate, key |
//! | [`validity`] | a certificate's `notAfter` |
//!
//! The ACME protocol itself (JWS, nonces, directory, polling) is `instant-acme`'s
//! (see docs/decisions.md, "Production TLS (issue 6)").
//!
//! Reachability, which the CA checks from outside:
//!
//! - `challenge = "tls-alpn-01"`: the CA connects to port **443** of each name; the
//!   HTTPS listener (`[http] listen` with `[tls]`) must be reachable there.
//! - `challenge = "http-01"`: the CA fetches `http://{name}/.well-known/acme-challenge/…`
//!   on port **80** in plain text: either `[tls.acme] http01_listen` (a listener
//!   for the challenges alone, beside an HTTPS `[http] listen`) or a plain-text
//!   `[http] listen` of this node (whose pipeline answers the same paths) must be
//!   reachable there.

pub mod challenge;
pub mod http01_listener;
pub mod manager;
pub mod renewal;
pub mod section;
pub mod store;
pub mod validity;

pub use challenge::{Http01Tokens, RouteChain};
pub use manager::{AcmeError, AcmeManager};
pub use section::AcmeSection;
pub use store::AcmeStore;
