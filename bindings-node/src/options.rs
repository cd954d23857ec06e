//! Connection options as the JS layer sends them (JSON, camelCase, milliseconds), handed
//! to core's [`ConnectSpec`], which applies every rule (URL forms, password sources,
//! certificate choice, protocol names). Node offers no password prompt.

use std::time::Duration;

use serde::Deserialize;
use xenpool::{ConnectSpec, ResolvedSpec, Secret};

use crate::error::{invalid, to_napi};

/// `connect(url, options)`'s options. No `Debug`: it holds the password.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnectOpts {
    /// User name (`root` when absent).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// A file whose first line is the password.
    pub password_file: Option<String>,
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
    /// A protocol name (`auto`, `json`, `xml`, …).
    pub protocol: Option<String>,
    /// How long a pool connection looks for a new coordinator.
    pub failover_timeout_ms: Option<u64>,
}

impl ConnectOpts {
    /// Parses the JSON the JS layer sends.
    pub fn parse(text: &str) -> napi::Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| invalid("options", format!("connection options: {e}")))
    }

    /// The options for `url`, resolved by core's rules.
    pub fn resolve(&self, url: &str) -> napi::Result<ResolvedSpec> {
        let spec = ConnectSpec {
            user: self.user.clone(),
            password: self.password.clone().map(Secret::new),
            password_file: self.password_file.clone().map(Into::into),
            fingerprint: self.fingerprint.clone(),
            trust_on_first_use: self.trust_on_first_use,
            insecure: self.insecure,
            protocol: self.protocol.clone(),
            timeout: self.timeout_ms.map(Duration::from_millis),
            connect_timeout: self.connect_timeout_ms.map(Duration::from_millis),
            failover_timeout: self.failover_timeout_ms.map(Duration::from_millis),
            ..ConnectSpec::new(url)
        };
        spec.resolve(None).map_err(to_napi)
    }
}
