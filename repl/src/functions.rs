//! The shell's functions: one line per pool operation, and `xenapi(…)` for everything else.
//! Each is a thin adapter from Rhai values to `xenpool::pool`. [`FUNCTIONS`] declares each
//! function once (usage, help line, return type); registration, `:help` and tab completion
//! all read it.

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, FnPtr, Map, NativeCallContext};
use xenpool::connect_spec::{self, TrustChoice};
use xenpool::meta;
use xenpool::pool::cache::{Cached, WaitTarget};
use xenpool::pool::ops::{self, EjectOptions};
use xenpool::pool::{HostAccess, JoinPolicy, OpOptions, PoolConnection, ValidateOptions};
use xenpool::{ConnectSpec, Secret};

use crate::convert;
use crate::display;
use crate::errors::{Fallible, XenError, raise};
use crate::join_report;
use crate::objects::{self, Host, Outcome, Pool, Report, SimHost, Vm};
use crate::progress::Reporter;
use crate::state::State;

/// One documented function.
#[derive(Debug, Clone, Copy)]
pub struct FnDoc {
    /// Its name.
    pub name: &'static str,
    /// How to call it.
    pub usage: &'static str,
    /// The `:help` topic it belongs to.
    pub topic: &'static str,
    /// One sentence.
    pub summary: &'static str,
    /// What it returns, for completion.
    pub returns: Returns,
}

/// What a function returns, for completion after its call (`host("x").` offers a host's
/// fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// One object of a shell type (`Host`, `Pool`, `Outcome`, …).
    Object(&'static str),
    /// A list of such objects.
    List(&'static str),
    /// What the datamodel says the message named by the first argument returns.
    XenApiResult,
    /// Anything else: completion does not look into it.
    Other,
}

macro_rules! docs {
    ($( $name:literal, $topic:literal, $returns:expr, $usage:literal, $summary:literal; )*) => {
        /// Every shell function, declared once: registration refuses a name missing here,
        /// and `:help` and completion read it (tests/functions.rs checks the engine against
        /// it).
        pub const FUNCTIONS: &[FnDoc] = &[$(FnDoc {
            name: $name,
            usage: $usage,
            topic: $topic,
            summary: $summary,
            returns: $returns,
        }),*];
    };
}

/// `name`, once checked to be declared in [`FUNCTIONS`]: every registration goes through
/// this, so a function cannot be added without its help line and completion type.
fn declared(name: &'static str) -> &'static str {
    assert!(
        FUNCTIONS.iter().any(|f| f.name == name),
        "shell function {name} is registered but not declared in FUNCTIONS"
    );
    name
}

docs! {
    "pool", "inspect", Returns::Object("Pool"), "pool()", "The connected pool: name, coordinator, hosts, HA, default SR.";
    "hosts", "inspect", Returns::List("Host"), "hosts()",
        "Every host of the pool (a table; each has name, uuid, address, live, cpu_model, vms, \
            ...).";
    "host", "inspect", Returns::Object("Host"), "host(name_or_uuid)", "One host of the pool.";
    "host_list", "inspect", Returns::Other, "host_list()", "Prints the hosts as `xe host-list` does.";
    "vms", "inspect", Returns::List("VM"), "vms()", "Every VM (not templates, snapshots or control domains).";
    "vm", "inspect", Returns::Object("VM"), "vm(name_or_uuid)", "One VM.";
    "srs", "inspect", Returns::List("SR"), "srs()", "Every storage repository, with the hosts it is plugged on.";
    "connect", "connect", Returns::Object("Pool"), "connect(host) | connect(host, user, password) | connect(host, #{user, password, password_file, fingerprint, trust_on_first_use, insecure, protocol})", "Switches the shell to another host or pool (follows the coordinator); the options mean what they mean for xenpool --url.";
    "trust", "connect", Returns::Other, "trust(host, sha256_fingerprint)", "Pins a host's certificate (self-signed hosts met later: join candidates, coordinators).";
    "password", "connect", Returns::Other, "password() | password(prompt)", "Reads a password without echo; it never reaches the history.";
    "validate_join", "join", Returns::Object("JoinReport"), "validate_join(host [, user, password])", "Checks a host against this pool and reports every problem, not just the first (simulated hosts need no password).";
    "pool_join", "join", Returns::Object("Outcome"), "pool_join(master_address [, master_username, master_password] [, #{force, allow_cross_vendor, dry_run}])", "As `xe pool-join`: the connected host joins the pool of that coordinator (simulated hosts need no password). `force` goes past the documentation's advice and xapi's homogeneity check; a CPU vendor mismatch also needs `allow_cross_vendor` (an unsupported pool).";
    "pool_eject", "join", Returns::Object("Outcome"), "pool_eject(uuid_or_name [, #{dry_run, evacuate, yes}])", "Ejects a member (its VMs are evacuated first unless evacuate: false). On a terminal it says what ejecting does and asks first, as xe pool-eject does; yes: true skips the question.";
    "create_pool", "join", Returns::Object("Outcome"), "create_pool(name, members [, #{description, force, allow_cross_vendor, dry_run}])", "Makes the connected host a coordinator and joins each member (names, addresses or #{host, user, password}).";
    "create_bond", "network", Returns::Object("Outcome"), "create_bond(devices, mode, network [, #{dry_run}])", "A bond of the NICs `devices` on every host, e.g. create_bond([\"eth2\",\"eth3\"], \"lacp\", \"Storage\").";
    "check_bonds", "network", Returns::List("BondProblem"), "check_bonds()", "Bonds that differ from the coordinator's (after a join, bonds follow NIC positions).";
    "repair_bonds", "network", Returns::Object("Outcome"), "repair_bonds([#{dry_run}])", "Rebuilds the bonds check_bonds() reports.";
    "create_nfs_sr", "storage", Returns::Object("Outcome"), "create_nfs_sr(name, server, path [, #{nfs_version, dry_run}])", "Shared NFS storage plugged on every host, made the pool's default SR.";
    "migrate", "vms", Returns::Object("Outcome"), "migrate(vm, host [, #{dry_run}])", "XenMotion: live-migrates a running VM to another host of the pool.";
    "evacuate", "vms", Returns::Object("Outcome"), "evacuate(host [, #{dry_run}])", "Maintenance: disables a host and moves every running VM off it; refused, naming each VM's blocker, when one has nowhere to go.";
    "create_vm", "vms", Returns::Object("Outcome"), "create_vm(name [, #{memory_mib, vcpus, disk_gib, sr, host, start, dry_run}])", "A minimal VM (1024 MiB, 1 vCPU, no disk unless disk_gib; the disk on sr or the pool's default SR), started on host (or where xapi chooses) when start: true.";
    "enable_host", "vms", Returns::Other, "enable_host(host)", "Ends maintenance: the host takes VMs again (host.enable).";
    "disable_host", "vms", Returns::Other, "disable_host(host)", "Maintenance without moving VMs: no new VMs land on the host (host.disable).";
    "enable_ha", "ha", Returns::Object("Outcome"), "enable_ha([heartbeat_sr] [, #{dry_run}])", "Turns HA on (a shared SR holds the heartbeat).";
    "disable_ha", "ha", Returns::Object("Outcome"), "disable_ha([#{dry_run, yes}])", "Turns HA off. On a terminal it asks first, as xe does; yes: true skips the question.";
    "recover_coordinator", "ha", Returns::Object("Outcome"), "recover_coordinator(member [, user, password] [, #{restart_vms, dry_run, yes}])", "Emergency: the coordinator is gone and HA is off; makes `member` the coordinator. With restart_vms, the hosts that stay down are declared dead and their VMs started on the others (only when they are gone for good). On a terminal it shows the warnings and asks first; yes: true skips the question.";
    "wait_for", "events", Returns::Other, "wait_for(object, |record| condition [, timeout_secs]) | wait_for(class, name, |record| condition [, timeout_secs]) | wait_for(class, |record| condition [, timeout_secs])", "Waits, fed by events, until an object's record (or, given only a class, any object's of that class) satisfies the condition; returns that record.";
    "xenapi", "xenapi", Returns::XenApiResult, "xenapi(\"Class.method\", args... [, #{yes: true}])", "Any XenAPI call; arguments and results are converted by the datamodel's types. On a terminal, destructive calls (VM/VDI/SR/host destroy, SR.forget, host shutdown/reboot/declare_dead, pool.eject) say what they risk and ask first; a last #{yes: true} answers in advance.";
    "full", "inspect", Returns::Other, "full(value)", "Prints a big result whole: a map or list longer than a line shows its first 10 rows and a count (`:full` prints the last result whole).";
    "join", "scripting", Returns::Other, "list.join(separator)", "The items as text, separated: hosts().map(|h| h.name).join(\", \").";
    "assert", "scripting", Returns::Other, "assert(condition [, message])", "Stops the script with an ASSERTION error unless the condition holds.";
    "sim_hosts", "simulator", Returns::List("SimHost"), "sim_hosts()", "The simulated hosts (embedded simulator only).";
    "sim_kill", "simulator", Returns::Other, "sim_kill(host)",
        "Kills a simulated host (HA then elects a new coordinator).";
    "sim_restart", "simulator", Returns::Other, "sim_restart(host)", "Restarts a killed simulated host.";
    "sim_latency", "simulator", Returns::Other, "sim_latency(host, ms)", "Delays every reply of a simulated host.";
    "sim_operation_time", "simulator", Returns::Other, "sim_operation_time(ms)", "How long simulated long operations (VM start, migration, SR creation) take, to watch their progress.";
}

/// Options given as a map, checked against the names an operation knows.
struct Options(Map);

impl Options {
    fn parse(map: Map, known: &[&str]) -> Fallible<Self> {
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(XenError::invalid(
                "options",
                format!(
                    "unknown option {k:?}; this function takes {}",
                    known.join(", ")
                ),
            )
            .into_rhai());
        }
        Ok(Options(map))
    }

    fn flag(&self, key: &str) -> Fallible<bool> {
        match self.0.get(key) {
            None => Ok(false),
            Some(v) => v.as_bool().map_err(|_| {
                XenError::invalid(key, format!("option {key} must be true or false")).into_rhai()
            }),
        }
    }

    fn int(&self, key: &str) -> Fallible<Option<i64>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => v.as_int().map(Some).map_err(|_| {
                XenError::invalid(key, format!("option {key} must be an integer")).into_rhai()
            }),
        }
    }

    fn text(&self, key: &str) -> Fallible<Option<String>> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => v.clone().into_string().map(Some).map_err(|_| {
                XenError::invalid(key, format!("option {key} must be a string")).into_rhai()
            }),
        }
    }
}

