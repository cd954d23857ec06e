//! Pool workflows: thin adapters from JS arguments to `xenpool::pool`. Each takes JSON
//! options (`dryRun`, `taskTimeoutMs`, workflow flags), an optional progress callback and
//! a cancellation id, and returns the outcome as JSON (core's `Serialize` reports).

use std::sync::Arc;
use std::time::Duration;

use napi::Status;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use serde::{Deserialize, Serialize};
use xenpool::pool::ops::{self, EjectOptions};
use xenpool::pool::{
    self as xpool, HostAccess, OpOptions, PoolConnection, PoolSnapshot, ValidateOptions,
};

use crate::cancellable;
use crate::convert::to_json_text;
use crate::error::{invalid, to_napi};
use crate::options::ConnectOpts;
use crate::session::Session;

/// A progress callback: receives each `ProgressEvent` as JSON text.
pub type ProgressCallback = ThreadsafeFunction<String, (), String, Status, false>;

/// Flags every workflow shares, plus each one's own.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Flags {
    dry_run: bool,
    task_timeout_ms: Option<u64>,
    force: bool,
    allow_cross_vendor: bool,
    restart_vms: bool,
    evacuate: Option<bool>,
    description: Option<String>,
    nfs_version: Option<String>,
    heartbeat_sr: Option<String>,
}

impl Flags {
    fn join_policy(&self) -> xpool::JoinPolicy {
        xpool::JoinPolicy {
            force: self.force,
            allow_cross_vendor: self.allow_cross_vendor,
        }
    }

    fn parse(text: Option<String>) -> napi::Result<Self> {
        match text {
            None => Ok(Flags::default()),
            Some(t) => {
                serde_json::from_str(&t).map_err(|e| invalid("options", format!("options: {e}")))
            }
        }
    }

    fn op_options(&self, progress: Option<ProgressCallback>) -> OpOptions {
        let mut options = OpOptions {
            dry_run: self.dry_run,
            task_timeout: self.task_timeout_ms.map(Duration::from_millis),
            ..OpOptions::default()
        };
        if let Some(callback) = progress {
            let callback = Arc::new(callback);
            options = options.with_progress(move |event| {
                callback.call(to_json_text(event), ThreadsafeFunctionCallMode::NonBlocking);
            });
        }
        options
    }
}

/// A host to reach as `{url, user, password, fingerprint, insecure, …}`.
#[derive(Deserialize)]
struct Access {
    url: String,
    #[serde(flatten)]
    options: ConnectOpts,
}

async fn access(url: &str, options: &ConnectOpts) -> napi::Result<HostAccess> {
    options.resolve(url)?.access().await.map_err(to_napi)
}

fn parse_access(text: &str) -> napi::Result<Access> {
    serde_json::from_str(text).map_err(|e| invalid("host", format!("host: {e}")))
}

/// A session made by a workflow, with the workflow's outcome.
#[napi]
pub struct Created {
    session: Option<Session>,
    outcome: String,
}

#[napi]
impl Created {
    /// The session on the new pool (once).
    #[napi]
    pub fn take_session(&mut self) -> Option<Session> {
        self.session.take()
    }

    /// The workflow's outcome, JSON.
    #[napi(getter)]
    pub fn outcome(&self) -> String {
        self.outcome.clone()
    }
}

/// Makes the host `master` (JSON `{url, password, …}`) a coordinator of a pool called
/// `name` and joins each of `members` (JSON array of the same).
#[napi]
pub async fn create_pool(
    name: String,
    master: String,
    members: String,
    options: Option<String>,
    on_progress: Option<ProgressCallback>,
) -> napi::Result<Created> {
    let flags = Flags::parse(options)?;
    let master = parse_access(&master)?;
    let members: Vec<Access> =
        serde_json::from_str(&members).map_err(|e| invalid("members", format!("members: {e}")))?;
    let master_access = access(&master.url, &master.options).await?;
    let mut member_access = Vec::with_capacity(members.len());
    for m in &members {
        member_access.push(access(&m.url, &m.options).await?);
    }
    let options = flags.op_options(on_progress);
    let description = flags.description.clone().unwrap_or_default();
    let (pool, outcome) = xpool::create_pool(
        &name,
        &description,
        &master_access,
        &member_access,
        flags.join_policy(),
        &options,
    )
    .await
    .map_err(to_napi)?;
    Ok(Created {
        session: Some(Session::new(pool.into(), None)),
        outcome: to_json_text(&outcome),
    })
}

/// Makes the member at `member` (JSON `{url, password, …}`) the coordinator of a pool whose
/// coordinator is lost (`emergency_transition_to_master`, then `recover_slaves`).
#[napi]
pub async fn recover_lost_coordinator(
    member: String,
    options: Option<String>,
    on_progress: Option<ProgressCallback>,
) -> napi::Result<Created> {
    let flags = Flags::parse(options)?;
    let member = parse_access(&member)?;
    let r = member.options.resolve(&member.url)?;
    let member = r.access().await.map_err(to_napi)?;
    let options = flags.op_options(on_progress);
    let recovery = ops::RecoveryOptions {
        restart_vms: flags.restart_vms,
    };
    let (pool, outcome) = ops::recover_lost_coordinator(
        &member.url,
        member.credentials,
        member.options,
        recovery,
        &options,
    )
    .await
    .map_err(to_napi)?;
    Ok(Created {
        // None in a dry run, which contacts nothing.
        session: pool.map(|pool| Session::new(pool.into(), None)),
        outcome: to_json_text(&outcome),
    })
}

