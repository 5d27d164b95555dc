//! [`AcmeManager`]: obtains the certificate for `[tls.acme] names`, installs it into
//! the node's resolver, and renews it before it expires.
//!
//! The task, until `stop`:
//!
//! 1. at start, a stored certificate ([`AcmeStore`]) that covers every name is
//!    served at once;
//! 2. while the certificate expires later than `renew_before_days` from now, it
//!    sleeps until then (at most `check_interval_s` at a time, updating the expiry
//!    gauge); the schedule itself is [`super::renewal`], a pure function of time;
//! 3. otherwise it runs one order (RFC 8555 §7.4): new order → for each pending
//!    authorization, publish the challenge answer and tell the CA it is ready
//!    (§7.5.1) → wait for the order to be `ready` → finalize with a CSR for a fresh
//!    key → download the chain → store it, serve it;
//! 4. a failed order is logged, counted, and retried after a backoff that doubles
//!    from [`RETRY_MIN`](super::renewal::RETRY_MIN) up to
//!    [`RETRY_MAX`](super::renewal::RETRY_MAX); the current certificate (if any) keeps
//!    serving meanwhile.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rustls::server::ResolvesServerCertUsingSni;
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use super::challenge::{tls_alpn_certificate, Http01Tokens};
use super::renewal::{Backoff, Schedule, Step};
use super::store::AcmeStore;
use super::validity::not_after;
use super::AcmeSection;
use crate::tls::{ReloadableResolver, TlsMetrics};

/// How long the CA may take to validate and to issue, each.
pub const ORDER_TIMEOUT: Duration = Duration::from_secs(120);

