//! Growing a pool: `join` (validated first; `force` also bypasses the documentation's
//! advice and uses `pool.join_force`) and `create_pool` (validate every member first, then
//! join them one by one, waiting until each is enabled with its storage plugged).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::connection::PoolConnection;
use super::outcome::Outcome;
use super::plan::{OpOptions, Plan, Progress};
use super::report::{Check, JoinPolicy, JoinReport, Waiver};
use super::validate::{ValidateOptions, validate_join};
use super::views::PoolSnapshot;
use crate::connection::Connection;
use crate::error::{Error, MemberError, Refusal, Result};
use crate::generated::{Host, Pool};
use crate::secret::Credentials;
use crate::transport::ConnectOptions;

/// How to reach a host that is not (yet) in the pool.
#[derive(Debug, Clone)]
pub struct HostAccess {
    /// `https://address[:port]`.
    pub url: String,
    /// Its own credentials.
    pub credentials: Credentials,
    /// TLS policy and timeouts for it.
    pub options: ConnectOptions,
}

impl HostAccess {
    /// A host at `url`.
    pub fn new(url: impl Into<String>, credentials: Credentials, options: ConnectOptions) -> Self {
        HostAccess {
            url: url.into(),
            credentials,
            options,
        }
    }
}

/// What [`join`] did.
pub type JoinOutcome = Outcome<Joined>;

/// [`join`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    /// The pre-flight report.
    pub report: JoinReport,
    /// The failing checks a forced join went past (empty for a plain join).
    pub forced_past: Vec<Check>,
    /// The checks that warned (the join went ahead).
    pub warnings: Vec<Check>,
    /// Things the administrator should know afterwards.
    pub notes: Vec<String>,
}

/// Why the pre-flight refuses a join under `policy`: each failing check it does not waive.
fn refusals(report: &JoinReport, policy: JoinPolicy) -> Vec<Refusal> {
    report
        .refusals(policy)
        .into_iter()
        .map(|c| {
            let mut line = format!(
                "{}: {} (candidate: {}; pool: {}) — {}",
                c.title,
                c.status.label(),
                c.evidence.candidate,
                c.evidence.pool,
                c.remedy
            );
            match c.waiver {
                Waiver::Force if !policy.force => line.push_str(" [a forced join accepts this]"),
                Waiver::CrossVendorOverride => line.push_str(
                    " [only a forced join with allow_cross_vendor accepts this; unsupported]",
                ),
                _ => {}
            }
            Refusal::new(&c.id, line)
        })
        .collect()
}

/// What a forced join goes past and what a join should warn about, for its outcome.
fn waived_and_warned(report: &JoinReport, policy: JoinPolicy) -> (Vec<Check>, Vec<Check>) {
    (
        report.waived(policy).into_iter().cloned().collect(),
        report.warnings().into_iter().cloned().collect(),
    )
}

fn describe(c: &Check) -> String {
    format!(
        "{} (candidate: {}; pool: {})",
        c.title, c.evidence.candidate, c.evidence.pool
    )
}

fn join_plan(report: &JoinReport, coordinator: &str, policy: JoinPolicy) -> Plan {
    let force = policy.force;
    let name = &report.candidate.name;
    let mut plan = Plan::new(format!(
        "{} {name}",
        if force { "force-join" } else { "join" }
    ));
    plan.call(
        name.clone(),
        "session.login_with_password",
        &["root", "********"],
        "log into the candidate",
    );
    plan.call(
        name.clone(),
        if force {
            "pool.join_force"
        } else {
            "pool.join"
        },
        &[coordinator, "root", "********"],
        "it joins and its xapi restarts as a member",
    );
    plan.call(
        coordinator,
        "host.get_all_records",
        &[],
        format!("wait until {name} is enabled with its PBDs plugged"),
    );
    for c in report.waived(policy) {
        let unsupported = if c.waiver == Waiver::CrossVendorOverride {
            " — an unsupported pool"
        } else {
            ""
        };
        plan.warn(format!("forcing past: {}{unsupported}", describe(c)));
    }
    for c in report.warnings() {
        plan.warn(format!("warning: {}", describe(c)));
    }
    plan.warn(format!("{name}'s root password becomes the pool's"));
    plan.warn(format!(
        "{name}'s own database is replaced by the pool's: its local SRs stay, its VMs' \
         metadata moves into the pool"
    ));
    plan
}