/// Runs a pool operation with its progress shown (a bar, or `[step/total]` lines) around
/// it. `what` names it on the bar and in a cancellation message.
fn operation<T, Fut>(
    s: &State,
    what: &str,
    dry_run: bool,
    run: impl FnOnce(OpOptions) -> Fut,
) -> Fallible<T>
where
    Fut: Future<Output = xenpool::Result<T>>,
{
    let (options, progress) = Reporter::start(&s.out, what, dry_run);
    let result = s.call(what, run(options));
    progress.finish();
    result
}

/// The options of operations whose only option is `dry_run`.
fn dry_run_only(opts: Map) -> Fallible<bool> {
    Options::parse(opts, &["dry_run"])?.flag("dry_run")
}

fn objects<T: Clone + 'static>(items: impl IntoIterator<Item = T>) -> Array {
    items.into_iter().map(Dynamic::from).collect()
}

// ---- inspection ------------------------------------------------------------------------

fn pool(s: &State) -> Fallible<Pool> {
    Ok(s.snapshot()?.pool_summary())
}

fn hosts(s: &State) -> Fallible<Vec<Host>> {
    Ok(s.snapshot()?.host_summaries())
}

fn host(s: &State, name: &str) -> Fallible<Host> {
    let snap = s.snapshot()?;
    let h = snap.find_host(name).map_err(raise)?;
    Ok(Host::of(&h))
}

fn vms(s: &State) -> Fallible<Array> {
    Ok(objects(s.snapshot()?.vm_summaries()))
}

fn vm(s: &State, name: &str) -> Fallible<Vm> {
    let snap = s.snapshot()?;
    let v = snap.find_vm(name).map_err(raise)?;
    Ok(Vm::of(&v))
}

fn srs(s: &State) -> Fallible<Array> {
    Ok(objects(s.snapshot()?.sr_summaries()))
}

// ---- connecting ------------------------------------------------------------------------

/// How to reach the connected host (as a join candidate or a new pool's coordinator).
fn current_access(s: &State) -> HostAccess {
    let pool = s.pool();
    let conn = pool.connection();
    HostAccess::new(
        conn.url(),
        conn.credentials().clone(),
        (*conn.options()).clone(),
    )
}

