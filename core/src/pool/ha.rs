//! High availability: enabling and disabling HA, and recovering a pool without HA whose
//! coordinator is lost (emergency transition of a member, then `pool.recover_slaves`).

use std::collections::HashMap;

use serde::Serialize;

use super::connection::PoolConnection;
use super::outcome::Outcome;
use super::plan::{OpOptions, Plan, Progress, refused, run_task};
use super::report::plural;
use super::views::{HostView, PoolSnapshot};
use crate::connection::Connection;
use crate::error::{Refusal, Result};
use crate::generated::{Host, Pool, Vm};
use crate::secret::Credentials;
use crate::transport::ConnectOptions;

/// What [`enable_ha`] did.
pub type HaOutcome = Outcome<HaEnabled>;

/// [`enable_ha`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct HaEnabled {
    /// Host failures the pool now tolerates.
    pub failures_to_tolerate: i64,
}

/// Enables HA with a shared SR as heartbeat (the default SR when `heartbeat_sr` is None),
/// then sets the failures to tolerate to the most the pool can plan for.
pub async fn enable_ha(
    pool: &PoolConnection,
    heartbeat_sr: Option<&str>,
    options: &OpOptions,
) -> Result<HaOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let sr = match heartbeat_sr {
            Some(name) => snap.find_sr(name)?,
            None => snap.pool().default_sr().ok_or_else(|| {
                refused(
                    "enable HA",
                    vec![Refusal::new(
                        "heartbeat_sr",
                        "the pool has no default SR; name a shared SR for the heartbeat",
                    )],
                )
            })?,
        };
        let mut problems = Vec::new();
        if snap.pool.ha_enabled {
            problems.push(Refusal::new("ha_disabled", "HA is already enabled"));
        }
        if !sr.record.shared || !sr.reaches_every_host() {
            problems.push(Refusal::new(
                "heartbeat_sr",
                format!(
                    "the heartbeat SR {} must be shared and plugged on every host",
                    sr.record.name_label
                ),
            ));
        }
        if let Some(dead) = snap.hosts().iter().find(|h| !h.is_live()) {
            problems.push(Refusal::new(
                "hosts_live",
                format!("{} is offline", dead.name()),
            ));
        }
        if !problems.is_empty() {
            return Err(refused("enable HA", problems));
        }
        let coordinator = snap.coordinator_name();
        let mut plan = Plan::new(format!(
            "enable HA with heartbeat on {}",
            sr.record.name_label
        ));
        plan.call(
            &coordinator,
            "Async.pool.enable_ha",
            &[&sr.record.name_label],
            "arm HA on every host",
        );
        plan.call(
            &coordinator,
            "pool.ha_compute_max_host_failures_to_tolerate",
            &[],
            "how many failures a plan covers",
        );
        plan.call(
            &coordinator,
            "pool.set_ha_host_failures_to_tolerate",
            &["<computed>"],
            "protect against that many",
        );
        plan.warn("only VMs with restart priority `restart` are restarted after a host failure");
        if options.dry_run {
            return Ok(Outcome::dry_run(
                plan,
                HaEnabled {
                    failures_to_tolerate: 0,
                },
            ));
        }
        let mut progress = Progress::new(options, 3);
        progress.step("enabling HA");
        run_task(
            pool,
            Pool::async_enable_ha(pool, std::slice::from_ref(&sr.r), &HashMap::new()),
            options,
        )
        .await?;
        progress.step("computing failures to tolerate");
        let n = Pool::ha_compute_max_host_failures_to_tolerate(pool).await?;
        progress.step(format!("tolerating {n} host failures"));
        Pool::set_ha_host_failures_to_tolerate(pool, &snap.pool_ref, n).await?;
        Ok(Outcome::done(
            plan,
            HaEnabled {
                failures_to_tolerate: n,
            },
        ))
    })
    .await
}

/// Disables HA.
pub async fn disable_ha(pool: &PoolConnection, options: &OpOptions) -> Result<Outcome<()>> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let mut plan = Plan::new("disable HA");
        plan.call(
            pool.coordinator_address(),
            "Async.pool.disable_ha",
            &[],
            "disarm HA on every host",
        );
        if !options.dry_run {
            Progress::new(options, 1).step("disabling HA");
            run_task(pool, Pool::async_disable_ha(pool), options).await?;
        }
        Ok(Outcome::new(plan, !options.dry_run, ()))
    })
    .await
}

/// What [`recover_lost_coordinator`] did (or, in a dry run, would do).
pub type RecoveryOutcome = Outcome<Recovered>;

/// [`recover_lost_coordinator`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recovered {
    /// The members that now follow the new coordinator.
    pub recovered: Vec<String>,
    /// Hosts declared dead (`host.declare_dead`): the old coordinator, when asked to
    /// restart its VMs.
    pub declared_dead: Vec<String>,
    /// VMs that ran on a dead host, started again, with the host each now runs on.
    pub restarted: Vec<(String, String)>,
    /// VMs that ran on a dead host and could not start elsewhere, with the reason (e.g. a
    /// disk on the dead host's local storage).
    pub not_restarted: Vec<(String, String)>,
}

