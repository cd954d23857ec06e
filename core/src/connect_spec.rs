//! What a user gives to reach a host — a URL or a bare host name, a user, a password or
//! where to find one, a certificate choice, a protocol name, time limits — and the one set
//! of rules that turns it into connect options and credentials. The shell, Python and Node
//! all resolve their options here, so the same input means the same thing (or is refused
//! with the same error) on every surface.
//!
//! The rules:
//! - **URL.** `https://…` and `http://…` are taken as they are (any case of the scheme);
//!   a bare `host`, `host:port` or address becomes `https://host[:port]`; any other scheme,
//!   an empty text or a URL without a host is `INVALID_ARGUMENT [url, …]`.
//! - **Certificates.** Verified by default. At most one of `fingerprint`,
//!   `trust_on_first_use` and `insecure`: any two together are refused, since each says
//!   something different about the same certificate. Pinning (`fingerprint` or trust on
//!   first use) needs an `https` URL; `insecure` on plain `http` changes nothing and is
//!   allowed. Trust on first use fetches the fingerprint from the URL's `host[:port]`
//!   (port 443 by default) — a bare host name included — and pins it.
//! - **Protocol.** `auto` (the default), `json`, `jsonrpc`, `json-rpc`, `xml`, `xmlrpc`,
//!   `xml-rpc`, in any case.
//! - **Password**, first found: the argument (an empty one included: that is a choice), a
//!   password file (its first line), `$XENPOOL_PASSWORD`, a prompt — which only a front end
//!   that has a terminal attached offers. Nothing anywhere is `INVALID_ARGUMENT
//!   [password, …]`, never a login with an empty password.
//! - **Time limits** must be positive.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::connection::{Connection, LoginKind};
use crate::error::{Error, Result};
use crate::pool::HostAccess;
use crate::secret::{Credentials, Secret};
use crate::tls::{Fingerprint, Tls};
use crate::transport::{ConnectOptions, Protocol};

/// The environment variable read when no password is given.
pub const PASSWORD_ENV: &str = "XENPOOL_PASSWORD";

/// The user when none is given.
pub const DEFAULT_USER: &str = "root";

/// What a user gave to reach a host, before any rule is applied. No `Debug` that could
/// show the password: it is a [`Secret`].
#[derive(Clone, Debug, Default)]
pub struct ConnectSpec {
    /// A URL (`https://host[:port]`, `http://…`) or a bare host name or address.
    pub url: String,
    /// The user; [`DEFAULT_USER`] when `None`.
    pub user: Option<String>,
    /// The password given directly.
    pub password: Option<Secret>,
    /// A file whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// A SHA-256 certificate fingerprint to pin.
    pub fingerprint: Option<String>,
    /// Fetch the host's certificate fingerprint now and pin it.
    pub trust_on_first_use: bool,
    /// Accept any certificate (throwaway labs only).
    pub insecure: bool,
    /// A protocol name (see the module's rules); `auto` when `None`.
    pub protocol: Option<String>,
    /// Limit for one call.
    pub timeout: Option<Duration>,
    /// Limit for opening a connection.
    pub connect_timeout: Option<Duration>,
    /// How long a pool connection looks for a new coordinator.
    pub failover_timeout: Option<Duration>,
}

/// A password prompt a front end offers when a terminal is attached: shown the question,
/// returns what was typed.
pub type Prompt<'a> = &'a mut dyn FnMut(&str) -> std::io::Result<String>;

/// The certificate choice, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustChoice {
    /// Verified against the system's roots.
    Verified,
    /// This fingerprint pinned.
    Pinned(Fingerprint),
    /// The fingerprint to be fetched and pinned at connect time.
    OnFirstUse,
    /// Anything accepted.
    Insecure,
}

/// A [`ConnectSpec`] with every rule applied: ready to log in.
#[derive(Clone, Debug)]
pub struct ResolvedSpec {
    /// The URL to call.
    pub url: String,
    /// The login.
    pub credentials: Credentials,
    /// Transport options (the certificate policy is settled by [`ResolvedSpec::settle`]).
    pub options: ConnectOptions,
    /// The certificate choice.
    pub trust: TrustChoice,
    /// How long a pool connection looks for a new coordinator, when given.
    pub failover_timeout: Option<Duration>,
}

/// `INVALID_ARGUMENT` naming `parameter`.
fn invalid(parameter: &str, message: impl Into<String>) -> Error {
    Error::invalid_argument(parameter, message)
}