fn access(
    s: &State,
    host: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Fallible<HostAccess> {
    if let Some(p) = password {
        s.secrets.remember(p);
    }
    let endpoint = s.book.resolve(host).map_err(XenError::into_rhai)?;
    endpoint.access(user, password).map_err(XenError::into_rhai)
}

fn open_pool(s: &State, target: &HostAccess) -> Fallible<PoolConnection> {
    let (url, credentials, options) = (
        target.url.clone(),
        target.credentials.clone(),
        target.options.clone(),
    );
    s.call(&format!("connecting to {url}"), async move {
        PoolConnection::connect(&url, credentials, options).await
    })
}

fn connect(s: &State, host: &str, user: Option<&str>, password: Option<&str>) -> Fallible<Pool> {
    let target = access(s, host, user, password)?;
    let pool = open_pool(s, &target)?;
    s.switch(pool);
    self::pool(s)
}

/// `connect(host, #{user, password, password_file, fingerprint, trust_on_first_use,
/// insecure, protocol})`: the options mean what core's `ConnectSpec` says, as for
/// `xenpool --url`. A simulated host needs no password and, without a certificate choice,
/// keeps the pin the shell knows for it.
fn connect_with(s: &State, host: &str, opts: Map) -> Fallible<Pool> {
    const KEYS: &[&str] = &[
        "user",
        "password",
        "password_file",
        "fingerprint",
        "trust_on_first_use",
        "insecure",
        "protocol",
    ];
    let o = Options::parse(opts, KEYS)?;
    let endpoint = s.book.resolve(host).map_err(XenError::into_rhai)?;
    let password = o.text("password")?;
    if let Some(p) = &password {
        s.secrets.remember(p);
    }
    let typed_address = host.contains(['.', ':', '/']);
    let spec = ConnectSpec {
        url: if typed_address {
            host.to_string()
        } else {
            endpoint.url.clone()
        },
        user: o.text("user")?,
        password: password
            .or_else(|| {
                endpoint
                    .known_password
                    .as_ref()
                    .map(|p| p.expose().to_string())
            })
            .map(Secret::new),
        password_file: o.text("password_file")?.map(Into::into),
        fingerprint: o.text("fingerprint")?,
        trust_on_first_use: o.flag("trust_on_first_use")?,
        insecure: o.flag("insecure")?,
        protocol: o.text("protocol")?,
        ..Default::default()
    };
    let chosen = spec.fingerprint.is_some() || spec.trust_on_first_use || spec.insecure;
    let mut resolved = crate::start::resolve(&spec, on_terminal(s)).map_err(raise)?;
    if !chosen {
        resolved.options.tls = endpoint.options.tls.clone();
    }
    let learning = resolved.trust == TrustChoice::OnFirstUse;
    let pool = s.call(&format!("connecting to {}", resolved.url), async move {
        let pinned = resolved.settle().await?;
        let authority = connect_spec::authority(&resolved.url).to_string();
        Ok((
            resolved.connect_pool().await?,
            pinned.map(|f| (authority, f)),
        ))
    })?;
    let (pool, pinned) = pool;
    if let (true, Some((authority, fp))) = (learning, pinned) {
        s.out.note(&format!(
            "trusting {authority} on first use: SHA-256 fingerprint {fp}"
        ));
        s.book.trust(&authority, fp);
    }
    s.switch(pool);
    self::pool(s)
}

fn read_password(s: &State, prompt: &str) -> Fallible<String> {
    if s.out.is_captured() {
        return Err(XenError::invalid("password", "password() needs a terminal").into_rhai());
    }
    let p = rpassword::prompt_password(prompt).map_err(|e| {
        XenError::invalid("password", format!("cannot read a password: {e}")).into_rhai()
    })?;
    s.secrets.remember(&p);
    Ok(p)
}

// ---- joining ---------------------------------------------------------------------------

fn validate_join(
    s: &State,
    host: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Fallible<Report> {
    let candidate = access(s, host, user, password)?;
    let pool = s.pool();
    let report = s.call(&format!("checking {host}"), async move {
        xenpool::pool::validate_join(
            &pool,
            &candidate.url,
            &candidate.credentials,
            &ValidateOptions {
                connect: candidate.options.clone(),
                ..Default::default()
            },
        )
        .await
    })?;
    Ok(join_report::summary(&report, display::width()))
}

fn pool_join(
    s: &State,
    master: &str,
    user: Option<&str>,
    password: Option<&str>,
    opts: Map,
) -> Fallible<Outcome> {
    if let Some(p) = password {
        s.secrets.remember(p);
    }
    let opts = Options::parse(opts, &["force", "allow_cross_vendor", "dry_run"])?;
    let policy = JoinPolicy {
        force: opts.flag("force")?,
        allow_cross_vendor: opts.flag("allow_cross_vendor")?,
    };
    let dry_run = opts.flag("dry_run")?;
    let coordinator = access(s, master, user, password)?;
    let candidate = current_access(s);
    let pool = open_pool(s, &coordinator)?;
    let joining = pool.clone();
    let result = operation(s, "join", dry_run, |options| async move {
        xenpool::pool::join(&joining, &candidate, policy, &options).await
    });
    let outcome = match result {
        Ok(o) if o.executed => o,
        other => {
            // Refused, failed or a dry run: the coordinator session is not needed.
            let spare = pool.clone();
            s.run_quietly(async move { spare.close().await });
            other?
        }
    };
    let summary = format!(
        "{} joined the pool (coordinator {}){}",
        outcome.report.candidate.name,
        outcome.report.pool.coordinator.name,
        outcome
            .notes
            .iter()
            .map(|n| format!("\n  note: {n}"))
            .collect::<String>()
    );
    let result = Outcome::new(
        &outcome.plan,
        outcome.executed,
        summary,
        outcome.notes.clone(),
    );
    if outcome.executed {
        // The candidate's own session died with its database; carry on with the pool.
        s.switch(pool);
    }
    Ok(result)
}

fn pool_eject(s: &State, host: &str, opts: Map) -> Fallible<Outcome> {
    let opts = Options::parse(opts, &["dry_run", "evacuate", "yes"])?;
    let dry_run = opts.flag("dry_run")?;
    let evacuate = if opts.0.contains_key("evacuate") {
        opts.flag("evacuate")?
    } else {
        EjectOptions::default().evacuate
    };
    let eject = EjectOptions { evacuate };
    let pool = s.pool();
    let name = host.to_string();
    if asks(s, &opts, dry_run)? {
        // As `xe pool-eject`: say what ejecting does, then ask.
        let (p, n, e) = (pool.clone(), name.clone(), eject.clone());
        let plan = s.call(&format!("planning the ejection of {host}"), async move {
            ops::eject(&p, &n, &e, &OpOptions::dry_run()).await
        })?;
        ask_first(
            s,
            &plan.plan,
            &format!("Eject {host} from the pool?"),
            &format!("eject {host}"),
        )?;
    }
    let o = operation(s, "eject", dry_run, |options| async move {
        ops::eject(&pool, &name, &eject, &options).await
    })?;
    let mut summary = format!("{host} ejected; it reboots as a standalone host");
    if !o.evacuated.is_empty() {
        summary.push_str(&format!(
            " (VMs moved off first: {})",
            o.evacuated.join(", ")
        ));
    }
    // The documentation's warnings belong to the real run too, not only the dry run.
    for warning in &o.plan.warnings {
        summary.push_str(&format!("\n  warning: {warning}"));
    }
    Ok(Outcome::new(
        &o.plan,
        o.executed,
        summary,
        o.detail.evacuated,
    ))
}

/// True when a destructive operation should ask first, as `xe` does: a real run, on a
/// terminal, without `yes: true`.
fn asks(s: &State, opts: &Options, dry_run: bool) -> Fallible<bool> {
    Ok(!dry_run && !opts.flag("yes")? && on_terminal(s))
}

/// Prints the plan's warnings and asks; anything but yes is a `CANCELLED` error with
/// nothing changed.
fn ask_first(
    s: &State,
    plan: &xenpool::pool::Plan,
    question: &str,
    operation: &str,
) -> Fallible<()> {
    for warning in &plan.warnings {
        s.out.line(&format!("  warning: {warning}"));
    }
    if confirm(question)? {
        Ok(())
    } else {
        Err(raise(xenpool::Error::Cancelled {
            method: operation.to_string(),
            may_have_reached_host: false,
        }))
    }
}

/// True when a person can answer a question: the shell reads a terminal and writes to it.
fn on_terminal(s: &State) -> bool {
    use std::io::IsTerminal;
    !s.out.is_captured() && std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Asks a yes/no question on the terminal, as `xe` does before destructive operations.
fn confirm(question: &str) -> Fallible<bool> {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout();
    let _ = write!(out, "{question} Type yes to continue: ");
    let _ = out.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| {
            XenError::invalid("answer", format!("cannot read the answer: {e}")).into_rhai()
        })?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "yes" | "y"))
}

