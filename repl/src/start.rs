//! Starting a session: the embedded simulator, or a real pool with a password and a
//! certificate policy.

use std::rc::Rc;
use std::time::Duration;

use xenpool::connect_spec::{self, ConnectSpec, ResolvedSpec, TrustChoice};
use xenpool::pool::PoolConnection;
use xenpool::{ConnectOptions, Credentials, Tls};
use xenpool_sim::{Config, Scenario, Simulator};

use crate::hostbook::HostBook;
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
        .map_err(|e| StartError(e.message.clone()))?;
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

/// `spec` by core's rules, with a password prompt without echo when `on_terminal`.
pub fn resolve(spec: &ConnectSpec, on_terminal: bool) -> xenpool::Result<ResolvedSpec> {
    let mut ask = |question: &str| rpassword::prompt_password(question);
    match on_terminal {
        true => spec.resolve(Some(&mut ask)),
        false => spec.resolve(None),
    }
}

/// Connects to a real pool as `spec` says, by core's rules (URL forms, password sources,
/// certificate choice). The password prompt, without echo, is offered on a terminal only.
pub fn real(spec: &ConnectSpec, out: Output) -> Result<Started, StartError> {
    let on_terminal = console::user_attended_stderr() || console::Term::stdout().is_term();
    let mut spec = resolve(spec, on_terminal)?;
    let authority = connect_spec::authority(&spec.url).to_string();
    if spec.trust == TrustChoice::Insecure {
        out.note("warning: --insecure: certificates are not checked");
    }
    let learning = spec.trust == TrustChoice::OnFirstUse;
    let pinned = xenpool::blocking::block_on(spec.settle())??;
    if let (true, Some(fp)) = (learning, pinned) {
        out.note(&format!(
            "trusting {authority} on first use: SHA-256 fingerprint {fp}"
        ));
    }
    // Hosts met later (join candidates) are checked the same way, except for the pin,
    // which belongs to this host alone.
    let base = ConnectOptions {
        tls: match spec.trust {
            TrustChoice::Insecure => Tls::Insecure,
            _ => Tls::Verified,
        },
        ..Default::default()
    };
    let book = HostBook::new(None, base, learning, out.clone());
    if let Some(fp) = pinned {
        book.trust(&authority, fp);
    }
    let secrets = Secrets::default();
    secrets.remember(spec.credentials.password.expose());
    let user = spec.credentials.username.clone();
    let pool = xenpool::blocking::block_on(spec.connect_pool())??;
    let description = format!("connected to {} as {user}", pool.coordinator_address());
    Ok(Started {
        state: Rc::new(State::new(pool, book, secrets, out)),
        description,
    })
}