impl FromStr for Protocol {
    type Err = Error;

    /// Parses a protocol name by the module's rules.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Protocol::Auto),
            "json" | "jsonrpc" | "json-rpc" => Ok(Protocol::JsonRpc),
            "xml" | "xmlrpc" | "xml-rpc" => Ok(Protocol::XmlRpc),
            _ => Err(invalid(
                "protocol",
                format!(
                    "protocol must be auto, json (json-rpc) or xml (xml-rpc), not {:?}",
                    s
                ),
            )),
        }
    }
}

/// The URL a user means by `given`: `https://` added to a bare host name or address.
pub fn normalize_url(given: &str) -> Result<String> {
    let text = given.trim();
    if text.is_empty() {
        return Err(invalid("url", "the URL or host name is empty"));
    }
    let url = match text.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            s @ ("https" | "http") => format!("{s}://{rest}"),
            _ => {
                return Err(invalid(
                    "url",
                    format!("{text:?}: the scheme must be https or http, not {scheme:?}"),
                ));
            }
        },
        None => format!("https://{text}"),
    };
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| invalid("url", format!("{text:?} is not a URL or host name ({e})")))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("url", format!("{text:?} names no host")));
    }
    Ok(url)
}

/// The `host[:port]` of a URL, which certificates are fetched from and kept by.
pub fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or_default()
}

impl ConnectSpec {
    /// A spec for `url` with nothing else given.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectSpec {
            url: url.into(),
            ..Default::default()
        }
    }

    /// The certificate choice, checked against the URL's scheme.
    fn trust(&self, url: &str) -> Result<TrustChoice> {
        let chosen: Vec<&str> = [
            (self.fingerprint.is_some(), "fingerprint"),
            (self.trust_on_first_use, "trust_on_first_use"),
            (self.insecure, "insecure"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if let [first, second, ..] = chosen[..] {
            return Err(invalid(
                second,
                format!(
                    "{first} and {second} cannot be combined: choose one way to check the \
                     host's certificate"
                ),
            ));
        }
        let plain_http = url.starts_with("http://");
        if plain_http && (self.fingerprint.is_some() || self.trust_on_first_use) {
            let which = chosen[0];
            return Err(invalid(
                which,
                format!("{which} needs an https URL: {url} has no certificate to pin"),
            ));
        }
        Ok(match &self.fingerprint {
            Some(text) => TrustChoice::Pinned(text.parse().map_err(|e: Error| {
                invalid("fingerprint", e.params().pop().unwrap_or_default())
            })?),
            None if self.trust_on_first_use => TrustChoice::OnFirstUse,
            None if self.insecure => TrustChoice::Insecure,
            None => TrustChoice::Verified,
        })
    }

    /// The password by the module's rules. `prompt` is offered only by a front end with a
    /// terminal attached.
    pub fn password(&self, user: &str, url: &str, prompt: Option<Prompt<'_>>) -> Result<Secret> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    "password_file",
                    format!("cannot read the password file {}: {e}", path.display()),
                )
            })?;
            return Ok(Secret::new(text.lines().next().unwrap_or_default()));
        }
        if let Ok(p) = std::env::var(PASSWORD_ENV) {
            return Ok(Secret::new(p));
        }
        match prompt {
            Some(ask) => ask(&format!("Password for {user} on {url}: "))
                .map(Secret::new)
                .map_err(|e| invalid("password", format!("cannot read the password: {e}"))),
            None => Err(invalid(
                "password",
                format!(
                    "no password for {user} on {url}: pass one, name a password file, set \
                     ${PASSWORD_ENV}, or run on a terminal"
                ),
            )),
        }
    }

    /// Applies every rule: the URL, the certificate choice, the protocol, the time limits
    /// and the password (checked in that order, so a bad option is reported before anyone
    /// is asked for a password).
    pub fn resolve(&self, prompt: Option<Prompt<'_>>) -> Result<ResolvedSpec> {
        let url = normalize_url(&self.url)?;
        let trust = self.trust(&url)?;
        let mut options = ConnectOptions::default();
        if let Some(p) = &self.protocol {
            options.protocol = p.parse()?;
        }
        for (name, limit, slot) in [
            ("timeout", self.timeout, &mut options.call_timeout),
            (
                "connect_timeout",
                self.connect_timeout,
                &mut options.connect_timeout,
            ),
        ] {
            if let Some(limit) = limit {
                *slot = positive(name, limit)?;
            }
        }
        let failover_timeout = self
            .failover_timeout
            .map(|t| positive("failover_timeout", t))
            .transpose()?;
        options.tls = match &trust {
            TrustChoice::Pinned(f) => Tls::Pinned(*f),
            TrustChoice::Insecure => Tls::Insecure,
            TrustChoice::Verified | TrustChoice::OnFirstUse => Tls::Verified,
        };
        let user = match self.user.as_deref().map(str::trim) {
            None => DEFAULT_USER.to_string(),
            Some("") => return Err(invalid("user", "the user name is empty")),
            Some(u) => u.to_string(),
        };
        let password = self.password(&user, &url, prompt)?;
        Ok(ResolvedSpec {
            url,
            credentials: Credentials::new(user, password),
            options,
            trust,
            failover_timeout,
        })
    }
}