fn member_access(s: &State, member: &Dynamic) -> Fallible<HostAccess> {
    if let Ok(name) = member.clone().into_string() {
        return access(s, &name, None, None);
    }
    let Some(map) = member.clone().try_cast::<Map>() else {
        return Err(XenError::invalid(
            "member",
            format!(
                "a member is a host name, an address or #{{host, user, password}}, not {}",
                member.type_name()
            ),
        )
        .into_rhai());
    };
    if let Some(p) = map
        .get("password")
        .and_then(|p| p.clone().into_string().ok())
    {
        s.secrets.remember(&p);
    }
    let opts = Options::parse(map, &["host", "user", "password"])?;
    let host = opts
        .text("host")?
        .ok_or_else(|| XenError::invalid("host", "a member map needs `host`").into_rhai())?;
    let user = opts.text("user")?;
    let password = opts.text("password")?;
    access(s, &host, user.as_deref(), password.as_deref())
}

fn create_pool(s: &State, name: &str, members: Array, opts: Map) -> Fallible<Outcome> {
    // Members first: their passwords are remembered (for the history) whatever fails next.
    let members: Vec<HostAccess> = members
        .iter()
        .map(|m| member_access(s, m))
        .collect::<Fallible<_>>()?;
    let opts = Options::parse(
        opts,
        &["description", "force", "allow_cross_vendor", "dry_run"],
    )?;
    let policy = JoinPolicy {
        force: opts.flag("force")?,
        allow_cross_vendor: opts.flag("allow_cross_vendor")?,
    };
    let dry_run = opts.flag("dry_run")?;
    let description = opts.text("description")?.unwrap_or_default();
    let master = current_access(s);
    let pool_name = name.to_string();
    let (pool, o) = operation(s, "create pool", dry_run, |options| async move {
        xenpool::pool::create_pool(
            &pool_name,
            &description,
            &master,
            &members,
            policy,
            &options,
        )
        .await
    })?;
    let mut summary = format!("pool {name:?} created");
    if !o.joined.is_empty() {
        summary.push_str(&format!("; joined: {}", o.joined.join(", ")));
    }
    let outcome = Outcome::new(&o.plan, o.executed, summary.clone(), o.joined.clone());
    if o.executed {
        s.switch(pool);
    } else {
        s.run_quietly(async move { pool.close().await });
    }
    Ok(outcome)
}

// ---- networking, storage, VMs, HA -------------------------------------------------------

fn create_bond(
    s: &State,
    devices: Array,
    mode: &str,
    network: &str,
    opts: Map,
) -> Fallible<Outcome> {
    let dry_run = dry_run_only(opts)?;
    let devices: Vec<String> = devices
        .into_iter()
        .map(|d| {
            d.into_string().map_err(|_| {
                XenError::invalid("devices", "devices are names such as \"eth2\"").into_rhai()
            })
        })
        .collect::<Fallible<_>>()?;
    let mode = ops::bond_mode(mode);
    let pool = s.pool();
    let network = network.to_string();
    let o = operation(s, "bond", dry_run, |options| async move {
        let names: Vec<&str> = devices.iter().map(String::as_str).collect();
        ops::create_bond(&pool, &names, mode, &network, &options).await
    })?;
    let items: Vec<String> = o
        .bonds
        .iter()
        .map(|b| {
            format!(
                "{}: {} ({})",
                b.host,
                s.describe(&b.bond),
                b.members.join("+")
            )
        })
        .collect();
    let summary = format!("bond on network {:?}: {}", o.network, items.join("; "));
    Ok(Outcome::new(&o.plan, o.executed, summary, items))
}

fn check_bonds(s: &State) -> Fallible<Array> {
    let snap = s.snapshot()?;
    Ok(objects(ops::check_bonds(&snap)))
}

fn repair_bonds(s: &State, opts: Map) -> Fallible<Outcome> {
    let dry_run = dry_run_only(opts)?;
    let pool = s.pool();
    let o = operation(s, "repair bonds", dry_run, |options| async move {
        ops::repair_bonds(&pool, &options).await
    })?;
    let items: Vec<String> = o.problems.iter().map(|p| p.host.clone()).collect();
    let summary = if items.is_empty() {
        "every bond already matches the coordinator's".to_string()
    } else {
        format!("bonds rebuilt on: {}", items.join(", "))
    };
    Ok(Outcome::new(&o.plan, o.executed, summary, items))
}

