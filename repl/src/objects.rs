//! The objects scripts get back: plain snapshots with getters (`h.name`, `vm.power_state`),
//! printed as tables when a list of them is the result of a command.

use rhai::{Array, Dynamic, Engine};
use xenpool::pool::report::{Check, JoinReport};
use xenpool::pool::views::{HostView, PoolSnapshot, SrView, VmView};

/// A type shown as one row of a table.
pub trait Row {
    /// Column titles.
    const HEADERS: &'static [&'static str];
    /// This object's cells.
    fn cells(&self) -> Vec<String>;
}

/// Declares a snapshot type: the struct, its Rhai getters and its table row.
macro_rules! object {
    (
        $(#[$doc:meta])* $name:ident as $rhai:literal {
            $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)?
        }
        $(hidden { $( $(#[$hdoc:meta])* $hfield:ident : $hty:ty ),* $(,)? })?
        row [$($header:literal => $cell:expr),* $(,)?]
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            $( $(#[$fdoc])* pub $field: $ty, )*
            $($( $(#[$hdoc])* pub $hfield: $hty, )*)?
        }

        impl $name {
            fn register(engine: &mut Engine) {
                engine.register_type_with_name::<$name>($rhai);
                $( engine.register_get(stringify!($field), |o: &mut $name| to_dynamic(o.$field.clone())); )*
                engine.register_fn("to_string", |o: &mut $name| {
                    let cells = o.cells();
                    let parts: Vec<String> = <$name as Row>::HEADERS
                        .iter()
                        .zip(cells)
                        .map(|(h, c)| format!("{}={}", h.to_ascii_lowercase(), c))
                        .collect();
                    format!("{}({})", $rhai, parts.join(", "))
                });
                engine.register_fn("to_debug", |o: &mut $name| format!("{o:?}"));
            }

            /// The getter names, for completion and `:help`.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        impl Row for $name {
            const HEADERS: &'static [&'static str] = &[$($header),*];
            fn cells(&self) -> Vec<String> {
                vec![$( ($cell)(self) ),*]
            }
        }
    };
}

/// Field values become plain Rhai values (lists become arrays).
pub trait IntoDynamic {
    /// The conversion.
    fn into_dynamic(self) -> Dynamic;
}
impl IntoDynamic for String {
    fn into_dynamic(self) -> Dynamic {
        self.into()
    }
}
impl IntoDynamic for bool {
    fn into_dynamic(self) -> Dynamic {
        self.into()
    }
}
impl IntoDynamic for i64 {
    fn into_dynamic(self) -> Dynamic {
        self.into()
    }
}
impl IntoDynamic for Vec<String> {
    fn into_dynamic(self) -> Dynamic {
        self.into_iter()
            .map(Dynamic::from)
            .collect::<Array>()
            .into()
    }
}
impl IntoDynamic for Option<String> {
    fn into_dynamic(self) -> Dynamic {
        self.map(Dynamic::from).unwrap_or(Dynamic::UNIT)
    }
}
impl IntoDynamic for Vec<Check> {
    fn into_dynamic(self) -> Dynamic {
        self.into_iter()
            .map(|c| Dynamic::from(CheckResult::from(&c)))
            .collect::<Array>()
            .into()
    }
}
fn to_dynamic(v: impl IntoDynamic) -> Dynamic {
    v.into_dynamic()
}

fn gib(bytes: i64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

object! {
    /// A host of the connected pool.
    Host as "Host" {
        name: String, description: String, uuid: String, reference: String, address: String,
        coordinator: bool, live: bool, enabled: bool,
        cpu_vendor: String, cpu_model: String, cpu_count: i64,
        memory_total: i64, memory_free: i64, version: String, vms: Vec<String>,
    }
    row [
        "Name" => |h: &Host| h.name.clone(),
        "Role" => |h: &Host| if h.coordinator { "coordinator".into() } else { "member".to_string() },
        "Address" => |h: &Host| h.address.clone(),
        "Live" => |h: &Host| h.live.to_string(),
        "CPU" => |h: &Host| format!("{} x{}", h.cpu_model, h.cpu_count),
        "Memory free" => |h: &Host| gib(h.memory_free),
        "VMs" => |h: &Host| h.vms.len().to_string(),
        "UUID" => |h: &Host| h.uuid.clone(),
    ]
}

impl Host {
    /// A snapshot of one host.
    pub fn from_view(h: &HostView<'_>) -> Self {
        let cpu = h.cpu();
        let metrics = h.metrics();
        Host {
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
            memory_total: metrics.map(|m| m.memory_total).unwrap_or_default(),
            memory_free: h.memory_free(),
            version: h.versions().product_version,
            vms: h
                .resident_vms()
                .iter()
                .filter(|v| !v.record.is_control_domain)
                .map(|v| v.name().to_string())
                .collect(),
        }
    }
}

object! {
    /// A VM (templates, snapshots and control domains are left out of `vms()`).
    Vm as "VM" {
        name: String, uuid: String, reference: String, power_state: String,
        resident_on: String, memory: i64, vcpus: i64, ha_restart_priority: String,
    }
    row [
        "Name" => |v: &Vm| v.name.clone(),
        "Power" => |v: &Vm| v.power_state.clone(),
        "Host" => |v: &Vm| v.resident_on.clone(),
        "Memory" => |v: &Vm| gib(v.memory),
        "vCPUs" => |v: &Vm| v.vcpus.to_string(),
        "UUID" => |v: &Vm| v.uuid.clone(),
    ]
}

impl Vm {
    /// A snapshot of one VM.
    pub fn from_view(v: &VmView<'_>) -> Self {
        Vm {
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

object! {
    /// A storage repository.
    Sr as "SR" {
        name: String, uuid: String, reference: String, kind: String, pool_wide: bool,
        size: i64, used: i64, hosts: Vec<String>, is_default: bool,
    }
    row [
        "Name" => |s: &Sr| if s.is_default { format!("{} (default)", s.name) } else { s.name.clone() },
        "Type" => |s: &Sr| s.kind.clone(),
        "Shared" => |s: &Sr| s.pool_wide.to_string(),
        "Size" => |s: &Sr| gib(s.size),
        "Hosts" => |s: &Sr| s.hosts.join(", "),
        "UUID" => |s: &Sr| s.uuid.clone(),
    ]
}

impl Sr {
    /// A snapshot of one SR, with the hosts it is plugged on.
    pub fn from_view(s: &SrView<'_>, default: bool) -> Self {
        let mut hosts: Vec<String> = s
            .pbds()
            .iter()
            .filter(|p| p.record.currently_attached)
            .filter_map(|p| p.host().map(|h| h.name().to_string()))
            .collect();
        hosts.sort();
        Sr {
            name: s.record.name_label.clone(),
            uuid: s.record.uuid.clone(),
            reference: s.r.as_str().into(),
            kind: s.record.type_.clone(),
            pool_wide: s.record.shared,
            size: s.record.physical_size,
            used: s.record.physical_utilisation,
            hosts,
            is_default: default,
        }
    }
}

object! {
    /// The connected pool (a standalone host is a pool of one).
    Pool as "Pool" {
        name: String, uuid: String, reference: String, coordinator: String,
        hosts: Vec<String>, ha_enabled: bool, ha_tolerates: i64, default_sr: String,
    }
    row [
        "Name" => |p: &Pool| p.name.clone(),
        "Coordinator" => |p: &Pool| p.coordinator.clone(),
        "Hosts" => |p: &Pool| p.hosts.join(", "),
        "HA" => |p: &Pool| if p.ha_enabled { format!("on (tolerates {})", p.ha_tolerates) } else { "off".into() },
        "Default SR" => |p: &Pool| p.default_sr.clone(),
    ]
}

impl Pool {
    /// A snapshot of the pool object.
    pub fn from_snapshot(snap: &PoolSnapshot) -> Self {
        let view = snap.pool();
        let ha = view.ha();
        let mut hosts: Vec<String> = snap.hosts().iter().map(|h| h.name().into()).collect();
        hosts.sort();
        Pool {
            name: view.name().into(),
            uuid: snap.pool.uuid.clone(),
            reference: snap.pool_ref.as_str().into(),
            coordinator: view
                .master()
                .map(|h| h.name().to_string())
                .unwrap_or_default(),
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

object! {
    /// One check of a join pre-flight.
    CheckResult as "Check" {
        id: String, title: String, status: String, source: String,
        error: Option<String>, remedy: String, candidate: String, pool: String,
    }
    row [
        "Status" => |c: &CheckResult| c.status.clone(),
        "Check" => |c: &CheckResult| c.title.clone(),
        "Source" => |c: &CheckResult| c.source.clone(),
        "Error" => |c: &CheckResult| c.error.clone().unwrap_or_default(),
        "Remedy" => |c: &CheckResult| c.remedy.clone(),
    ]
}

impl From<&Check> for CheckResult {
    fn from(c: &Check) -> Self {
        use xenpool::pool::CheckSource;
        CheckResult {
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

object! {
    /// A join pre-flight: every check, what `pool.join` would say, and the advice.
    Report as "JoinReport" {
        candidate: String, pool: String, ready: bool, would_join: bool,
        would_join_forced: bool, predicted_error: Option<String>,
        problems: Vec<Check>, warnings: Vec<Check>, checks: Vec<Check>, text: String,
    }
    hidden {
        /// The report rendered with colour, for terminals.
        coloured: String,
    }
    row [
        "Candidate" => |r: &Report| r.candidate.clone(),
        "Pool" => |r: &Report| r.pool.clone(),
        "Ready" => |r: &Report| r.ready.to_string(),
        "pool.join" => |r: &Report| r.predicted_error.clone().unwrap_or_else(|| "would succeed".into()),
        "Problems" => |r: &Report| r.problems.len().to_string(),
    ]
}

impl Report {
    /// The script view of a report.
    pub fn from_report(r: &JoinReport) -> Self {
        Report {
            candidate: r.candidate.name.clone(),
            pool: r.pool.name.clone(),
            ready: r.is_ready(),
            would_join: r.predicted_failure(false).is_none(),
            would_join_forced: r.predicted_failure(true).is_none(),
            predicted_error: r
                .predicted_failure(false)
                .map(|(code, _)| code.wire().to_string()),
            problems: r.fails().into_iter().cloned().collect(),
            warnings: r.warnings().into_iter().cloned().collect(),
            checks: r.checks.clone(),
            text: r.render_width(false, crate::display::width()),
            coloured: r.render_width(true, crate::display::width()),
        }
    }
}

object! {
    /// A bond that differs from the coordinator's (see `check_bonds()`).
    BondProblem as "BondProblem" {
        host: String, network: String, bond: Option<String>, members: Vec<String>,
        expected: Vec<String>, reason: String,
    }
    row [
        "Host" => |b: &BondProblem| b.host.clone(),
        "Network" => |b: &BondProblem| b.network.clone(),
        "Members" => |b: &BondProblem| b.members.join("+"),
        "Expected" => |b: &BondProblem| b.expected.join("+"),
        "Reason" => |b: &BondProblem| b.reason.clone(),
    ]
}

impl From<&xenpool::pool::ops::BondProblem> for BondProblem {
    fn from(b: &xenpool::pool::ops::BondProblem) -> Self {
        BondProblem {
            host: b.host.clone(),
            network: b.network.clone(),
            bond: b.bond.clone(),
            members: b.members.clone(),
            expected: b.expected.clone(),
            reason: b.reason.clone(),
        }
    }
}

object! {
    /// What a pool operation did (or, in a dry run, would do).
    Outcome as "Outcome" {
        operation: String, executed: bool, summary: String, plan: String, items: Vec<String>,
    }
    row [
        "Operation" => |o: &Outcome| o.operation.clone(),
        "Executed" => |o: &Outcome| o.executed.to_string(),
        "Summary" => |o: &Outcome| o.summary.clone(),
    ]
}

impl Outcome {
    /// An outcome from a plan and what happened.
    pub fn new(
        plan: &xenpool::pool::Plan,
        executed: bool,
        summary: impl Into<String>,
        items: Vec<String>,
    ) -> Self {
        Outcome {
            operation: plan.operation.clone(),
            executed,
            summary: if executed {
                summary.into()
            } else {
                format!("dry run of {}: nothing was changed", plan.operation)
            },
            plan: plan.to_string(),
            items,
        }
    }
}

object! {
    /// A host of the embedded simulator (`sim_hosts()`).
    SimHost as "SimHost" {
        name: String, address: String, url: String, alive: bool, coordinator: String,
    }
    row [
        "Name" => |h: &SimHost| h.name.clone(),
        "Address" => |h: &SimHost| h.address.clone(),
        "Alive" => |h: &SimHost| h.alive.to_string(),
        "Pool coordinator" => |h: &SimHost| h.coordinator.clone(),
    ]
}

/// Registers every object type.
pub fn register(engine: &mut Engine) {
    Host::register(engine);
    Vm::register(engine);
    Sr::register(engine);
    Pool::register(engine);
    CheckResult::register(engine);
    Report::register(engine);
    BondProblem::register(engine);
    Outcome::register(engine);
    SimHost::register(engine);
}

/// Getter names of every object type (for completion after a dot).
pub fn all_fields() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = [
        Host::FIELDS,
        Vm::FIELDS,
        Sr::FIELDS,
        Pool::FIELDS,
        CheckResult::FIELDS,
        Report::FIELDS,
        BondProblem::FIELDS,
        Outcome::FIELDS,
        SimHost::FIELDS,
        &["code", "params", "message", "method"],
    ]
    .concat();
    v.sort_unstable();
    v.dedup();
    v
}