fn positive(name: &str, limit: Duration) -> Result<Duration> {
    if limit.is_zero() {
        return Err(invalid(name, format!("{name} must be positive")));
    }
    Ok(limit)
}

/// A time limit given in seconds by a front end (Python's floats): positive and finite.
pub fn seconds(name: &str, value: f64) -> Result<Duration> {
    if !(value.is_finite() && value > 0.0) {
        return Err(invalid(
            name,
            format!("{name} must be a positive number of seconds, not {value}"),
        ));
    }
    Duration::try_from_secs_f64(value).map_err(|e| invalid(name, format!("{name}: {e}")))
}

impl ResolvedSpec {
    /// Settles trust on first use: fetches the host's fingerprint and pins it (once).
    /// Returns the pinned fingerprint, if any, for the user to store.
    pub async fn settle(&mut self) -> Result<Option<Fingerprint>> {
        if self.trust == TrustChoice::OnFirstUse {
            let f =
                crate::tls::fetch_fingerprint(authority(&self.url), self.options.connect_timeout)
                    .await?;
            self.trust = TrustChoice::Pinned(f);
            self.options.tls = Tls::Pinned(f);
        }
        Ok(self.fingerprint())
    }

    /// The pinned fingerprint (given, or learnt by [`ResolvedSpec::settle`]).
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        match self.trust {
            TrustChoice::Pinned(f) => Some(f),
            _ => None,
        }
    }

    /// How a pool workflow reaches this host (trust on first use settled first).
    pub async fn access(mut self) -> Result<HostAccess> {
        self.settle().await?;
        Ok(HostAccess::new(self.url, self.credentials, self.options))
    }

    /// Logs in to the host: to its pool (`HOST_IS_SLAVE` followed to the coordinator), or
    /// to the member alone for emergency access.
    pub async fn login(mut self, kind: LoginKind) -> Result<Connection> {
        self.settle().await?;
        let (url, credentials, options) = (&self.url, self.credentials, self.options);
        match kind {
            LoginKind::Pool => Connection::login(url, credentials, options).await,
            LoginKind::LocalEmergency => {
                Connection::login_local_emergency(url, credentials, options).await
            }
        }
    }

    /// Connects to the pool the host belongs to, with the failover limit given.
    pub async fn connect_pool(mut self) -> Result<crate::pool::PoolConnection> {
        self.settle().await?;
        let pool =
            crate::pool::PoolConnection::connect(&self.url, self.credentials, self.options).await?;
        Ok(match self.failover_timeout {
            Some(t) => pool.with_failover_timeout(t),
            None => pool,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> ConnectSpec {
        ConnectSpec {
            password: Some(Secret::new("pw")),
            ..ConnectSpec::new(url)
        }
    }

    fn refused(s: &ConnectSpec) -> Vec<String> {
        let e = s.resolve(None).unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT", "{e}");
        e.params()
    }

    #[test]
    fn bare_names_become_https_and_other_schemes_are_refused() {
        for (given, url) in [
            ("pool-master", "https://pool-master"),
            ("10.0.0.1:8443", "https://10.0.0.1:8443"),
            (" HTTPS://h/ ", "https://h/"),
            ("http://127.0.0.1:80", "http://127.0.0.1:80"),
            ("[::1]:443", "https://[::1]:443"),
        ] {
            assert_eq!(spec(given).resolve(None).unwrap().url, url, "{given}");
        }
        for bad in ["", "ftp://h", "https://", "a b"] {
            assert_eq!(refused(&spec(bad))[0], "url", "{bad:?}");
        }
    }

    #[test]
    fn certificate_choices_exclude_each_other() {
        let fp = "ab".repeat(32);
        let mut s = spec("h");
        s.fingerprint = Some(fp.clone());
        s.insecure = true;
        let p = refused(&s);
        assert_eq!(p[0], "insecure");
        assert!(p[1].contains("fingerprint and insecure"), "{p:?}");
        s.insecure = false;
        s.trust_on_first_use = true;
        assert_eq!(refused(&s)[0], "trust_on_first_use");
        let mut s = spec("http://h");
        s.trust_on_first_use = true;
        assert_eq!(refused(&s)[0], "trust_on_first_use");
        let mut s = spec("h");
        s.fingerprint = Some("zz".into());
        assert_eq!(refused(&s)[0], "fingerprint");
        let mut s = spec("http://h");
        s.insecure = true;
        assert!(matches!(
            s.resolve(None).unwrap().options.tls,
            Tls::Insecure
        ));
        let mut s = spec("h");
        s.fingerprint = Some(fp);
        assert!(matches!(
            s.resolve(None).unwrap().trust,
            TrustChoice::Pinned(_)
        ));
        let mut s = spec("h");
        s.trust_on_first_use = true;
        let r = s.resolve(None).unwrap();
        assert_eq!(r.trust, TrustChoice::OnFirstUse);
        assert!(matches!(r.options.tls, Tls::Verified));
    }

    #[test]
    fn protocol_spellings() {
        for (name, p) in [
            ("auto", Protocol::Auto),
            ("JSON", Protocol::JsonRpc),
            ("jsonrpc", Protocol::JsonRpc),
            ("json-rpc", Protocol::JsonRpc),
            ("Xml", Protocol::XmlRpc),
            ("xmlrpc", Protocol::XmlRpc),
            ("XML-RPC", Protocol::XmlRpc),
        ] {
            assert_eq!(name.parse::<Protocol>().unwrap(), p, "{name}");
        }
        let mut s = spec("h");
        s.protocol = Some("soap".into());
        assert_eq!(refused(&s)[0], "protocol");
    }

    #[test]
    fn limits_must_be_positive() {
        let mut s = spec("h");
        s.timeout = Some(Duration::ZERO);
        assert_eq!(refused(&s)[0], "timeout");
        assert_eq!(
            seconds("timeout", f64::NAN).unwrap_err().params()[0],
            "timeout"
        );
        assert_eq!(
            seconds("timeout", 1.5).unwrap(),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn password_sources_in_order_and_never_an_empty_login() {
        // One test touches the environment variable, so nothing races on it.
        let dir = std::env::temp_dir().join(format!("xenpool-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "from-file\nsecond line\n").unwrap();
        let mut s = ConnectSpec::new("h");
        // SAFETY: no other test of this crate reads or writes XENPOOL_PASSWORD.
        unsafe { std::env::remove_var(PASSWORD_ENV) };
        let p = refused(&s);
        assert_eq!(p[0], "password");
        assert!(p[1].contains("root on https://h"), "{p:?}");
        let mut asked = Vec::new();
        let mut prompt = |q: &str| {
            asked.push(q.to_string());
            Ok("typed".to_string())
        };
        let r = s.resolve(Some(&mut prompt)).unwrap();
        assert_eq!(r.credentials.password.expose(), "typed");
        assert_eq!(asked, ["Password for root on https://h: "]);
        unsafe { std::env::set_var(PASSWORD_ENV, "from-env") };
        let pw = |s: &ConnectSpec| s.resolve(None).unwrap().credentials.password;
        assert_eq!(pw(&s).expose(), "from-env");
        s.password_file = Some(file.clone());
        assert_eq!(pw(&s).expose(), "from-file");
        s.password = Some(Secret::new(""));
        assert_eq!(
            pw(&s).expose(),
            "",
            "an explicit empty password is a choice"
        );
        unsafe { std::env::remove_var(PASSWORD_ENV) };
        s.password = None;
        s.password_file = Some(dir.join("missing"));
        assert_eq!(refused(&s)[0], "password_file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_password_is_in_no_error_or_debug_text() {
        let mut s = spec("ftp://h");
        s.password = Some(Secret::new("hunter2-secret"));
        let e = s.resolve(None).unwrap_err();
        assert!(!format!("{e} {e:?} {s:?}").contains("hunter2"));
        let r = spec("h").resolve(None).unwrap();
        assert!(!format!("{r:?}").contains("\"pw\""));
    }
}
