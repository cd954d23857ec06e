//! Owned, serialisable pictures of a pool for front ends: what a shell table, a Python
//! dict or a Node object shows, computed here once (names resolved, memory figures, the
//! coordinator flag, the default SR) so no binding derives it again.
//!
//! The borrowed views of [`super::views`] navigate a [`PoolSnapshot`]; these types copy
//! out what a person looks at and outlive the snapshot.

use serde::Serialize;

use super::plan::Plan;
use super::report::{Check, CheckSource, JoinReport};
use super::views::{HostView, PoolSnapshot, SrView, VmView};

/// A host of the pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostSummary {
    /// `name_label`.
    pub name: String,
    /// `name_description`.
    pub description: String,
    /// `uuid`.
    pub uuid: String,
    /// The opaque reference.
    pub reference: String,
    /// Management address.
    pub address: String,
    /// True for the pool's coordinator.
    pub coordinator: bool,
    /// Whether its metrics say it is live.
    pub live: bool,
    /// `enabled` (false while in maintenance mode).
    pub enabled: bool,
    /// CPU vendor (`GenuineIntel`, `AuthenticAMD`).
    pub cpu_vendor: String,
    /// CPU model name.
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpu_count: i64,
    /// Memory in bytes (0 without metrics).
    pub memory_total: i64,
    /// Free memory in bytes (0 without metrics).
    pub memory_free: i64,
    /// `product_version`.
    pub version: String,
    /// Names of the guests running or paused here, sorted.
    pub vms: Vec<String>,
}

impl HostSummary {
    /// The summary of one host view.
    pub fn of(h: &HostView<'_>) -> Self {
        let cpu = h.cpu();
        let mut vms: Vec<String> = h
            .resident_vms()
            .iter()
            .filter(|v| !v.record.is_control_domain)
            .map(|v| v.name().to_string())
            .collect();
        vms.sort();
        HostSummary {
            name: h.name().into(),
            description: h.record.name_description.clone(),
            uuid: h.record.uuid.clone(),
            reference: h.r.as_str().into(),
            address: h.record.address.clone(),
            coordinator: h.is_coordinator(),
            live: h.is_live(),
            enabled: h.record.enabled,
            cpu_vendor: cpu.vendor,
            cpu_model: cpu.modelname,
            cpu_count: cpu.cpu_count,
            memory_total: h.metrics().map_or(0, |m| m.memory_total),
            memory_free: h.memory_free(),
            version: h.versions().product_version,
            vms,
        }
    }
}

/// A guest VM.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VmSummary {
    /// `name_label`.
    pub name: String,
    /// `uuid`.
    pub uuid: String,
    /// The opaque reference.
    pub reference: String,
    /// Power state as on the wire (`Running`, `Halted`, ...).
    pub power_state: String,
    /// Name of the host it runs on ("" when not resident).
    pub resident_on: String,
    /// `memory_static_max` in bytes.
    pub memory: i64,
    /// `VCPUs_max`.
    pub vcpus: i64,
    /// `ha_restart_priority`.
    pub ha_restart_priority: String,
}

impl VmSummary {
    /// The summary of one VM view.
    pub fn of(v: &VmView<'_>) -> Self {
        VmSummary {
            name: v.name().into(),
            uuid: v.record.uuid.clone(),
            reference: v.r.as_str().into(),
            power_state: v.record.power_state.to_string(),
            resident_on: v
                .resident_on()
                .map(|h| h.name().to_string())
                .unwrap_or_default(),
            memory: v.record.memory_static_max,
            vcpus: v.record.vcpus_max,
            ha_restart_priority: v.record.ha_restart_priority.clone(),
        }
    }
}