/// How far [`recover_lost_coordinator`] goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// After the recovery, declare the hosts that are not live dead (`host.declare_dead`:
    /// their VMs are reset to Halted) and start those VMs on the surviving hosts, as the
    /// pooling documentation describes for a pool without HA. Only when the old
    /// coordinator is gone for good: a dead host that comes back would run them twice.
    pub restart_vms: bool,
}

/// The coordinator is gone and HA is off: make the member at `member_url` the coordinator
/// (`pool.emergency_transition_to_master` with an emergency local login), then point the
/// other members at it (`pool.recover_slaves`); with `restart_vms`, also declare the hosts
/// that stay down dead and start their VMs elsewhere. Returns a connection to the new pool
/// (none in a dry run, which changes and contacts nothing).
pub async fn recover_lost_coordinator(
    member_url: &str,
    credentials: Credentials,
    connect: ConnectOptions,
    recovery: RecoveryOptions,
    options: &OpOptions,
) -> Result<(Option<PoolConnection>, RecoveryOutcome)> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let mut plan = Plan::new(format!("make {member_url} the coordinator"));
        plan.call(
            member_url,
            "session.slave_local_login_with_password",
            &["root", "********"],
            "emergency access to the member",
        );
        plan.call(
            member_url,
            "pool.emergency_transition_to_master",
            &[],
            "it becomes the coordinator",
        );
        plan.call(
            member_url,
            "pool.recover_slaves",
            &[],
            "the other members follow it",
        );
        if recovery.restart_vms {
            plan.call(
                member_url,
                "host.declare_dead",
                &["each host that is not live"],
                "its VMs are reset to Halted",
            );
            plan.call(
                member_url,
                "VM.start",
                &["each VM that ran there"],
                "the VMs run again on the surviving hosts (xapi picks where)",
            );
            plan.warn(
                "declare a host dead only when it is gone for good: if it comes back, its VMs \
                 run twice and corrupt their disks",
            );
        }
        plan.warn(
            "do this only when the old coordinator is really gone: if it comes back, two hosts \
             think they coordinate",
        );
        if options.dry_run {
            return Ok((None, Outcome::dry_run(plan, Recovered::default())));
        }
        let mut outcome = Recovered::default();
        let mut progress = Progress::new(options, if recovery.restart_vms { 5 } else { 3 });
        progress.step("emergency login on the member");
        let local =
            Connection::login_local_emergency(member_url, credentials.clone(), connect.clone())
                .await?;
        progress.step("transition to coordinator");
        let transition = Pool::emergency_transition_to_master(&local).await;
        let _ = local.logout().await;
        transition?;
        progress.step("recovering the other members");
        let pool = PoolConnection::connect(member_url, credentials, connect).await?;
        let recovered = Pool::recover_slaves(&pool).await?;
        let snap = PoolSnapshot::fetch(&pool).await?;
        outcome.recovered = recovered
            .iter()
            .filter_map(|h| snap.host(h).map(|v| v.name().to_string()))
            .collect();
        let _ = pool.refresh_members().await;
        if recovery.restart_vms {
            restart_vms_of_dead_hosts(&pool, &snap, &mut outcome, &mut progress).await?;
        }
        Ok((Some(pool), Outcome::done(plan, outcome)))
    })
    .await
}

/// Declares every host that is not live dead and starts the VMs that ran there on the
/// hosts that are.
async fn restart_vms_of_dead_hosts(
    pool: &PoolConnection,
    snap: &PoolSnapshot,
    outcome: &mut Recovered,
    progress: &mut Progress<'_>,
) -> Result<()> {
    let dead: Vec<HostView<'_>> = snap.hosts().into_iter().filter(|h| !h.is_live()).collect();
    progress.step(format!(
        "declaring {} dead",
        if dead.is_empty() {
            "no host".to_string()
        } else {
            dead.iter().map(|h| h.name()).collect::<Vec<_>>().join(", ")
        }
    ));
    let mut lost = Vec::new();
    for host in &dead {
        lost.extend(
            host.resident_vms()
                .into_iter()
                .filter(|v| v.is_active())
                .map(|v| (v.r.clone(), v.name().to_string())),
        );
        Host::declare_dead(pool, &host.r).await?;
        outcome.declared_dead.push(host.name().to_string());
    }
    progress.step(format!("starting {} elsewhere", plural(lost.len(), "VM")));
    for (vm, name) in lost {
        match Vm::start(pool, &vm, false, false).await {
            Ok(()) => {
                let on = Vm::get_resident_on(pool, &vm).await?;
                let host = snap
                    .host(&on)
                    .map_or_else(|| on.to_string(), |h| h.name().to_string());
                outcome.restarted.push((name, host));
            }
            Err(e) => outcome.not_restarted.push((name, e.to_string())),
        }
    }
    Ok(())
}
