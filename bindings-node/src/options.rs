//! Connection options as the JS layer sends them (JSON, camelCase).

use std::time::Duration;

use serde::Deserialize;
use xenpool::{ConnectOptions, Credentials, Fingerprint, Protocol, Tls};

use crate::error::{invalid, to_napi};

/// `connect(url, options)`'s options. No `Debug`: it holds the password.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnectOpts {
    /// User name (`root` when absent).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Pinned SHA-256 certificate fingerprint.
    pub fingerprint: Option<String>,
    /// Learn the fingerprint on first contact and pin it.
    pub trust_on_first_use: bool,
    /// Accept any certificate.
    pub insecure: bool,
    /// Limit for one call.
    pub timeout_ms: Option<u64>,
    /// Limit for opening a connection.
    pub connect_timeout_ms: Option<u64>,
    /// `auto`, `json` or `xml`.
    pub protocol: Option<String>,
    /// How long a pool connection looks for a new coordinator.
    pub failover_timeout_ms: Option<u64>,
}

/// What a connection needs, worked out from the options.
pub struct Resolved {
    /// Login.
    pub credentials: Credentials,
    /// Transport options.
    pub options: ConnectOptions,
    /// The fingerprint pinned (given or learnt on first use).
    pub fingerprint: Option<Fingerprint>,
}

impl ConnectOpts {
    /// Parses the JSON the JS layer sends.
    pub fn parse(text: &str) -> napi::Result<Self> {
        serde_json::from_str(text).map_err(|e| invalid(format!("connection options: {e}")))
    }

    /// Credentials, TLS policy (fetching the fingerprint for trust on first use) and limits.
    pub async fn resolve(&self, url: &str) -> napi::Result<Resolved> {
        let mut options = ConnectOptions::default();
        if let Some(ms) = self.timeout_ms {
            options.call_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = self.connect_timeout_ms {
            options.connect_timeout = Duration::from_millis(ms);
        }
        options.protocol = match self.protocol.as_deref() {
            None | Some("auto") => Protocol::Auto,
            Some("json") | Some("jsonrpc") => Protocol::JsonRpc,
            Some("xml") | Some("xmlrpc") => Protocol::XmlRpc,
            Some(other) => {
                return Err(invalid(format!(
                    "protocol must be \"auto\", \"json\" or \"xml\", not {other:?}"
                )));
            }
        };
        let mut fingerprint = None;
        options.tls = if let Some(text) = &self.fingerprint {
            let f: Fingerprint = text.parse().map_err(to_napi)?;
            fingerprint = Some(f);
            Tls::Pinned(f)
        } else if self.insecure {
            Tls::Insecure
        } else if self.trust_on_first_use && !url.starts_with("http://") {
            let f = xenpool::fetch_fingerprint(url, options.connect_timeout)
                .await
                .map_err(to_napi)?;
            fingerprint = Some(f);
            Tls::Pinned(f)
        } else {
            Tls::Verified
        };
        let credentials = Credentials::new(
            self.user.clone().unwrap_or_else(|| "root".into()),
            self.password.clone().unwrap_or_default(),
        );
        Ok(Resolved {
            credentials,
            options,
            fingerprint,
        })
    }
}
