//! # A local ACME CA: Debian's Pebble and its DNS
//!
//! [`Pebble::start`] runs `pebble-challtestsrv` as the DNS server (every name
//! resolves to 127.0.0.1, no IPv6) and `pebble` with a config written here: its
//! HTTPS API on a free port with a certificate from a CA made in the test
//! ([`Pebble::api_root`] is that CA's PEM, for the ACME client's `ca_root`), and
//! the challenge ports pointed at the node under test. Pebble really validates:
//! `PEBBLE_VA_ALWAYS_VALID` is never set. `PEBBLE_VA_NOSLEEP=1` removes its random
//! validation delays, `PEBBLE_WFE_NONCEREJECT=0` its deliberate bad-nonce errors
//! and `PEBBLE_AUTHZREUSE=0` reuse of valid authorizations, so a renewal is
//! validated again.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rustls::pki_types::CertificateDer;

use crate::origin::free_ports;
use crate::process::Supervised;
use crate::tls_client::TlsClient;

/// What the CA validates against and how long its certificates live.
#[derive(Debug, Clone)]
pub struct PebbleConfig {
    /// Port TLS-ALPN-01 validation connects to (the node's HTTPS port).
    pub tls_port: u16,
    /// Port HTTP-01 validation connects to (the node's plain HTTP port).
    pub http_port: u16,
    /// `certificateValidityPeriod` in seconds; `None`: Pebble's default (5 years).
    pub validity_s: Option<u64>,
}

/// Running Pebble + challtestsrv; both stop when this is dropped.
pub struct Pebble {
    /// `https://127.0.0.1:PORT/dir`.
    pub directory: String,
    /// PEM file of the CA that signed Pebble's API certificate.
    pub api_root: PathBuf,
    management: SocketAddr,
    api_ca: CertificateDer<'static>,
    _dns: Supervised,
    _pebble: Supervised,
}

impl Pebble {
    /// Starts both programs with their files in `dir`, and waits for the API.
    pub fn start(dir: &Path, config: &PebbleConfig) -> Result<Self> {
        let ports = free_ports(4)?;
        let (api, management, dns, dns_management) = (ports[0], ports[1], ports[2], ports[3]);

        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ferrocast test: Pebble API CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key)?;
        let leaf_key = rcgen::KeyPair::generate()?;
        let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?
            .signed_by(&leaf_key, &ca, &ca_key)?;
        let api_root = dir.join("pebble-api-ca.pem");
        let (api_cert, api_key) = (dir.join("pebble-api.pem"), dir.join("pebble-api.key"));
        std::fs::write(&api_root, ca.pem())?;
        std::fs::write(&api_cert, leaf.pem())?;
        std::fs::write(&api_key, leaf_key.serialize_pem())?;

        let mut pebble = serde_json::json!({
            "listenAddress": format!("127.0.0.1:{api}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": api_cert,
            "privateKey": api_key,
            "httpPort": config.http_port,
            "tlsPort": config.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        });
        if let Some(s) = config.validity_s {
            pebble["certificateValidityPeriod"] = s.into();
        }
        let cfg = dir.join("pebble-config.json");
        std::fs::write(&cfg, serde_json::json!({ "pebble": pebble }).to_string())?;

        let dns_proc = Supervised::spawn(
            "pebble-challtestsrv",
            Path::new("/usr/bin/pebble-challtestsrv"),
            &[
                "-defaultIPv4".into(),
                "127.0.0.1".into(),
                "-defaultIPv6".into(),
                "".into(),
                "-dns01".into(),
                format!("127.0.0.1:{dns}"),
                "-http01".into(),
                "".into(),
                "-https01".into(),
                "".into(),
                "-tlsalpn01".into(),
                "".into(),
                "-management".into(),
                format!("127.0.0.1:{dns_management}"),
            ],
            &[],
            &dir.join("challtestsrv.out"),
            &dir.join("challtestsrv.err"),
        )?;
        let pebble_proc = Supervised::spawn(
            "pebble",
            Path::new("/usr/bin/pebble"),
            &[
                "-config".into(),
                cfg.display().to_string(),
                "-dnsserver".into(),
                format!("127.0.0.1:{dns}"),
            ],
            &[
                ("PEBBLE_VA_NOSLEEP".into(), "1".into()),
                ("PEBBLE_WFE_NONCEREJECT".into(), "0".into()),
                ("PEBBLE_AUTHZREUSE".into(), "0".into()),
            ],
            &dir.join("pebble.out"),
            &dir.join("pebble.err"),
        )?;
        let this = Self {
            directory: format!("https://127.0.0.1:{api}/dir"),
            api_root,
            management: format!("127.0.0.1:{management}").parse()?,
            api_ca: ca.der().clone(),
            _dns: dns_proc,
            _pebble: pebble_proc,
        };
        let client = TlsClient::new(std::slice::from_ref(&this.api_ca), "localhost")?;
        let api: SocketAddr = format!("127.0.0.1:{api}").parse()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !client.get(api, "/dir").is_ok_and(|r| r.status == 200) {
            if Instant::now() > deadline {
                bail!(
                    "pebble's API did not answer; see {}",
                    dir.join("pebble.out").display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(this)
    }

    /// The root that issued the certificates (management endpoint `/roots/0`; it
    /// changes on every Pebble start).
    pub fn issuing_root(&self) -> Result<CertificateDer<'static>> {
        let client = TlsClient::new(std::slice::from_ref(&self.api_ca), "localhost")?;
        let r = client.get(self.management, "/roots/0")?;
        if r.status != 200 {
            bail!(
                "/roots/0: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        let mut pem = &r.body[..];
        let root = rustls_pemfile::certs(&mut pem)
            .next()
            .context("no certificate in /roots/0")?
            .context("PEM of /roots/0")?;
        Ok(root)
    }
}
