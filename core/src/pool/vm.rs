//! Making a small VM, so that pool workflows have something to move.

use serde::Serialize;

use super::connection::PoolConnection;
use super::outcome::Outcome;
use super::plan::{OpOptions, Plan, refused};
use super::views::PoolSnapshot;
use crate::error::{Error, Refusal, Result};
use crate::generated::Vm;

/// A VM to make with [`create_vm`]: a minimal HVM guest without an operating system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSpec {
    /// `name_label`.
    pub name: String,
    /// Memory (static and dynamic maximum and minimum alike), MiB.
    pub memory_mib: i64,
    /// vCPUs (at start-up and maximum).
    pub vcpus: i64,
    /// A disk of this size, GiB, when given.
    pub disk_gib: Option<i64>,
    /// Where the disk goes (SR name or uuid); the pool's default SR when `None`.
    pub sr: Option<String>,
    /// Start it (on this host when `host` is given, else where xapi chooses).
    pub start: bool,
    /// The host to start it on (name, uuid or address).
    pub host: Option<String>,
}

impl VmSpec {
    /// A VM called `name` with 1 GiB of memory, 1 vCPU, no disk, not started.
    pub fn new(name: impl Into<String>) -> Self {
        VmSpec {
            name: name.into(),
            memory_mib: 1024,
            vcpus: 1,
            disk_gib: None,
            sr: None,
            start: false,
            host: None,
        }
    }
}

/// What [`create_vm`] did.
pub type VmOutcome = Outcome<VmCreated>;

/// [`create_vm`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct VmCreated {
    /// The new VM's uuid (empty in a dry run).
    pub uuid: String,
    /// The host it runs on, when started.
    pub resident_on: Option<String>,
}

/// Makes a VM from a minimal spec (memory, vCPUs, an optional disk on a named or the
/// default SR) and optionally starts it, so that pool workflows have something to move.
/// The SR and host are resolved, and the sizes checked, before anything is created.
pub async fn create_vm(
    pool: &PoolConnection,
    spec: &VmSpec,
    options: &OpOptions,
) -> Result<VmOutcome> {
    use crate::generated::{Vbd, VbdMode, VbdRecord, VbdType, Vdi, VdiRecord, VdiType, VmRecord};
    Box::pin(async move {
        let operation = format!("create VM {}", spec.name);
        let mut problems = Vec::new();
        if spec.name.trim().is_empty() {
            problems.push("the VM needs a name".to_string());
        }
        if spec.memory_mib < 16 {
            problems.push(format!(
                "memory_mib is {}; a VM needs at least 16 MiB",
                spec.memory_mib
            ));
        }
        if spec.vcpus < 1 {
            problems.push(format!("vcpus is {}; a VM needs at least 1", spec.vcpus));
        }
        if spec.disk_gib.is_some_and(|g| g < 1) {
            problems.push("disk_gib must be at least 1".to_string());
        }
        if !problems.is_empty() {
            return Err(Error::invalid_argument(
                "spec",
                format!("{operation}: {}", problems.join("; ")),
            ));
        }
        let snap = PoolSnapshot::fetch(pool).await?;
        let sr = match (&spec.disk_gib, &spec.sr) {
            (None, _) => None,
            (Some(_), Some(name)) => Some(snap.find_sr(name)?),
            (Some(_), None) => Some(snap.pool().default_sr().ok_or_else(|| {
                refused(
                    &operation,
                    vec![Refusal::new(
                        "default_sr",
                        "the pool has no default SR: name one for the disk (sr)",
                    )],
                )
            })?),
        };
        let host = spec
            .host
            .as_deref()
            .map(|h| snap.find_host(h))
            .transpose()?;
        let coordinator = snap.coordinator_name();
        let mut plan = Plan::new(&operation);
        plan.call(
            &coordinator,
            "VM.create",
            &[
                &spec.name,
                &format!("{} MiB", spec.memory_mib),
                &format!("{} vCPU", spec.vcpus),
            ],
            "the VM's record",
        );
        if let (Some(gib), Some(sr)) = (spec.disk_gib, &sr) {
            plan.call(
                &coordinator,
                "VDI.create",
                &[&format!("{gib} GiB"), &sr.record.name_label],
                "its disk",
            );
            plan.call(
                &coordinator,
                "VBD.create",
                &["0"],
                "the disk plugged into it",
            );
        }
        if spec.start {
            match &host {
                Some(h) => plan.call(&coordinator, "VM.start_on", &[h.name()], "start it there"),
                None => plan.call(&coordinator, "VM.start", &[], "start it where xapi chooses"),
            }
        }
        if options.dry_run {
            return Ok(Outcome::dry_run(
                plan,
                VmCreated {
                    uuid: String::new(),
                    resident_on: None,
                },
            ));
        }
        let bytes = spec.memory_mib << 20;
        let vm = Vm::create(
            pool,
            &VmRecord {
                name_label: spec.name.clone(),
                memory_static_max: bytes,
                memory_dynamic_max: bytes,
                memory_dynamic_min: bytes,
                memory_static_min: bytes,
                vcpus_max: spec.vcpus,
                vcpus_at_startup: spec.vcpus,
                hvm_boot_policy: "BIOS order".into(),
                ..Default::default()
            },
        )
        .await?;
        if let (Some(gib), Some(sr)) = (spec.disk_gib, &sr) {
            let vdi = Vdi::create(
                pool,
                &VdiRecord {
                    name_label: format!("{} disk", spec.name),
                    sr: sr.r.clone(),
                    virtual_size: gib << 30,
                    type_: VdiType::User,
                    ..Default::default()
                },
            )
            .await?;
            Vbd::create(
                pool,
                &VbdRecord {
                    vm: vm.clone(),
                    vdi,
                    userdevice: "0".into(),
                    mode: VbdMode::Rw,
                    type_: VbdType::Disk,
                    bootable: true,
                    ..Default::default()
                },
            )
            .await?;
        }
        let mut resident_on = None;
        if spec.start {
            match &host {
                Some(h) => Vm::start_on(pool, &vm, &h.r, false, false).await?,
                None => Vm::start(pool, &vm, false, false).await?,
            }
            let on = Vm::get_resident_on(pool, &vm).await?;
            resident_on = Some(
                snap.host(&on)
                    .map_or_else(|| on.to_string(), |h| h.name().to_string()),
            );
        }
        Ok(Outcome::done(
            plan,
            VmCreated {
                uuid: Vm::get_uuid(pool, &vm).await?,
                resident_on,
            },
        ))
    })
    .await
}
