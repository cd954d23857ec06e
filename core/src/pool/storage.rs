//! Shared storage: an NFS SR plugged on every host and made the pool's default.

use std::collections::HashMap;

use serde::Serialize;

use super::connection::PoolConnection;
use super::outcome::Outcome;
use super::plan::{OpOptions, Plan, Progress, refused, run_task};
use super::views::PoolSnapshot;
use crate::error::{Error, Refusal, Result};
use crate::generated::{Pool, Sr};
use crate::types::Ref;

/// What [`create_nfs_sr`] did.
pub type SrOutcome = Outcome<SrCreated>;

/// [`create_nfs_sr`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct SrCreated {
    /// The new SR.
    pub sr: Option<String>,
}

/// Creates an NFS SR shared by every host (a plugged PBD on each) and makes it the pool's
/// default SR (also for suspend images and crash dumps).
pub async fn create_nfs_sr(
    pool: &PoolConnection,
    name: &str,
    server: &str,
    serverpath: &str,
    nfs_version: Option<&str>,
    options: &OpOptions,
) -> Result<SrOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let mut problems = Vec::new();
        if server.is_empty() {
            problems.push(Refusal::new("server", "the NFS server is missing"));
        }
        if !serverpath.starts_with('/') {
            problems.push(Refusal::new(
                "path",
                format!("the export path {serverpath:?} must be absolute"),
            ));
        }
        if let Some(v) = nfs_version
            && v != "3"
            && !v.starts_with('4')
        {
            problems.push(Refusal::new(
                "nfs_version",
                format!("NFS version {v} is not supported (3, 4, 4.0 or 4.1)"),
            ));
        }
        if snap.srs.values().any(|s| s.name_label == name) {
            problems.push(Refusal::new(
                "name_free",
                format!("an SR named {name:?} already exists"),
            ));
        }
        if !problems.is_empty() {
            return Err(refused(&format!("create NFS SR {name}"), problems));
        }
        let master = snap
            .pool()
            .master()
            .ok_or_else(|| Error::invalid_argument("pool", "the pool has no coordinator"))?;
        let mut plan = Plan::new(format!("create NFS SR {name} on {server}:{serverpath}"));
        plan.call(
            master.name(),
            "Async.SR.create",
            &[
                master.name(),
                &format!("server={server} serverpath={serverpath}"),
                name,
                "nfs",
                "shared=true",
            ],
            "one PBD per host, all plugged",
        );
        plan.call(
            master.name(),
            "pool.set_default_SR",
            &[name],
            "new VM disks go there",
        );
        plan.call(
            master.name(),
            "pool.set_suspend_image_SR",
            &[name],
            "suspend images too",
        );
        plan.call(
            master.name(),
            "pool.set_crash_dump_SR",
            &[name],
            "and crash dumps",
        );
        if options.dry_run {
            return Ok(Outcome::dry_run(plan, SrCreated { sr: None }));
        }
        let mut progress = Progress::new(options, plan.calls.len());
        let mut config = HashMap::from([
            ("server".to_string(), server.to_string()),
            ("serverpath".to_string(), serverpath.to_string()),
        ]);
        if let Some(v) = nfs_version {
            config.insert("nfsversion".into(), v.into());
        }
        progress.step(format!("creating {name} and plugging it on every host"));
        let outcome = run_task(
            pool,
            Sr::async_create(pool, &master.r, &config, 0, name, "", "nfs", "user", true),
            options,
        )
        .await?;
        let sr: Ref<Sr> = outcome.result()?;
        progress.step("setting it as the default SR");
        Pool::set_default_sr(pool, &snap.pool_ref, &sr).await?;
        progress.step("using it for suspend images");
        Pool::set_suspend_image_sr(pool, &snap.pool_ref, &sr).await?;
        progress.step("using it for crash dumps");
        Pool::set_crash_dump_sr(pool, &snap.pool_ref, &sr).await?;
        let after = PoolSnapshot::fetch(pool).await?;
        let view = after
            .srs
            .get_key_value(&sr)
            .map(|(r, _)| after.find_sr(&after.srs[r].uuid));
        if let Some(Ok(v)) = view
            && !v.reaches_every_host()
        {
            return Err(Error::Refused {
                operation: format!("create NFS SR {name}"),
                problems: vec![Refusal::new(
                    "plugged_everywhere",
                    "the SR was created but is not plugged on every host",
                )],
            });
        }
        Ok(Outcome::done(
            plan,
            SrCreated {
                sr: Some(sr.into_string()),
            },
        ))
    })
    .await
}