/// A storage repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SrSummary {
    /// `name_label`.
    pub name: String,
    /// `uuid`.
    pub uuid: String,
    /// The opaque reference.
    pub reference: String,
    /// SR type (`nfs`, `lvm`, ...).
    pub kind: String,
    /// `shared`: one SR for the whole pool.
    pub pool_wide: bool,
    /// `physical_size` in bytes.
    pub size: i64,
    /// `physical_utilisation` in bytes.
    pub used: i64,
    /// Names of the hosts with a plugged PBD, sorted.
    pub hosts: Vec<String>,
    /// True for the pool's default SR.
    pub is_default: bool,
    /// True when every host has a plugged PBD for it.
    pub reaches_every_host: bool,
}

impl SrSummary {
    /// The summary of one SR view.
    pub fn of(s: &SrView<'_>) -> Self {
        let mut hosts: Vec<String> = s
            .pbds()
            .iter()
            .filter(|p| p.record.currently_attached)
            .filter_map(|p| p.host().map(|h| h.name().to_string()))
            .collect();
        hosts.sort();
        SrSummary {
            name: s.record.name_label.clone(),
            uuid: s.record.uuid.clone(),
            reference: s.r.as_str().into(),
            kind: s.record.type_.clone(),
            pool_wide: s.record.shared,
            size: s.record.physical_size,
            used: s.record.physical_utilisation,
            hosts,
            is_default: s.is_default(),
            reaches_every_host: s.reaches_every_host(),
        }
    }
}

/// The pool (a standalone host is a pool of one).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PoolSummary {
    /// `name_label`.
    pub name: String,
    /// `uuid`.
    pub uuid: String,
    /// The opaque reference.
    pub reference: String,
    /// The coordinator's name.
    pub coordinator: String,
    /// Every host's name, sorted.
    pub hosts: Vec<String>,
    /// Whether HA is on.
    pub ha_enabled: bool,
    /// Configured host failures to tolerate.
    pub ha_tolerates: i64,
    /// The default SR's name ("" when unset).
    pub default_sr: String,
}

impl PoolSummary {
    /// The summary of a snapshot's pool object.
    pub fn of(snap: &PoolSnapshot) -> Self {
        let view = snap.pool();
        let ha = view.ha();
        let mut hosts: Vec<String> = snap.hosts().iter().map(|h| h.name().into()).collect();
        hosts.sort();
        PoolSummary {
            name: view.name().into(),
            uuid: snap.pool.uuid.clone(),
            reference: snap.pool_ref.as_str().into(),
            coordinator: snap.coordinator_name(),
            hosts,
            ha_enabled: ha.enabled,
            ha_tolerates: ha.failures_to_tolerate,
            default_sr: view
                .default_sr()
                .map(|s| s.record.name_label.clone())
                .unwrap_or_default(),
        }
    }
}

impl PoolSnapshot {
    /// The pool's summary.
    pub fn pool_summary(&self) -> PoolSummary {
        PoolSummary::of(self)
    }
    /// Every host, coordinator first, then by name.
    pub fn host_summaries(&self) -> Vec<HostSummary> {
        self.hosts().iter().map(HostSummary::of).collect()
    }
    /// Guest VMs (no templates, snapshots or control domains), by name.
    pub fn vm_summaries(&self) -> Vec<VmSummary> {
        self.vms().iter().map(VmSummary::of).collect()
    }
    /// Every SR by name, SRs of the same name (each host's "Local storage") by host.
    pub fn sr_summaries(&self) -> Vec<SrSummary> {
        let mut srs: Vec<SrSummary> = self.srs().iter().map(SrSummary::of).collect();
        srs.sort_by(|a, b| (&a.name, &a.hosts).cmp(&(&b.name, &b.hosts)));
        srs
    }
}

/// One check of a join pre-flight, flattened for people.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckSummary {
    /// Stable check id.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// `PASS`, `WARN`, `FAIL`, ... (the report's label).
    pub status: String,
    /// `xapi #<order>` for a check xapi makes itself, else `documentation`.
    pub source: String,
    /// The XenAPI error code `pool.join` would raise for it.
    pub error: Option<String>,
    /// What to do about it.
    pub remedy: String,
    /// What the candidate has.
    pub candidate: String,
    /// What the pool has.
    pub pool: String,
}

