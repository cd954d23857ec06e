//! Turns what a user types for a host (`"intel2"`, `"10.0.0.5"`, `"https://h:8443"`) into
//! a URL, certificate policy and, for simulated hosts, the password.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use xenpool::connect_spec;
use xenpool::pool::HostAccess;
use xenpool::{ConnectOptions, Credentials, Fingerprint, Secret, Tls};
use xenpool_sim::Simulator;

use crate::errors::XenError;
use crate::output::Output;

/// A host as resolved for connecting.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The URL to call.
    pub url: String,
    /// Its certificate policy and timeouts.
    pub options: ConnectOptions,
    /// The root password, when known (simulated hosts).
    pub known_password: Option<Secret>,
}

impl Endpoint {
    /// With credentials: `user`/`password`, or the known password for root.
    pub fn access(
        &self,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Result<HostAccess, XenError> {
        let password = match (password, &self.known_password) {
            (Some(p), _) => Secret::new(p),
            (None, Some(p)) => p.clone(),
            (None, None) => {
                return Err(XenError::invalid(
                    "password",
                    format!(
                        "a password is needed for {} (pass user and password)",
                        self.url
                    ),
                ));
            }
        };
        Ok(HostAccess::new(
            self.url.clone(),
            Credentials::new(user.unwrap_or("root"), password),
            self.options.clone(),
        ))
    }
}

/// Knows the simulated hosts and the fingerprints trusted so far.
#[derive(Debug)]
pub struct HostBook {
    sim: Option<Simulator>,
    base: ConnectOptions,
    trust_on_first_use: bool,
    trusted: RefCell<HashMap<String, Fingerprint>>,
    out: Output,
}

impl HostBook {
    /// `base` carries the session's certificate policy and timeouts.
    pub fn new(
        sim: Option<Simulator>,
        base: ConnectOptions,
        trust_on_first_use: bool,
        out: Output,
    ) -> Self {
        HostBook {
            sim,
            base,
            trust_on_first_use,
            trusted: RefCell::new(HashMap::new()),
            out,
        }
    }

    /// The embedded simulator, if the shell runs on one.
    pub fn sim(&self) -> Option<&Simulator> {
        self.sim.as_ref()
    }

    /// Names of hosts this book can resolve by name (simulated hosts).
    pub fn names(&self) -> Vec<String> {
        self.sim
            .as_ref()
            .map(|s| s.hosts().into_iter().map(|h| h.name).collect())
            .unwrap_or_default()
    }

    /// Resolves `host`: a simulated host's name, uuid or address; an address; or a URL.
    pub fn resolve(&self, host: &str) -> Result<Endpoint, XenError> {
        let host = host.trim();
        if host.is_empty() {
            return Err(XenError::invalid("host", "an empty host name"));
        }
        if let Some(sim) = &self.sim {
            let bare = host
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            if let Some(h) = sim.hosts().into_iter().find(|h| {
                h.name == host
                    || h.uuid == host
                    || h.address == bare
                    || format!("{}:{}", h.address, h.port) == bare
            }) {
                let tls = match h.fingerprint {
                    Some(fp) => Tls::Pinned(fp),
                    None => self.base.tls.clone(),
                };
                return Ok(Endpoint {
                    url: h.url,
                    options: ConnectOptions {
                        tls,
                        ..self.base.clone()
                    },
                    known_password: Some(Secret::new(h.password)),
                });
            }
        }
        if let Some(sim) = &self.sim
            && !host.contains(['.', ':', '/'])
        {
            // On the simulator a bare word is a host name: never resolve it through DNS.
            let names: Vec<String> = sim.hosts().into_iter().map(|h| h.name).collect();
            return Err(XenError::invalid(
                "host",
                format!(
                    "no simulated host named {host:?} (there are: {})",
                    names.join(", ")
                ),
            ));
        }
        let url = connect_spec::normalize_url(host)?;
        let tls = self.tls_for(connect_spec::authority(&url))?;
        Ok(Endpoint {
            url,
            options: ConnectOptions {
                tls,
                ..self.base.clone()
            },
            known_password: None,
        })
    }

    /// Remembers that `authority` (host or host:port) presents `fingerprint`.
    pub fn trust(&self, authority: &str, fingerprint: Fingerprint) {
        self.trusted
            .borrow_mut()
            .insert(authority.to_string(), fingerprint);
    }

    fn tls_for(&self, authority: &str) -> Result<Tls, XenError> {
        if let Some(fp) = self.trusted.borrow().get(authority) {
            return Ok(Tls::Pinned(*fp));
        }
        match &self.base.tls {
            Tls::Insecure => Ok(Tls::Insecure),
            _ if self.trust_on_first_use => {
                let fp = xenpool::blocking::fetch_fingerprint(authority, Duration::from_secs(10))
                    .map_err(XenError::from)?;
                self.out.note(&format!(
                    "trusting {authority} on first use: SHA-256 fingerprint {fp}"
                ));
                self.trust(authority, fp);
                Ok(Tls::Pinned(fp))
            }
            // A pin belongs to the one host it was given for; others are verified normally.
            Tls::Pinned(_) => Ok(Tls::Verified),
            other => Ok(other.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_never_shows_its_password() {
        let e = Endpoint {
            url: "https://127.0.0.1".into(),
            options: ConnectOptions::default(),
            known_password: Some(Secret::new("sim-root-pw")),
        };
        assert!(!format!("{e:?}").contains("sim-root-pw"));
        let access = e.access(None, None).unwrap();
        assert!(!format!("{access:?}").contains("sim-root-pw"));
    }
}
