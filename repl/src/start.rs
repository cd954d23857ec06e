//! Starting a session: the embedded simulator, or a real pool with a password and a
//! certificate policy.

use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use xenpool::pool::PoolConnection;
use xenpool::{ConnectOptions, Credentials, Fingerprint, Secret, Tls};
use xenpool_sim::{Config, Scenario, Simulator};

use crate::hostbook::{HostBook, authority, https_url};
use crate::output::Output;
use crate::secrets::Secrets;
use crate::state::State;

/// A start-up failure, in words (the shell prints it and exits with status 2).
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<xenpool::Error> for StartError {
    fn from(e: xenpool::Error) -> Self {
        StartError(e.to_string())
    }
}

/// A connected session and a line saying what it is connected to.
pub struct Started {
    /// The shell state.
    pub state: Rc<State>,
    /// For the banner.
    pub description: String,
}

/// Starts the embedded simulator with `scenario` (a built-in name or a TOML path) and
/// connects to the coordinator of its first pool, or else its first host.
pub fn simulator(scenario: &str, out: Output) -> Result<Started, StartError> {
    let scenario = Scenario::load(scenario).map_err(|e| StartError(e.to_string()))?;
    let name = scenario.name.clone();
    let sim = xenpool::blocking::block_on(
        Simulator::builder()
            .scenario(scenario)
            .config(Config {
                auth_failure_delay: Duration::from_millis(200),
                ha_election_delay: Duration::from_millis(500),
                ..Default::default()
            })
            .start(),
    )?
    .map_err(|e| StartError(format!("the simulator did not start: {e}")))?;
    let hosts = sim.hosts();
    let first = hosts
        .iter()
        .find(|h| h.master_address.is_none())
        .ok_or_else(|| StartError("the scenario has no hosts".into()))?;
    let book = HostBook::new(
        Some(sim.clone()),
        ConnectOptions::default(),
        false,
        out.clone(),
    );
    let endpoint = book
        .resolve(&first.name)
        .map_err(|e| StartError(e.message))?;
    let pool = xenpool::blocking::block_on(PoolConnection::connect(
        &endpoint.url,
        Credentials::new("root", first.password.as_str()),
        endpoint.options,
    ))??;
    let addresses = match (hosts.first(), hosts.last()) {
        (Some(a), Some(b)) if hosts.len() > 1 => format!("{} to {}", a.address, b.address),
        (Some(a), _) => a.address.clone(),
        _ => String::new(),
    };
    let description = format!(
        "embedded simulator, scenario {name:?}: {} on {addresses}; connected to {} ({}) as \
            root",
        crate::display::plural(hosts.len(), "host"),
        first.name,
        first.url
    );
    Ok(Started {
        state: Rc::new(State::new(pool, book, Secrets::default(), out)),
        description,
    })
}

/// How the certificate of a real host is checked.
#[derive(Debug, Clone, Default)]
pub struct TlsChoice {
    /// A SHA-256 fingerprint to pin.
    pub fingerprint: Option<String>,
    /// Fetch and show the fingerprint, then pin it (and do so for other hosts met later).
    pub trust_on_first_use: bool,
    /// Accept any certificate.
    pub insecure: bool,
}

/// Where the password comes from: `--password-file` (the explicit choice), else
/// `XENPOOL_PASSWORD`, else a prompt without echo.
pub fn password(file: Option<&Path>) -> Result<Secret, StartError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            StartError(format!(
                "cannot read the password file {}: {e}",
                path.display()
            ))
        })?;
        let first = text.lines().next().unwrap_or_default();
        return Ok(Secret::new(first));
    }
    if let Ok(p) = std::env::var("XENPOOL_PASSWORD") {
        return Ok(Secret::new(p));
    }
    if !console::user_attended_stderr() && !console::Term::stdout().is_term() {
        return Err(StartError(
            "no password: set XENPOOL_PASSWORD, pass --password-file, or run on a terminal".into(),
        ));
    }
    rpassword::prompt_password("Password: ")
        .map(Secret::new)
        .map_err(|e| StartError(format!("cannot read the password: {e}")))
}

/// Connects to a real pool at `url`.
pub fn real(
    url: &str,
    user: &str,
    password: Secret,
    tls: &TlsChoice,
    out: Output,
) -> Result<Started, StartError> {
    let url = https_url(url);
    let authority = authority(&url).to_string();
    let policy = if tls.insecure {
        out.note("warning: --insecure: certificates are not checked");
        Tls::Insecure
    } else if let Some(fp) = &tls.fingerprint {
        Tls::Pinned(fp.parse::<Fingerprint>()?)
    } else if tls.trust_on_first_use {
        let fp = xenpool::blocking::fetch_fingerprint(&authority, Duration::from_secs(10))?;
        out.note(&format!(
            "trusting {authority} on first use: SHA-256 fingerprint {fp}"
        ));
        Tls::Pinned(fp)
    } else {
        Tls::Verified
    };
    let base = ConnectOptions {
        tls: if tls.insecure {
            Tls::Insecure
        } else {
            Tls::Verified
        },
        ..Default::default()
    };
    let book = HostBook::new(None, base, tls.trust_on_first_use, out.clone());
    if let Tls::Pinned(fp) = &policy {
        book.trust(&authority, *fp);
    }
    let secrets = Secrets::default();
    secrets.remember(password.expose());
    let pool = xenpool::blocking::block_on(PoolConnection::connect(
        &url,
        Credentials::new(user, password),
        ConnectOptions {
            tls: policy,
            ..Default::default()
        },
    ))??;
    let description = format!("connected to {} as {user}", pool.coordinator_address());
    Ok(Started {
        state: Rc::new(State::new(pool, book, secrets, out)),
        description,
    })
}