#[napi]
impl Session {
    /// Checks the host `candidate` (JSON `{url, password, …}`) against this pool: every
    /// problem, not just the first. JSON `JoinReport`.
    #[napi]
    pub async fn validate_join(
        &self,
        candidate: String,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        let pool = self.pool()?;
        let candidate = parse_access(&candidate)?;
        let access = access(&candidate.url, &candidate.options).await?;
        let token = self.call_token(cancel)?;
        let report = cancellable(
            &token,
            "validate_join",
            xpool::validate_join(
                &pool,
                &access.url,
                &access.credentials,
                &ValidateOptions {
                    connect: access.options.clone(),
                    ..Default::default()
                },
            ),
        )
        .await?;
        Ok(to_json_text(&report))
    }

    /// Runs a workflow: pool connection, flags, options (dry run, progress), the call's
    /// cancellation, and the outcome as JSON.
    async fn workflow<T, F, Fut>(
        &self,
        what: &str,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
        run: F,
    ) -> napi::Result<String>
    where
        T: Serialize,
        F: FnOnce(PoolConnection, Flags, OpOptions) -> Fut,
        Fut: Future<Output = xenpool::Result<T>>,
    {
        let pool = self.pool()?;
        let flags = Flags::parse(options)?;
        let op = flags.op_options(on_progress);
        let token = self.call_token(cancel)?;
        let outcome = cancellable(&token, what, run(pool, flags, op)).await?;
        Ok(to_json_text(&outcome))
    }

    /// Joins `candidate` (JSON `{url, password, …}`) to this pool (`force`: `join_force`).
    #[napi]
    pub async fn join(
        &self,
        candidate: String,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        let candidate = parse_access(&candidate)?;
        let access = access(&candidate.url, &candidate.options).await?;
        self.workflow(
            "join",
            options,
            on_progress,
            cancel,
            |pool, flags, op| async move { xpool::join(&pool, &access, flags.join_policy(), &op).await },
        )
        .await
    }

    /// Ejects `host` (name, uuid or reference) from the pool, moving its VMs off first.
    #[napi]
    pub async fn eject(
        &self,
        host: String,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        self.workflow(
            "eject",
            options,
            on_progress,
            cancel,
            |pool, flags, op| async move {
                let eject = EjectOptions {
                    evacuate: flags.evacuate.unwrap_or(EjectOptions::default().evacuate),
                };
                ops::eject(&pool, &host, &eject, &op).await
            },
        )
        .await
    }

    /// Bonds `devices` (`eth2`, `eth3`) with `mode` on every host, on a network `network`.
    #[napi]
    pub async fn create_bond(
        &self,
        devices: Vec<String>,
        mode: String,
        network: String,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        let mode = ops::bond_mode(&mode);
        self.workflow(
            "create_bond",
            options,
            on_progress,
            cancel,
            |pool, _, op| async move {
                let devices: Vec<&str> = devices.iter().map(String::as_str).collect();
                ops::create_bond(&pool, &devices, mode, &network, &op).await
            },
        )
        .await
    }

    /// Bonds that differ from the coordinator's on some member (JSON array).
    #[napi]
    pub async fn check_bonds(&self, cancel: Option<u32>) -> napi::Result<String> {
        self.workflow("check_bonds", None, None, cancel, |pool, _, _| async move {
            Ok(ops::check_bonds(&PoolSnapshot::fetch(&pool).await?))
        })
        .await
    }

    /// Repairs every bond `checkBonds` reports.
    #[napi]
    pub async fn repair_bonds(
        &self,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        self.workflow(
            "repair_bonds",
            options,
            on_progress,
            cancel,
            |pool, _, op| async move { ops::repair_bonds(&pool, &op).await },
        )
        .await
    }

    /// Creates a shared NFS SR plugged on every host.
    #[napi]
    pub async fn create_nfs_sr(
        &self,
        name: String,
        server: String,
        serverpath: String,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        self.workflow(
            "create_nfs_sr",
            options,
            on_progress,
            cancel,
            |pool, flags, op| async move {
                let version = flags.nfs_version.as_deref();
                ops::create_nfs_sr(&pool, &name, &server, &serverpath, version, &op).await
            },
        )
        .await
    }

    /// Live-migrates `vm` to `host` (names, uuids or references).
    #[napi]
    pub async fn migrate(
        &self,
        vm: String,
        host: String,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        self.workflow(
            "migrate",
            options,
            on_progress,
            cancel,
            |pool, _, op| async move { ops::migrate(&pool, &vm, &host, &op).await },
        )
        .await
    }

    /// Moves every VM off `host`.
    #[napi]
    pub async fn evacuate(
        &self,
        host: String,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        self.workflow(
            "evacuate",
            options,
            on_progress,
            cancel,
            |pool, _, op| async move { ops::evacuate(&pool, &host, &op).await },
        )
        .await
    }

    /// Enables HA with `heartbeatSr` (default: the pool's default SR).
    #[napi]
    pub async fn enable_ha(
        &self,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        self.workflow(
            "enable_ha",
            options,
            on_progress,
            cancel,
            |pool, flags, op| async move {
                ops::enable_ha(&pool, flags.heartbeat_sr.as_deref(), &op).await
            },
        )
        .await
    }

    /// Disables HA.
    #[napi]
    pub async fn disable_ha(
        &self,
        options: Option<String>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<u32>,
    ) -> napi::Result<String> {
        self.workflow(
            "disable_ha",
            options,
            on_progress,
            cancel,
            |pool, _, op| async move { ops::disable_ha(&pool, &op).await },
        )
        .await
    }
}