/// Validates `candidate` against the pool, then joins it. Refused (nothing sent) when the
/// pre-flight fails. `policy` is `false` (plain), `true` (forced: past the documentation's
/// advice and what `pool.join_force` skips, except a CPU vendor mismatch) or a
/// [`JoinPolicy`] with `allow_cross_vendor` as well.
pub async fn join(
    pool: &PoolConnection,
    candidate: &HostAccess,
    policy: impl Into<JoinPolicy>,
    options: &OpOptions,
) -> Result<JoinOutcome> {
    let policy = policy.into();
    check_policy(policy)?;
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
    let report = validate_join(
        pool,
        &candidate.url,
        &candidate.credentials,
        &ValidateOptions {
            connect: candidate.options.clone(),
            ..Default::default()
        },
    )
    .await?;
    let problems = refusals(&report, policy);
    if !problems.is_empty() {
        return Err(Error::Refused {
            operation: format!("join {}", report.candidate.name),
            problems,
        });
    }
    let coordinator = pool.coordinator_address();
    let plan = join_plan(&report, &coordinator, policy);
    let (forced_past, warnings) = waived_and_warned(&report, policy);
    if options.dry_run {
        return Ok(Outcome::dry_run(
            plan,
            Joined {
                report,
                forced_past,
                warnings,
                notes: vec![],
            },
        ));
    }
    let mut progress = Progress::new(options, 3);
    execute_join(pool, candidate, &report, policy.force, &mut progress).await?;
    let name = report.candidate.name.clone();
    let mut notes = vec![format!(
        "{name} is now a member; its root password is now the pool's (the one you connected with)"
    )];
    notes.extend(forced_past.iter().map(|c| format!("forced past: {}", describe(c))));
    notes.extend(warnings.iter().map(|c| format!("warning: {}", describe(c))));
    Ok(Outcome::done(
        plan,
        Joined {
            report,
            forced_past,
            warnings,
            notes,
        },
    ))
    })
    .await
}

/// `allow_cross_vendor` only means something on top of `force`.
fn check_policy(policy: JoinPolicy) -> Result<()> {
    if policy.allow_cross_vendor && !policy.force {
        return Err(Error::invalid_argument(
            "allow_cross_vendor",
            "allow_cross_vendor applies only to a forced join (pass force as well)",
        ));
    }
    Ok(())
}

async fn execute_join(
    pool: &PoolConnection,
    candidate: &HostAccess,
    report: &JoinReport,
    force: bool,
    progress: &mut Progress<'_>,
) -> Result<()> {
    let name = &report.candidate.name;
    let coordinator = pool.coordinator_address();
    let password = pool
        .connection()
        .credentials()
        .password
        .expose()
        .to_string();
    let user = pool.connection().credentials().username.clone();
    progress.step(format!("logging into {name}"));
    let session = Connection::login(
        &candidate.url,
        candidate.credentials.clone(),
        candidate.options.clone(),
    )
    .await
    .map_err(|e| super::validate::refused_by(e, name))?;
    progress.step(format!("{name} joins the pool"));
    // Synchronous on purpose: the candidate's database (where a task would live) is
    // replaced by the pool's when the join completes.
    let joined = if force {
        Pool::join_force(&session, &coordinator, &user, &password).await
    } else {
        Pool::join(&session, &coordinator, &user, &password).await
    };
    // The session went with the candidate's old database; nothing is left to log out.
    let _ = session.logout().await;
    joined?;
    progress.step(format!(
        "waiting for {name} to be enabled with its storage plugged"
    ));
    wait_until_member_ready(pool, &report.candidate.uuid, Duration::from_secs(60)).await?;
    let _ = pool.refresh_members().await;
    Ok(())
}

/// Waits until the host with `uuid` is in the pool, enabled, live, with every PBD plugged.
pub async fn wait_until_member_ready(
    pool: &PoolConnection,
    uuid: &str,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let snap = PoolSnapshot::fetch(pool).await?;
        if let Some(h) = snap.hosts().into_iter().find(|h| h.record.uuid == uuid)
            && h.record.enabled
            && h.is_live()
            && h.pbds().iter().all(|p| p.record.currently_attached)
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                url: pool.coordinator_address(),
                method: format!("waiting for host {uuid} to be ready"),
                after: timeout,
                may_have_reached_host: true,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What [`create_pool`] did: every report, and which hosts joined, failed or were not tried.
pub type CreatePoolOutcome = Outcome<PoolCreated>;

/// [`create_pool`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct PoolCreated {
    /// The pre-flight of every member.
    pub reports: Vec<JoinReport>,
    /// Members that joined.
    pub joined: Vec<String>,
}