fn create_nfs_sr(s: &State, name: &str, server: &str, path: &str, opts: Map) -> Fallible<Outcome> {
    let opts = Options::parse(opts, &["nfs_version", "dry_run"])?;
    let dry_run = opts.flag("dry_run")?;
    let version = opts.text("nfs_version")?;
    let pool = s.pool();
    let (n, sv, p) = (name.to_string(), server.to_string(), path.to_string());
    let o = operation(s, "NFS SR", dry_run, |options| async move {
        ops::create_nfs_sr(&pool, &n, &sv, &p, version.as_deref(), &options).await
    })?;
    let summary =
        format!("SR {name:?} ({server}:{path}) plugged on every host and made the default");
    Ok(Outcome::new(
        &o.plan,
        o.executed,
        summary,
        o.detail.sr.into_iter().collect(),
    ))
}

/// A host, VM or SR argument given as a name, uuid or object (objects by uuid).
fn name_of(value: &Dynamic) -> Fallible<String> {
    if let Ok(text) = value.clone().into_string() {
        return Ok(text);
    }
    convert::identify(value).map(|o| o.uuid).ok_or_else(|| {
        XenError::invalid(
            "name",
            format!("expected a name, uuid or object, not {}", value.type_name()),
        )
        .into_rhai()
    })
}

fn moves(s: &State, what: &str, target: &str, host: Option<&str>, opts: Map) -> Fallible<Outcome> {
    let dry_run = dry_run_only(opts)?;
    let pool = s.pool();
    let (t, h) = (target.to_string(), host.map(str::to_string));
    let o = operation(s, what, dry_run, |options| async move {
        match h {
            Some(h) => ops::migrate(&pool, &t, &h, &options).await,
            None => ops::evacuate(&pool, &t, &options).await,
        }
    })?;
    let items: Vec<String> = o
        .moved
        .iter()
        .map(|(vm, to)| format!("{vm} -> {to}"))
        .collect();
    let summary = if items.is_empty() {
        "nothing to move".to_string()
    } else {
        format!("moved: {}", items.join(", "))
    };
    Ok(Outcome::new(&o.plan, o.executed, summary, items))
}

fn create_vm(s: &State, name: &str, opts: Map) -> Fallible<Outcome> {
    let opts = Options::parse(
        opts,
        &[
            "memory_mib",
            "vcpus",
            "disk_gib",
            "sr",
            "host",
            "start",
            "dry_run",
        ],
    )?;
    let mut spec = ops::VmSpec::new(name);
    if let Some(m) = opts.int("memory_mib")? {
        spec.memory_mib = m;
    }
    if let Some(v) = opts.int("vcpus")? {
        spec.vcpus = v;
    }
    spec.disk_gib = opts.int("disk_gib")?;
    spec.sr = opts.text("sr")?;
    spec.host = opts.text("host")?;
    spec.start = opts.flag("start")? || spec.host.is_some();
    let dry_run = opts.flag("dry_run")?;
    let pool = s.pool();
    let o = operation(s, "create_vm", dry_run, |options| async move {
        ops::create_vm(&pool, &spec, &options).await
    })?;
    let summary = match &o.resident_on {
        Some(host) => format!("{name} ({}) created, running on {host}", o.uuid),
        None => format!("{name} ({}) created, halted", o.uuid),
    };
    Ok(Outcome::new(
        &o.plan,
        o.executed,
        summary,
        vec![o.uuid.clone()],
    ))
}

fn set_host_enabled(s: &State, host: &str, enabled: bool) -> Fallible<String> {
    let pool = s.pool();
    let name = host.to_string();
    let verb = if enabled { "enabling" } else { "disabling" };
    s.call(&format!("{verb} {host}"), async move {
        if enabled {
            ops::enable_host(&pool, &name).await
        } else {
            ops::disable_host(&pool, &name).await
        }
    })?;
    Ok(format!(
        "{host} {}",
        if enabled { "enabled" } else { "disabled" }
    ))
}

fn enable_ha(s: &State, sr: Option<&str>, opts: Map) -> Fallible<Outcome> {
    let dry_run = dry_run_only(opts)?;
    let pool = s.pool();
    let sr = sr.map(str::to_string);
    let o = operation(s, "enable HA", dry_run, |options| async move {
        ops::enable_ha(&pool, sr.as_deref(), &options).await
    })?;
    let summary = format!(
        "HA enabled; the pool tolerates {}",
        display::plural(
            usize::try_from(o.failures_to_tolerate).unwrap_or(0),
            "host failure"
        )
    );
    Ok(Outcome::new(&o.plan, o.executed, summary, vec![]))
}

fn disable_ha(s: &State, opts: Map) -> Fallible<Outcome> {
    let opts = Options::parse(opts, &["dry_run", "yes"])?;
    let dry_run = opts.flag("dry_run")?;
    let pool = s.pool();
    if asks(s, &opts, dry_run)? {
        let p = pool.clone();
        let mut plan = s
            .call("planning to disable HA", async move {
                ops::disable_ha(&p, &OpOptions::dry_run()).await
            })?
            .plan;
        plan.warn("hosts that fail are no longer fenced and their VMs not restarted");
        ask_first(s, &plan, "Disable HA on the pool?", "disable HA")?;
    }
    let o = operation(s, "disable HA", dry_run, |options| async move {
        ops::disable_ha(&pool, &options).await
    })?;
    Ok(Outcome::new(&o.plan, o.executed, "HA disabled", vec![]))
}

fn recover_coordinator(
    s: &State,
    member: &str,
    user: Option<&str>,
    password: Option<&str>,
    opts: Map,
) -> Fallible<Outcome> {
    let opts = Options::parse(opts, &["restart_vms", "dry_run", "yes"])?;
    let recovery = ops::RecoveryOptions {
        restart_vms: opts.flag("restart_vms")?,
    };
    let dry_run = opts.flag("dry_run")?;
    let target = access(s, member, user, password)?;
    if asks(s, &opts, dry_run)? {
        let t = target.clone();
        let (_, o) = s.call("planning the recovery", async move {
            ops::recover_lost_coordinator(
                &t.url,
                t.credentials,
                t.options,
                recovery,
                &OpOptions::dry_run(),
            )
            .await
        })?;
        ask_first(
            s,
            &o.plan,
            &format!("Make {member} the coordinator?"),
            &format!("recover with {member}"),
        )?;
    }
    let (pool, o) = operation(s, "recover", dry_run, |options| async move {
        ops::recover_lost_coordinator(
            &target.url,
            target.credentials,
            target.options,
            recovery,
            &options,
        )
        .await
    })?;
    let Some(pool) = pool else {
        return Ok(Outcome::new(&o.plan, false, String::new(), vec![]));
    };
    s.switch(pool);
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    let mut summary = format!(
        "{member} is the coordinator now; members recovered: {}",
        list(&o.recovered)
    );
    if recovery.restart_vms {
        let restarted: Vec<String> = o
            .restarted
            .iter()
            .map(|(vm, host)| format!("{vm} -> {host}"))
            .collect();
        summary.push_str(&format!(
            "\ndeclared dead: {}; VMs restarted: {}",
            list(&o.declared_dead),
            list(&restarted)
        ));
        for (vm, why) in &o.not_restarted {
            summary.push_str(&format!("\n  not restarted: {vm}: {why}"));
        }
    }
    Ok(Outcome::new(&o.plan, true, summary, o.detail.recovered))
}

