//! The objects scripts get back: plain snapshots with getters (`h.name`, `vm.power_state`),
//! printed as tables when a list of them is the result of a command.

use rhai::{Array, Dynamic, Engine};
use xenpool::pool::CheckSummary;

/// A type shown as one row of a table.
pub trait Row {
    /// Column titles.
    const HEADERS: &'static [&'static str];
    /// This object's cells.
    fn cells(&self) -> Vec<String>;
}

/// A type scripts can read: its Rhai getters and its name.
pub trait Object: Clone + Send + Sync + 'static {
    /// The getter names, for completion and `:help`.
    const FIELDS: &'static [&'static str];
    /// Registers the type and its getters.
    fn register(engine: &mut Engine);
}

/// Declares a script object: either a core summary type (`Name as "Rhai" = path { .. }`)
/// exposed under a shell name, or a shell-only struct. Generates its Rhai getters (only the
/// listed fields) and its table row.
macro_rules! object {
    (
        $(#[$doc:meta])* $name:ident as $rhai:literal = $core:path {
            $( $field:ident ),* $(,)?
        }
        row [$($header:literal => $cell:expr),* $(,)?]
    ) => {
        $(#[$doc])*
        pub type $name = $core;
        object!(@impl $name, $rhai, [$($field),*], [$($header => $cell),*]);
    };
    (
        $(#[$doc:meta])* $name:ident as $rhai:literal {
            $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)?
        }
        row [$($header:literal => $cell:expr),* $(,)?]
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            $( $(#[$fdoc])* pub $field: $ty, )*
        }
        object!(@impl $name, $rhai, [$($field),*], [$($header => $cell),*]);
    };
    (
        @impl $name:ident, $rhai:literal,
        [$($field:ident),*], [$($header:literal => $cell:expr),*]
    ) => {
        impl Object for $name {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn register(engine: &mut Engine) {
                engine.register_type_with_name::<$name>($rhai);
                $( engine.register_get(stringify!($field), |o: &mut $name| {
                    to_dynamic(o.$field.clone())
                }); )*
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
impl IntoDynamic for Vec<CheckSummary> {
    fn into_dynamic(self) -> Dynamic {
        self.into_iter()
            .map(Dynamic::from)
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
    Host as "Host" = xenpool::pool::HostSummary {
        name, description, uuid, reference, address, coordinator, live, enabled,
        cpu_vendor, cpu_model, cpu_count, memory_total, memory_free, version, vms,
    }
    row [
        "Name" => |h: &Host| h.name.clone(),
        "Role" => |h: &Host| {
            if h.coordinator { "coordinator".into() } else { "member".to_string() }
        },
        "Address" => |h: &Host| h.address.clone(),
        "Live" => |h: &Host| h.live.to_string(),
        "CPU" => |h: &Host| format!("{} x{}", h.cpu_model, h.cpu_count),
        "Memory free" => |h: &Host| gib(h.memory_free),
        "VMs" => |h: &Host| h.vms.len().to_string(),
        "UUID" => |h: &Host| h.uuid.clone(),
    ]
}

object! {
    /// A VM (templates, snapshots and control domains are left out of `vms()`).
    Vm as "VM" = xenpool::pool::VmSummary {
        name, uuid, reference, power_state, resident_on, memory, vcpus, ha_restart_priority,
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

object! {
    /// A storage repository.
    Sr as "SR" = xenpool::pool::SrSummary {
        name, uuid, reference, kind, pool_wide, size, used, hosts, is_default,
    }
    row [
        "Name" => |s: &Sr| {
            if s.is_default { format!("{} (default)", s.name) } else { s.name.clone() }
        },
        "Type" => |s: &Sr| s.kind.clone(),
        "Shared" => |s: &Sr| s.pool_wide.to_string(),
        "Size" => |s: &Sr| gib(s.size),
        "Hosts" => |s: &Sr| s.hosts.join(", "),
        "UUID" => |s: &Sr| s.uuid.clone(),
    ]
}

object! {
    /// The connected pool (a standalone host is a pool of one).
    Pool as "Pool" = xenpool::pool::PoolSummary {
        name, uuid, reference, coordinator, hosts, ha_enabled, ha_tolerates, default_sr,
    }
    row [
        "Name" => |p: &Pool| p.name.clone(),
        "Coordinator" => |p: &Pool| p.coordinator.clone(),
        "Hosts" => |p: &Pool| p.hosts.join(", "),
        "HA" => |p: &Pool| {
            if p.ha_enabled { format!("on (tolerates {})", p.ha_tolerates) } else { "off".into() }
        },
        "Default SR" => |p: &Pool| p.default_sr.clone(),
    ]
}

object! {
    /// One check of a join pre-flight.
    CheckResult as "Check" = xenpool::pool::CheckSummary {
        id, title, status, source, error, remedy, candidate, pool,
    }
    row [
        "Status" => |c: &CheckResult| c.status.clone(),
        "Check" => |c: &CheckResult| c.title.clone(),
        "Source" => |c: &CheckResult| c.source.clone(),
        "Error" => |c: &CheckResult| c.error.clone().unwrap_or_default(),
        "Remedy" => |c: &CheckResult| c.remedy.clone(),
    ]
}

object! {
    /// A join pre-flight: every check, what `pool.join` would say, and the advice.
    Report as "JoinReport" = xenpool::pool::JoinSummary {
        candidate, pool, ready, would_join, would_join_forced, predicted_error, predicted_params,
        problems, warnings, checks, text,
    }
    row [
        "Candidate" => |r: &Report| r.candidate.clone(),
        "Pool" => |r: &Report| r.pool.clone(),
        "Ready" => |r: &Report| r.ready.to_string(),
        "pool.join" => |r: &Report| {
            r.predicted_error.clone().unwrap_or_else(|| "would succeed".into())
        },
        "Problems" => |r: &Report| r.problems.len().to_string(),
    ]
}

object! {
    /// A bond that differs from the coordinator's (see `check_bonds()`).
    BondProblem as "BondProblem" = xenpool::pool::ops::BondProblem {
        host, network, bond, members, expected, reason,
    }
    row [
        "Host" => |b: &BondProblem| b.host.clone(),
        "Network" => |b: &BondProblem| b.network.clone(),
        "Members" => |b: &BondProblem| b.members.join("+"),
        "Expected" => |b: &BondProblem| b.expected.join("+"),
        "Reason" => |b: &BondProblem| b.reason.clone(),
    ]
}

object! {
    /// What a pool operation did (or, in a dry run, would do).
    Outcome as "Outcome" = xenpool::pool::OutcomeSummary {
        operation, executed, summary, plan, calls, items,
    }
    row [
        "Operation" => |o: &Outcome| o.operation.clone(),
        "Executed" => |o: &Outcome| o.executed.to_string(),
        "Summary" => |o: &Outcome| o.summary.clone(),
    ]
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
        fields_of("XenError").unwrap_or_default(),
    ]
    .concat();
    v.sort_unstable();
    v.dedup();
    v
}

/// The getters of the object type named `rhai_name` (`Host`, `VM`, `XenError`, …).
pub fn fields_of(rhai_name: &str) -> Option<&'static [&'static str]> {
    Some(match rhai_name {
        "Host" => Host::FIELDS,
        "VM" => Vm::FIELDS,
        "SR" => Sr::FIELDS,
        "Pool" => Pool::FIELDS,
        "Check" => CheckResult::FIELDS,
        "JoinReport" => Report::FIELDS,
        "BondProblem" => BondProblem::FIELDS,
        "Outcome" => Outcome::FIELDS,
        "SimHost" => SimHost::FIELDS,
        "XenError" => &["code", "params", "message", "method"],
        _ => return None,
    })
}

/// The shell name of a value's object type, when it is one of the shell's objects.
pub fn type_of(value: &Dynamic) -> Option<&'static str> {
    macro_rules! first {
        ($($t:ty => $n:literal),*) => {$(
            if value.is::<$t>() {
                return Some($n);
            }
        )*};
    }
    first!(
        Host => "Host",
        Vm => "VM",
        Sr => "SR",
        Pool => "Pool",
        CheckResult => "Check",
        Report => "JoinReport",
        BondProblem => "BondProblem",
        Outcome => "Outcome",
        SimHost => "SimHost",
        crate::errors::XenError => "XenError"
    );
    None
}