/// Makes a pool of `master` and `members`: validates every member first (refusing, with
/// every problem of every host, before anything changes), names the pool, then joins the
/// members one by one. A failure stops the operation; the outcome says what was done.
pub async fn create_pool(
    name: &str,
    description: &str,
    master: &HostAccess,
    members: &[HostAccess],
    policy: impl Into<JoinPolicy>,
    options: &OpOptions,
) -> Result<(PoolConnection, CreatePoolOutcome)> {
    let policy = policy.into();
    check_policy(policy)?;
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let pool = PoolConnection::connect(
            &master.url,
            master.credentials.clone(),
            master.options.clone(),
        )
        .await?;
        // The coordinator-to-be must be standalone: a member of a pool cannot take others
        // in, and a coordinator of several hosts has a pool already (pool_join adds to it).
        let hosts = Host::get_all_records(&pool).await?;
        if hosts.len() > 1 {
            let coordinator = pool.coordinator_address();
            let who = hosts
                .values()
                .find(|h| h.address == coordinator)
                .map_or(coordinator.clone(), |h| h.name_label.clone());
            return Err(Error::Refused {
                operation: format!("create pool {name}"),
                problems: vec![Refusal::new(
                    "standalone_coordinator",
                    format!(
                        "{who} already coordinates a pool of {} hosts: create a pool from a \
                         standalone host, or join the others to this pool",
                        hosts.len()
                    ),
                )],
            });
        }
        let validations: Vec<ValidateOptions> = members
            .iter()
            .map(|m| ValidateOptions {
                connect: m.options.clone(),
                ..Default::default()
            })
            .collect();
        let reports = futures::future::try_join_all(
            members
                .iter()
                .zip(&validations)
                .map(|(m, v)| validate_join(&pool, &m.url, &m.credentials, v)),
        )
        .await?;
        let problems: Vec<Refusal> = reports
            .iter()
            .flat_map(|r| {
                refusals(r, policy).into_iter().map(move |p| Refusal {
                    message: format!("{}: {}", r.candidate.name, p.message),
                    ..p
                })
            })
            .collect();
        if !problems.is_empty() {
            return Err(Error::Refused {
                operation: format!("create pool {name}"),
                problems,
            });
        }
        let coordinator = pool.coordinator_address();
        let mut plan = Plan::new(format!("create pool {name}"));
        plan.call(
            &coordinator,
            "pool.set_name_label",
            &[name],
            "name the pool",
        );
        plan.call(
            &coordinator,
            "pool.set_name_description",
            &[description],
            "describe it",
        );
        for r in &reports {
            plan.calls.extend(join_plan(r, &coordinator, policy).calls);
        }
        plan.warn("every member's root password becomes the coordinator's");
        if options.dry_run {
            return Ok((
                pool,
                Outcome::dry_run(
                    plan,
                    PoolCreated {
                        reports,
                        joined: vec![],
                    },
                ),
            ));
        }
        let mut progress = Progress::new(options, 2 + 3 * members.len());
        let pool_ref = Pool::get_all(&pool)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::invalid_argument("pool", "no pool object"))?;
        progress.step(format!("naming the pool {name}"));
        Pool::set_name_label(&pool, &pool_ref, name).await?;
        progress.step("describing it");
        Pool::set_name_description(&pool, &pool_ref, description).await?;
        let mut joined = Vec::new();
        for (i, (member, report)) in members.iter().zip(&reports).enumerate() {
            match execute_join(&pool, member, report, policy.force, &mut progress).await {
                Ok(()) => joined.push(report.candidate.name.clone()),
                Err(error) => {
                    // The pool exists and some members are in it: say exactly who is.
                    return Err(Error::PartialPool {
                        operation: format!("create pool {name}"),
                        done: joined,
                        failed: vec![MemberError {
                            member: report.candidate.name.clone(),
                            error: Box::new(error),
                        }],
                        not_attempted: reports[i + 1..]
                            .iter()
                            .map(|r| r.candidate.name.clone())
                            .collect(),
                    });
                }
            }
        }
        // Every member joined: a failed one returned above.
        Ok((pool, Outcome::done(plan, PoolCreated { reports, joined })))
    })
    .await
}