// ---- events ----------------------------------------------------------------------------

/// Waits until the record of `reference` (one object) or, without one, of any object of
/// `class` satisfies the script's condition; returns that record.
fn wait_for(
    s: &State,
    ctx: &NativeCallContext,
    class: &str,
    reference: Option<&str>,
    predicate: &FnPtr,
    timeout_secs: f64,
) -> Fallible<Dynamic> {
    let timeout = Duration::try_from_secs_f64(timeout_secs)
        .ok()
        .filter(|t| !t.is_zero() && *t <= Duration::from_secs(7 * 24 * 3600))
        .ok_or_else(|| {
            XenError::invalid(
                "timeout",
                "the timeout is a positive number of seconds (at most a week)",
            )
            .into_rhai()
        })?;
    let cache = s.cache(class)?;
    let failure: std::cell::RefCell<Option<Box<rhai::EvalAltResult>>> = Default::default();
    let test = |c: &Cached| {
        let map = convert::from_dyn(c.to_dyn());
        match predicate.call_within_context::<Dynamic>(ctx, (map,)) {
            Ok(v) => match v.as_bool() {
                Ok(b) => b,
                Err(_) => {
                    *failure.borrow_mut() = Some(
                        XenError::invalid(
                            "condition",
                            "the wait_for condition must return true or false",
                        )
                        .into_rhai(),
                    );
                    true
                }
            },
            Err(e) => {
                *failure.borrow_mut() = Some(e);
                true
            }
        }
    };
    let (target, what) = match reference {
        Some(r) => (
            WaitTarget::Object(r.into()),
            format!("waiting for {class} {r}"),
        ),
        None => (
            WaitTarget::Class(class.into()),
            format!("waiting for any {class}"),
        ),
    };
    let found = s.call(&what, async {
        cache.wait_for_value(target, test, timeout).await
    })?;
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    Ok(convert::from_dyn(found.to_dyn()))
}

/// A reference for `class` from a reference, uuid or name.
fn lookup(s: &State, class: &str, key: &str) -> Fallible<String> {
    let pool = s.pool();
    let (class, key) = (class.to_string(), key.to_string());
    s.call(&format!("finding {class} {key}"), async move {
        xenpool::dynamic::reference(&pool, &class, &key).await
    })
}

// ---- the whole API ---------------------------------------------------------------------

fn xenapi(s: &State, method: &str, args: &[Dynamic]) -> Fallible<Dynamic> {
    let found = xenpool::dynamic::Method::find(method);
    // Remember passwords before anything can fail, so the history never keeps them.
    if let Ok(m) = &found {
        for (p, a) in m.message.params.iter().zip(args) {
            if crate::secrets::is_secret_name(p.name)
                && let Ok(secret) = a.clone().into_string()
            {
                s.secrets.remember(&secret);
            }
        }
    }
    let m = found.map_err(raise)?;
    // `#{yes: true}` after the last parameter answers a destructive call's question.
    let (args, answered) = match args.split_last() {
        Some((last, rest)) if args.len() > m.message.params.len() => {
            match last.clone().try_cast::<Map>() {
                Some(map) if map.len() == 1 && map.contains_key("yes") => {
                    (rest, Options::parse(map, &["yes"])?.flag("yes")?)
                }
                _ => (args, false),
            }
        }
        _ => (args, false),
    };
    if !answered
        && on_terminal(s)
        && let Some(warning) = destructive(m.class.name, m.message.name)
    {
        // A target the pool does not know fails the call itself, with nothing to ask.
        let target = match args.first() {
            Some(a) => Some(target_of(s, m.class.name, a)?),
            None => None,
        };
        let mut plan = xenpool::pool::Plan::new(method);
        plan.warn(warning);
        let question = match target {
            Some(t) => format!("{}.{} {t}?", m.class.name, m.message.name),
            None => format!("{}.{}?", m.class.name, m.message.name),
        };
        ask_first(s, &plan, &question, method)?;
    }
    let args = args
        .iter()
        .enumerate()
        .map(|(i, a)| convert::to_dyn(&format!("{method} argument {}", i + 1), a))
        .collect::<Result<Vec<_>, _>>()
        .map_err(XenError::into_rhai)?;
    let pool = s.pool();
    let wire = method.to_string();
    let result = s.call(method, async move {
        xenpool::dynamic::call(&pool, &wire, &args).await
    })?;
    Ok(convert::from_dyn(result))
}

/// What a destructive XenAPI call risks, for the messages `xe` asks about before it runs
/// them (or that take a host or data away for good).
fn destructive(class: &str, message: &str) -> Option<&'static str> {
    Some(match (class, message) {
        ("VM", "destroy") => "the VM's record is deleted (its disks stay: VDI.destroy them)",
        ("VDI", "destroy") => "the disk and its data are deleted",
        ("SR", "destroy") => "the SR and every disk on it are deleted",
        ("SR", "forget") => "the pool forgets the SR (the data stays on the storage)",
        ("host", "shutdown") => "the host powers off (disable and evacuate it first)",
        ("host", "reboot") => "the host reboots (disable and evacuate it first)",
        ("host", "destroy") => "the host is removed from the pool's database",
        ("host", "declare_dead") => {
            "its VMs are reset to Halted: if the host comes back they run twice"
        }
        ("pool", "eject") => {
            "the host is wiped and leaves the pool (pool_eject evacuates it first)"
        }
        _ => return None,
    })
}

/// The object a call's first argument names, as `name (uuid)`; a name the pool does not
/// know is its `NOT_FOUND` error.
fn target_of(s: &State, class: &str, arg: &Dynamic) -> Fallible<String> {
    if let Some(o) = convert::identify(arg) {
        return Ok(s.describe(&o.reference));
    }
    match arg.clone().into_string() {
        Ok(key) => Ok(s.describe(&lookup(s, class, &key)?)),
        Err(_) => Ok(arg.to_string()),
    }
}

// ---- the simulator ---------------------------------------------------------------------

fn sim(s: &State) -> Fallible<&xenpool_sim::Simulator> {
    s.book.sim().ok_or_else(|| {
        XenError::invalid(
            "simulator",
            "this works on the embedded simulator only (start with --sim)",
        )
        .into_rhai()
    })
}

fn sim_error(e: xenpool_sim::SimError) -> Box<rhai::EvalAltResult> {
    XenError::invalid("simulator", e.to_string()).into_rhai()
}