/// Why an order failed.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The ACME server or the HTTP exchange with it failed.
    #[error("ACME: {0}")]
    Protocol(#[from] instant_acme::Error),
    /// Reading or writing the state dir failed.
    #[error("ACME state dir: {0}")]
    Store(#[from] std::io::Error),
    /// The stored account could not be decoded.
    #[error("ACME account file: {0}")]
    Account(#[from] serde_json::Error),
    /// An authorization is neither pending nor valid (the CA refused a challenge).
    #[error("authorization for {name} is {status:?}")]
    Authorization {
        /// The name.
        name: String,
        /// Its status.
        status: AuthorizationStatus,
    },
    /// The CA offered no challenge of the configured type.
    #[error("the CA offers no {0} challenge")]
    NoChallenge(&'static str),
    /// The order did not become ready (a challenge failed validation).
    #[error("order is {0:?} instead of ready")]
    NotReady(OrderStatus),
    /// Making a key, CSR or challenge certificate failed.
    #[error("generating a key or certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// The issued chain is unusable (no certificate, key mismatch, bad dates).
    #[error("issued certificate: {0}")]
    Certificate(String),
}

/// See the module docs.
pub struct AcmeManager {
    section: AcmeSection,
    store: AcmeStore,
    resolver: Arc<ReloadableResolver>,
    tokens: Arc<Http01Tokens>,
    metrics: TlsMetrics,
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl AcmeManager {
    /// A manager for `section`, keeping its state in `store`.
    pub fn new(
        section: AcmeSection,
        store: AcmeStore,
        resolver: Arc<ReloadableResolver>,
        tokens: Arc<Http01Tokens>,
        metrics: TlsMetrics,
    ) -> Self {
        Self {
            section,
            store,
            resolver,
            tokens,
            metrics,
        }
    }

    /// Serves the stored certificate if it covers every name; its `notAfter`.
    pub fn load_stored(&self) -> Option<i64> {
        let (chain, key) = self.store.certificate_paths()?;
        let loaded = crate::tls::files::certified_key(&chain, &key, None)
            .map_err(|e| e.to_string())
            .and_then(|k| self.install(k));
        match loaded {
            Ok(expiry) => {
                tracing::info!(dir = %self.store.dir().display(), "ACME certificate loaded");
                Some(expiry)
            }
            Err(e) => {
                tracing::warn!("stored ACME certificate not used ({e}); ordering a new one");
                None
            }
        }
    }

    /// Checks `key` covers every name, serves it for each; its `notAfter`.
    fn install(&self, key: CertifiedKey) -> Result<i64, String> {
        let leaf = key.cert.first().ok_or("empty chain")?;
        let expiry = not_after(leaf.as_ref()).map_err(|e| e.to_string())?;
        for name in &self.section.names {
            ResolvesServerCertUsingSni::new()
                .add(name, key.clone())
                .map_err(|e| format!("not valid for {name}: {e}"))?;
        }
        let key = Arc::new(key);
        for name in &self.section.names {
            self.resolver.set_acme(name, key.clone());
            self.metrics.expires_in(name, expiry - now_s());
        }
        Ok(expiry)
    }

    /// Runs until `stop`, starting from the certificate expiring at `expiry` (see
    /// [`AcmeManager::load_stored`]); see the module docs.
    pub async fn run(self, mut expiry: Option<i64>, mut stop: watch::Receiver<bool>) {
        let schedule = Schedule {
            renew_before_s: (self.section.renew_before_days * 86_400.0) as i64,
            check_interval: Duration::from_secs(self.section.check_interval_s),
        };
        let mut backoff = Backoff::default();
        loop {
            if let Some(t) = expiry {
                for name in &self.section.names {
                    self.metrics.expires_in(name, t - now_s());
                }
            }
            let wait = match schedule.next(now_s(), expiry) {
                Step::Wait(wait) => wait,
                Step::Order => {
                    tracing::info!(names = ?self.section.names, "ordering an ACME certificate");
                    let result = tokio::select! {
                        r = self.order() => r,
                        _ = stop.changed() => return,
                    };
                    self.metrics.order(result.is_ok());
                    match result {
                        Ok(t) => {
                            tracing::info!(names = ?self.section.names, expires_in_s = t - now_s(), "ACME certificate issued");
                            expiry = Some(t);
                            backoff.reset();
                            if schedule.next(now_s(), Some(t)) == Step::Order {
                                tracing::warn!(
                                    "the new ACME certificate expires within renew_before_days; \
                                     ordering again only after check_interval_s"
                                );
                            }
                            schedule.after_issuance(now_s(), t)
                        }
                        Err(e) => {
                            let wait = backoff.failed();
                            tracing::error!(retry_in_s = wait.as_secs(), "ACME order failed: {e}");
                            wait
                        }
                    }
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => if *stop.borrow() { return },
            }
        }
    }

    async fn account(&self) -> Result<Account, AcmeError> {
        let builder = || match &self.section.ca_root {
            Some(root) => Account::builder_with_root(root),
            None => Account::builder(),
        };
        if let Some(json) = self.store.account()? {
            let credentials: AccountCredentials = serde_json::from_slice(&json)?;
            match builder()?.from_credentials(credentials).await {
                Ok(account) => return Ok(account),
                Err(e) => tracing::warn!("stored ACME account not usable ({e}); creating one"),
            }
        }
        let contact = format!("mailto:{}", self.section.email);
        let contacts: Vec<&str> = if self.section.email.is_empty() {
            Vec::new()
        } else {
            vec![contact.as_str()]
        };
        let (account, credentials) = builder()?
            .create(
                &NewAccount {
                    contact: &contacts,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.section.directory.clone(),
                None,
            )
            .await?;
        self.store
            .save_account(&serde_json::to_vec(&credentials)?)?;
        Ok(account)
    }

    /// One order, start to finish; the new certificate's `notAfter`.
    async fn order(&self) -> Result<i64, AcmeError> {
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = self
            .section
            .names
            .iter()
            .map(|n| Identifier::Dns(n.clone()))
            .collect();
        let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
        let http01 = self.section.uses_http01();
        let kind = if http01 {
            ChallengeType::Http01
        } else {
            ChallengeType::TlsAlpn01
        };
        let mut published: Vec<(String, String)> = Vec::new();
        let outcome = async {
            let mut authorizations = order.authorizations();
            while let Some(authz) = authorizations.next().await {
                let mut authz = authz?;
                let name = authz.identifier().to_string();
                match authz.status {
                    AuthorizationStatus::Pending => {}
                    AuthorizationStatus::Valid => continue,
                    status => return Err(AcmeError::Authorization { name, status }),
                }
                let mut challenge =
                    authz
                        .challenge(kind.clone())
                        .ok_or(AcmeError::NoChallenge(if http01 {
                            "http-01"
                        } else {
                            "tls-alpn-01"
                        }))?;
                let key_authorization = challenge.key_authorization();
                tracing::info!(%name, challenge = ?kind, "ACME challenge answer published");
                if http01 {
                    self.tokens
                        .insert(&challenge.token, key_authorization.as_str());
                    published.push((name, challenge.token.clone()));
                } else {
                    let cert = tls_alpn_certificate(&name, key_authorization.digest().as_ref())?;
                    self.resolver.set_challenge(&name, Arc::new(cert));
                    published.push((name, String::new()));
                }
                challenge.set_ready().await?;
            }
            let retries = RetryPolicy::new()
                .initial_delay(Duration::from_millis(250))
                .timeout(ORDER_TIMEOUT);
            let status = order.poll_ready(&retries).await?;
            if status != OrderStatus::Ready {
                return Err(AcmeError::NotReady(status));
            }
            Ok(())
        }
        .await;
        for (name, token) in &published {
            if http01 {
                self.tokens.remove(token);
            } else {
                self.resolver.remove_challenge(name);
            }
        }
        outcome?;

        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(self.section.names.clone())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params.serialize_request(&key)?;
        order.finalize_csr(csr.der()).await?;
        let retries = RetryPolicy::new().timeout(ORDER_TIMEOUT);
        let chain = order.poll_certificate(&retries).await?;
        let key_pem = key.serialize_pem();
        self.store.save_certificate(&chain, &key_pem)?;
        let (chain_path, key_path) = self
            .store
            .certificate_paths()
            .ok_or_else(|| AcmeError::Certificate("not stored".into()))?;
        let certified = crate::tls::files::certified_key(&chain_path, &key_path, None)
            .map_err(|e| AcmeError::Certificate(e.to_string()))?;
        self.install(certified).map_err(AcmeError::Certificate)
    }
}