impl From<&Check> for CheckSummary {
    fn from(c: &Check) -> Self {
        CheckSummary {
            id: c.id.clone(),
            title: c.title.clone(),
            status: c.status.label().into(),
            source: match c.source {
                CheckSource::Xapi { order } => format!("xapi #{order}"),
                _ => "documentation".into(),
            },
            error: c
                .xapi_error
                .as_ref()
                .map(|e| e.error_code().wire().to_string()),
            remedy: c.remedy.clone(),
            candidate: c.evidence.candidate.clone(),
            pool: c.evidence.pool.clone(),
        }
    }
}

/// A join pre-flight in brief: every check, what `pool.join` would say, and the advice.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JoinSummary {
    /// The candidate host's name.
    pub candidate: String,
    /// The pool's name.
    pub pool: String,
    /// True when nothing fails.
    pub ready: bool,
    /// True when `pool.join` would succeed.
    pub would_join: bool,
    /// True when `pool.join` with `force` would succeed.
    pub would_join_forced: bool,
    /// The XenAPI code `pool.join` would fail with.
    pub predicted_error: Option<String>,
    /// That error's parameters (empty when it would succeed).
    pub predicted_params: Vec<String>,
    /// Failing checks.
    pub problems: Vec<CheckSummary>,
    /// Warnings.
    pub warnings: Vec<CheckSummary>,
    /// Every check.
    pub checks: Vec<CheckSummary>,
    /// The report as plain text (its `Display`; the shell puts its table here).
    pub text: String,
    /// The report for a colour terminal: the plain text unless a front end draws its own
    /// (the shell's coloured table).
    #[serde(skip)]
    pub coloured: String,
}

impl JoinSummary {
    /// The brief of a report.
    pub fn of(r: &JoinReport) -> Self {
        let summaries = |checks: Vec<&Check>| checks.into_iter().map(CheckSummary::from).collect();
        let predicted = r.predicted_failure(false);
        JoinSummary {
            candidate: r.candidate.name.clone(),
            pool: r.pool.name.clone(),
            ready: r.is_ready(),
            would_join: r.predicted_failure(false).is_none(),
            would_join_forced: r.predicted_failure(true).is_none(),
            predicted_error: predicted.as_ref().map(|(code, _)| code.wire().to_string()),
            predicted_params: predicted.map(|(_, params)| params).unwrap_or_default(),
            problems: summaries(r.fails()),
            warnings: summaries(r.warnings()),
            checks: r.checks.iter().map(CheckSummary::from).collect(),
            text: r.to_string(),
            coloured: r.to_string(),
        }
    }
}

/// What a pool operation did (or, in a dry run, would do), for people.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutcomeSummary {
    /// The operation, e.g. `eject intel2`.
    pub operation: String,
    /// False for a dry run.
    pub executed: bool,
    /// One sentence.
    pub summary: String,
    /// The plan, rendered.
    pub plan: String,
    /// The plan's calls in order, as method names (`pool.eject`).
    pub calls: Vec<String>,
    /// What was touched (hosts joined, VMs moved, ...).
    pub items: Vec<String>,
}

impl OutcomeSummary {
    /// An outcome from a plan and what happened; a dry run says nothing was changed.
    pub fn new(
        plan: &Plan,
        executed: bool,
        summary: impl Into<String>,
        items: Vec<String>,
    ) -> Self {
        OutcomeSummary {
            operation: plan.operation.clone(),
            executed,
            summary: if executed {
                summary.into()
            } else {
                format!("dry run of {}: nothing was changed", plan.operation)
            },
            plan: plan.to_string(),
            calls: plan.calls.iter().map(|c| c.method.clone()).collect(),
            items,
        }
    }
}