fn sim_hosts(s: &State) -> Fallible<Array> {
    let sim = sim(s)?;
    let all = sim.hosts();
    Ok(objects(all.iter().map(|h| {
        SimHost {
            name: h.name.clone(),
            address: h.address.clone(),
            url: h.url.clone(),
            alive: h.alive,
            coordinator: match &h.master_address {
                None => "(itself)".into(),
                Some(a) => all
                    .iter()
                    .find(|c| &c.address == a || format!("{}:{}", c.address, c.port) == *a)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| a.clone()),
            },
        }
    })))
}

/// Registers every function on `engine`.
pub fn register(engine: &mut Engine, state: &Rc<State>) {
    objects::register(engine);
    crate::errors::register(engine);
    convert::register(engine);

    macro_rules! f {
        ($name:literal, |$s:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {{
            let st = state.clone();
            engine.register_fn(declared($name), move |$($arg: $ty),*| { let $s: &State = &st; $body });
        }};
    }
    macro_rules! ctx {
        ($name:literal, |$s:ident, $ctx:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {{
            let st = state.clone();
            engine.register_fn(declared($name), move |$ctx: NativeCallContext, $($arg: $ty),*| {
                let $s: &State = &st;
                $body
            });
        }};
    }

    f!("pool", |s| pool(s));
    f!("hosts", |s| hosts(s).map(objects));
    f!("host", |s, name: &str| host(s, name));
    f!("host_list", |s| {
        let list = display::host_list(&hosts(s)?);
        s.out.line(list.trim_end());
        Ok::<_, Box<rhai::EvalAltResult>>(())
    });
    f!("vms", |s| vms(s));
    f!("vm", |s, name: &str| vm(s, name));
    f!("srs", |s| srs(s));

    f!("connect", |s, host: &str| connect(s, host, None, None));
    f!("connect", |s, host: &str, opts: Map| connect_with(
        s, host, opts
    ));
    f!("connect", |s, host: &str, user: &str, password: &str| {
        connect(s, host, Some(user), Some(password))
    });
    f!("trust", |s, host: &str, fingerprint: &str| {
        let fp: xenpool::Fingerprint = fingerprint.parse().map_err(raise)?;
        s.book.trust(xenpool::connect_spec::authority(host), fp);
        Ok::<_, Box<rhai::EvalAltResult>>(())
    });
    f!("password", |s| read_password(s, "Password: "));
    f!("password", |s, prompt: &str| read_password(s, prompt));

    f!("validate_join", |s, host: &str| validate_join(
        s, host, None, None
    ));
    f!("validate_join", |s,
                         host: &str,
                         user: &str,
                         password: &str| {
        validate_join(s, host, Some(user), Some(password))
    });
    // Without credentials: root and the password the host book knows (simulated hosts).
    f!("pool_join", |s, master: &str| pool_join(
        s,
        master,
        None,
        None,
        Map::new()
    ));
    f!("pool_join", |s, master: &str, opts: Map| pool_join(
        s, master, None, None, opts
    ));
    f!("pool_join", |s,
                     master: &str,
                     user: &str,
                     password: &str| pool_join(
        s,
        master,
        Some(user),
        Some(password),
        Map::new()
    ));
    f!("pool_join", |s,
                     master: &str,
                     user: &str,
                     password: &str,
                     opts: Map| pool_join(
        s,
        master,
        Some(user),
        Some(password),
        opts
    ));
    f!("pool_eject", |s, host: Dynamic| pool_eject(
        s,
        &name_of(&host)?,
        Map::new()
    ));
    f!("pool_eject", |s, host: Dynamic, opts: Map| pool_eject(
        s,
        &name_of(&host)?,
        opts
    ));
    f!("create_pool", |s, name: &str, members: Array| create_pool(
        s,
        name,
        members,
        Map::new()
    ));
    f!("create_pool", |s, name: &str, members: Array, opts: Map| {
        create_pool(s, name, members, opts)
    });

    f!("create_bond", |s,
                       devices: Array,
                       mode: &str,
                       network: &str| {
        create_bond(s, devices, mode, network, Map::new())
    });
    f!("create_bond", |s,
                       devices: Array,
                       mode: &str,
                       network: &str,
                       opts: Map| create_bond(
        s, devices, mode, network, opts
    ));
    f!("check_bonds", |s| check_bonds(s));
    f!("repair_bonds", |s| repair_bonds(s, Map::new()));
    f!("repair_bonds", |s, opts: Map| repair_bonds(s, opts));
    f!("create_nfs_sr", |s,
                         name: &str,
                         server: &str,
                         path: &str| {
        create_nfs_sr(s, name, server, path, Map::new())
    });
    f!("create_nfs_sr", |s,
                         name: &str,
                         server: &str,
                         path: &str,
                         opts: Map| {
        create_nfs_sr(s, name, server, path, opts)
    });
    f!("migrate", |s, vm: Dynamic, host: Dynamic| moves(
        s,
        "migrate",
        &name_of(&vm)?,
        Some(&name_of(&host)?),
        Map::new()
    ));
    f!("migrate", |s, vm: Dynamic, host: Dynamic, opts: Map| moves(
        s,
        "migrate",
        &name_of(&vm)?,
        Some(&name_of(&host)?),
        opts
    ));
    f!("evacuate", |s, host: Dynamic| moves(
        s,
        "evacuate",
        &name_of(&host)?,
        None,
        Map::new()
    ));
    f!("evacuate", |s, host: Dynamic, opts: Map| moves(
        s,
        "evacuate",
        &name_of(&host)?,
        None,
        opts
    ));
    f!("create_vm", |s, name: &str| create_vm(s, name, Map::new()));
    f!("create_vm", |s, name: &str, opts: Map| create_vm(
        s, name, opts
    ));
    f!("enable_host", |s, host: Dynamic| set_host_enabled(
        s,
        &name_of(&host)?,
        true
    ));
    f!("disable_host", |s, host: Dynamic| set_host_enabled(
        s,
        &name_of(&host)?,
        false
    ));
    f!("enable_ha", |s| enable_ha(s, None, Map::new()));
    f!("enable_ha", |s, sr: &str| enable_ha(
        s,
        Some(sr),
        Map::new()
    ));
    f!("enable_ha", |s, opts: Map| enable_ha(s, None, opts));
    f!("enable_ha", |s, sr: &str, opts: Map| enable_ha(
        s,
        Some(sr),
        opts
    ));
    f!("disable_ha", |s| disable_ha(s, Map::new()));
    f!("disable_ha", |s, opts: Map| disable_ha(s, opts));
    f!(
        "recover_coordinator",
        |s, member: &str| recover_coordinator(s, member, None, None, Map::new())
    );
    f!("recover_coordinator", |s, member: &str, opts: Map| {
        recover_coordinator(s, member, None, None, opts)
    });
    f!(
        "recover_coordinator",
        |s, member: &str, user: &str, password: &str| recover_coordinator(
            s,
            member,
            Some(user),
            Some(password),
            Map::new()
        )
    );
    f!(
        "recover_coordinator",
        |s, member: &str, user: &str, password: &str, opts: Map| recover_coordinator(
            s,
            member,
            Some(user),
            Some(password),
            opts
        )
    );

    ctx!("wait_for", |s, ctx, target: Dynamic, predicate: FnPtr| {
        let (class, r) = convert::identify(&target)
            .map(|o| (o.class, o.reference))
            .ok_or_else(|| {
                XenError::invalid(
                    "target",
                    "wait_for takes a host, VM, SR or pool object, or (class, name, condition)",
                )
                .into_rhai()
            })?;
        wait_for(s, &ctx, class, Some(&r), &predicate, 60.0)
    });
    ctx!("wait_for", |s,
                      ctx,
                      target: Dynamic,
                      predicate: FnPtr,
                      timeout: Dynamic| {
        let (class, r) = convert::identify(&target)
            .map(|o| (o.class, o.reference))
            .ok_or_else(|| {
                XenError::invalid(
                    "target",
                    "wait_for takes a host, VM, SR or pool object, or (class, name, condition)",
                )
                .into_rhai()
            })?;
        wait_for(s, &ctx, class, Some(&r), &predicate, seconds(&timeout)?)
    });
    ctx!("wait_for", |s, ctx, class: &str, predicate: FnPtr| {
        wait_for(s, &ctx, wire_class(class)?, None, &predicate, 60.0)
    });
    ctx!("wait_for", |s,
                      ctx,
                      class: &str,
                      predicate: FnPtr,
                      timeout: Dynamic| {
        let class = wire_class(class)?;
        wait_for(s, &ctx, class, None, &predicate, seconds(&timeout)?)
    });
    ctx!("wait_for", |s,
                      ctx,
                      class: &str,
                      key: &str,
                      predicate: FnPtr| {
        let class = wire_class(class)?;
        let r = lookup(s, class, key)?;
        wait_for(s, &ctx, class, Some(&r), &predicate, 60.0)
    });
    ctx!("wait_for", |s,
                      ctx,
                      class: &str,
                      key: &str,
                      predicate: FnPtr,
                      timeout: Dynamic| {
        let class = wire_class(class)?;
        let r = lookup(s, class, key)?;
        wait_for(s, &ctx, class, Some(&r), &predicate, seconds(&timeout)?)
    });

    f!("xenapi", |s, m: &str| xenapi(s, m, &[]));
    f!("xenapi", |s, m: &str, a: Dynamic| xenapi(s, m, &[a]));
    f!("xenapi", |s, m: &str, a: Dynamic, b: Dynamic| xenapi(
        s,
        m,
        &[a, b]
    ));
    f!("xenapi", |s,
                  m: &str,
                  a: Dynamic,
                  b: Dynamic,
                  c: Dynamic| xenapi(
        s,
        m,
        &[a, b, c]
    ));
    f!("xenapi", |s,
                  m: &str,
                  a: Dynamic,
                  b: Dynamic,
                  c: Dynamic,
                  d: Dynamic| xenapi(
        s,
        m,
        &[a, b, c, d]
    ));
    f!("xenapi", |s,
                  m: &str,
                  a: Dynamic,
                  b: Dynamic,
                  c: Dynamic,
                  d: Dynamic,
                  e: Dynamic| xenapi(
        s,
        m,
        &[a, b, c, d, e]
    ));
    f!("xenapi", |s,
                  m: &str,
                  a: Dynamic,
                  b: Dynamic,
                  c: Dynamic,
                  d: Dynamic,
                  e: Dynamic,
                  g: Dynamic| xenapi(
        s,
        m,
        &[a, b, c, d, e, g]
    ));
    f!("xenapi", |s,
                  m: &str,
                  a: Dynamic,
                  b: Dynamic,
                  c: Dynamic,
                  d: Dynamic,
                  e: Dynamic,
                  g: Dynamic,
                  h: Dynamic| xenapi(
        s,
        m,
        &[a, b, c, d, e, g, h]
    ));

    engine
        .register_type_with_name::<display::Full>("Full")
        .register_fn(declared("full"), |v: Dynamic| display::Full(v))
        .register_fn("to_string", |f: &mut display::Full| f.0.to_string());
    // Rhai arrays have no join; lists of names are everywhere here.
    engine.register_fn(declared("join"), |items: Array, separator: &str| {
        items
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(separator)
    });
    engine.register_fn(declared("assert"), |ok: bool| check(ok, "assertion failed"));
    engine.register_fn(declared("assert"), |ok: bool, message: &str| {
        check(ok, message)
    });

    f!("sim_hosts", |s| sim_hosts(s));
    f!("sim_kill", |s, host: &str| {
        let sim = sim(s)?.clone();
        let name = host.to_string();
        s.run("sim_kill", async move { sim.kill(&name) })?
            .map_err(sim_error)
    });
    f!("sim_restart", |s, host: &str| {
        let sim = sim(s)?.clone();
        let name = host.to_string();
        s.run("sim_restart", async move { sim.restart(&name).await })?
            .map_err(sim_error)
    });
    f!("sim_operation_time", |s, ms: i64| {
        sim(s)?.world().config.operation_time = Duration::from_millis(ms.max(0) as u64);
        Ok::<_, Box<rhai::EvalAltResult>>(())
    });
    f!("sim_latency", |s, host: &str, ms: i64| {
        let latency = Duration::from_millis(ms.max(0) as u64);
        sim(s)?.set_latency(host, latency).map_err(sim_error)
    });
}

fn check(ok: bool, message: &str) -> Fallible<()> {
    if ok {
        Ok(())
    } else {
        Err(XenError::new("ASSERTION", message).into_rhai())
    }
}

fn seconds(v: &Dynamic) -> Fallible<f64> {
    v.as_float()
        .or_else(|_| v.as_int().map(|i| i as f64))
        .map_err(|_| XenError::invalid("timeout", "the timeout is a number of seconds").into_rhai())
}

/// The datamodel's spelling of a class name typed in any case (`vm` → `VM`).
fn wire_class(name: &str) -> Fallible<&'static str> {
    meta::api()
        .class_ignore_case(name)
        .map(|c| c.name)
        .ok_or_else(|| XenError::invalid("class", format!("no XenAPI class {name:?}")).into_rhai())
}
