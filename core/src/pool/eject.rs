//! Ejecting a member: evacuate its running VMs, then `pool.eject` (docs/pool-operations.md#eject).

use serde::Serialize;

use super::connection::PoolConnection;
use super::outcome::Outcome;
use super::plan::{OpOptions, Plan, Progress, refused, run_task};
use super::report::plural;
use super::views::PoolSnapshot;
use crate::error::{Refusal, Result};
use crate::generated::{Host, Pool};

/// What [`eject`] did.
pub type EjectOutcome = Outcome<Ejected>;

/// [`eject`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct Ejected {
    /// VMs moved off the host first.
    pub evacuated: Vec<String>,
}

/// How to eject.
#[derive(Debug, Clone)]
pub struct EjectOptions {
    /// Live-migrate running VMs away first (default). Without it, running VMs refuse the eject.
    pub evacuate: bool,
}

impl Default for EjectOptions {
    fn default() -> Self {
        EjectOptions { evacuate: true }
    }
}

/// Removes a member from the pool, found by uuid, name or address as `xe host-list` users
/// name hosts. The coordinator is refused. Running VMs are live-migrated away first unless
/// told otherwise. The host reboots into a fresh install (docs/pool-operations.md#eject).
pub async fn eject(
    pool: &PoolConnection,
    host: &str,
    eject: &EjectOptions,
    options: &OpOptions,
) -> Result<EjectOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let target = snap.find_host(host)?;
        let name = target.name().to_string();
        if target.is_coordinator() {
            return Err(refused(
                &format!("eject {name}"),
                vec![Refusal::new(
                    "not_coordinator",
                    format!(
                        "{name} is the pool coordinator: designate another host as coordinator \
                         first (pool.designate_new_master)"
                    ),
                )],
            ));
        }
        let running: Vec<String> = target
            .resident_vms()
            .iter()
            .filter(|v| v.is_active())
            .map(|v| v.name().to_string())
            .collect();
        if !running.is_empty() && !eject.evacuate {
            return Err(refused(
                &format!("eject {name}"),
                vec![Refusal::new(
                    "no_running_vms",
                    format!(
                        "VMs are running on {name}: {}; migrate or shut them down, or let eject \
                         evacuate them",
                        running.join(", ")
                    ),
                )],
            ));
        }
        let mut plan = Plan::new(format!("eject {name}"));
        let coordinator = snap.coordinator_name();
        if !running.is_empty() {
            plan.call(
                &coordinator,
                "host.disable",
                &[&name],
                "stop new VMs landing on it",
            );
            plan.call(
                &coordinator,
                "Async.host.evacuate",
                &[&name],
                format!("live-migrate {} away", running.join(", ")),
            );
        }
        plan.call(
            &coordinator,
            "Async.pool.eject",
            &[&name],
            "remove it from the pool",
        );
        plan.warn(format!(
            "{name} reboots into a fresh installation: its VMs, local storage, bonds, VLANs and \
         other network settings are gone; only its management interface keeps its IP \
         configuration, so if that changes, reach it through IPMI or the console"
        ));
        plan.warn(format!(
            "{name} keeps the pool's root password, not the one it had before joining"
        ));
        if options.dry_run {
            return Ok(Outcome::dry_run(plan, Ejected { evacuated: running }));
        }
        let host_ref = target.r.clone();
        let mut progress = Progress::new(options, plan.calls.len());
        if !running.is_empty() {
            progress.step(format!("disabling {name}"));
            Host::disable(pool, &host_ref).await?;
            progress.step(format!(
                "evacuating {} from {name}",
                plural(running.len(), "VM")
            ));
            run_task(pool, Host::async_evacuate(pool, &host_ref), options).await?;
        }
        progress.step(format!("ejecting {name}"));
        run_task(pool, Pool::async_eject(pool, &host_ref), options).await?;
        let _ = pool.refresh_members().await;
        Ok(Outcome::done(plan, Ejected { evacuated: running }))
    })
    .await
}
