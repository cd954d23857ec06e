//! Where a VM can run: memory, CPU and reachability checks, and placing or halting it.

use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::pool::features;
use xenpool::wire::Value;

use crate::db::{Db, NULL_REF, lifecycle};
use crate::failure::Failure;
use crate::profile::map_get;
use crate::values::{flag, s};

const GIB: i64 = 1 << 30;

/// A VM's sets of dependent objects, which the store relinks as those objects are created.
pub const CHILD_SETS: &[&str] = &[
    "VBDs",
    "VIFs",
    "consoles",
    "snapshots",
    "crash_dumps",
    "VTPMs",
    "VUSBs",
    "VGPUs",
];

/// Memory a VM needs on a host (dynamic_min based, as xapi reserves).
pub fn needed_memory(db: &Db, vm: &str) -> i64 {
    match db.get_field("VM", vm, "memory_dynamic_min") {
        Some(Value::Int(m)) => *m,
        _ => 0,
    }
}

/// Free memory on a host: total minus the control domain's share and resident guests.
pub fn free_memory(db: &Db, host: &str) -> i64 {
    let metrics = db.str_field("host", host, "metrics");
    let total = match db.get_field("host_metrics", &metrics, "memory_total") {
        Some(Value::Int(t)) => *t,
        _ => 0,
    };
    let used: i64 = db
        .find("VM", |r| {
            r.get("resident_on").and_then(Value::as_str) == Some(host)
                && r.get("is_control_domain") != Some(&Value::Bool(true))
        })
        .iter()
        .map(|vm| needed_memory(db, vm))
        .sum();
    total - 4 * GIB - used
}

/// Recomputes `host_metrics.memory_free` after placements change.
pub fn refresh_free_memory(db: &mut Db, host: &str) {
    let free = free_memory(db, host);
    let metrics = db.str_field("host", host, "metrics");
    db.update("host_metrics", &metrics, |r| {
        r.insert("memory_free".into(), Value::Int(free.max(0)));
    });
}

/// True when the host's metrics say it is live.
pub fn host_live(db: &Db, host: &str) -> bool {
    let metrics = db.str_field("host", host, "metrics");
    flag(
        db.get_field("host_metrics", &metrics, "live")
            .unwrap_or(&Value::Nil),
    )
}

pub fn cpu_compatible(db: &Db, vm: &str, host: &str) -> Result<(), String> {
    let vm_rec = db.get("VM", vm).cloned().unwrap_or_default();
    let host_rec = db.get("host", host).cloned().unwrap_or_default();
    let vm_vendor = map_get(&vm_rec, "last_boot_CPU_flags", "vendor");
    let host_vendor = map_get(&host_rec, "cpu_info", "vendor");
    if vm_vendor.is_empty() {
        return Ok(());
    }
    if vm_vendor != host_vendor {
        return Err(format!(
            "VM last booted on a CPU from vendor {vm_vendor}, the host's is {host_vendor}"
        ));
    }
    let vm_features =
        features::parse(&map_get(&vm_rec, "last_boot_CPU_flags", "features")).unwrap_or_default();
    let host_features =
        features::parse(&map_get(&host_rec, "cpu_info", "features_hvm_host")).unwrap_or_default();
    let missing = vm_features
        .iter()
        .enumerate()
        .any(|(i, w)| w & !host_features.get(i).copied().unwrap_or(0) != 0);
    if missing {
        return Err("VM last booted on a host with features this host lacks".into());
    }
    Ok(())
}

/// xapi's `assert_can_boot_here`: host live and enabled, every disk's SR attached on the
/// host, every network reachable, enough memory and pCPUs, and optionally the CPU check.
pub fn assert_can_boot_here(
    db: &Db,
    vm: &str,
    host: &str,
    check_cpu: bool,
    same_host: bool,
) -> Result<(), Failure> {
    lifecycle::validate_boot(vm, db.get("VM", vm).unwrap_or(&IndexMap::new()))?;
    if check_cpu && db.str_field("VM", vm, "power_state") != "Halted" {
        cpu_compatible(db, vm, host).map_err(|reason| {
            Failure::new(
                ErrorCode::VmIncompatibleWithThisHost,
                [vm, host, reason.as_str()],
            )
        })?;
    }
    if !host_live(db, host) {
        return Err(Failure::code(ErrorCode::HostNotLive));
    }
    if !same_host && !flag(db.get_field("host", host, "enabled").unwrap_or(&Value::Nil)) {
        return Err(Failure::new(ErrorCode::HostDisabled, [host]));
    }
    let mut srs: Vec<String> = db
        .find("VBD", |r| {
            r.get("VM").and_then(Value::as_str) == Some(vm)
                && r.get("empty") != Some(&Value::Bool(true))
        })
        .iter()
        .map(|vbd| db.str_field("VDI", &db.str_field("VBD", vbd, "VDI"), "SR"))
        .filter(|sr| !sr.is_empty() && sr != NULL_REF)
        .collect();
    let suspend = db.str_field("VM", vm, "suspend_VDI");
    if suspend != NULL_REF && !suspend.is_empty() {
        srs.push(db.str_field("VDI", &suspend, "SR"));
    }
    for sr in srs {
        let attached = db
            .find("PBD", |r| {
                r.get("SR").and_then(Value::as_str) == Some(&sr)
                    && r.get("host").and_then(Value::as_str) == Some(host)
            })
            .iter()
            .any(|p| {
                flag(
                    db.get_field("PBD", p, "currently_attached")
                        .unwrap_or(&Value::Nil),
                )
            });
        if !attached {
            return Err(Failure::new(ErrorCode::VmRequiresSr, [vm, sr.as_str()]));
        }
    }
    for vif in db.find("VIF", |r| r.get("VM").and_then(Value::as_str) == Some(vm)) {
        let network = db.str_field("VIF", &vif, "network");
        let internal = db
            .find("PIF", |r| {
                r.get("network").and_then(Value::as_str) == Some(&network)
            })
            .is_empty();
        let reachable = internal
            || !db
                .find("PIF", |r| {
                    r.get("network").and_then(Value::as_str) == Some(&network)
                        && r.get("host").and_then(Value::as_str) == Some(host)
                })
                .is_empty();
        if !reachable {
            return Err(Failure::new(
                ErrorCode::VmRequiresNetwork,
                [vm, network.as_str()],
            ));
        }
    }
    if !same_host {
        let needed = needed_memory(db, vm);
        let available = free_memory(db, host);
        if needed > available {
            return Err(Failure::new(
                ErrorCode::HostNotEnoughFreeMemory,
                [needed.to_string(), available.max(0).to_string()],
            ));
        }
    }
    let vcpus = match db.get_field("VM", vm, "VCPUs_max") {
        Some(Value::Int(v)) => *v,
        _ => 1,
    };
    let pcpus: i64 = map_get(
        db.get("host", host).unwrap_or(&IndexMap::new()),
        "cpu_info",
        "cpu_count",
    )
    .parse()
    .unwrap_or(0);
    if vcpus > pcpus {
        return Err(Failure::new(
            ErrorCode::HostNotEnoughPcpus,
            [vcpus.to_string(), pcpus.to_string()],
        ));
    }
    Ok(())
}

/// Places a VM on a host as running.
pub fn place(db: &mut Db, vm: &str, host: &str) {
    let cpu = db.get("host", host).cloned().unwrap_or_default();
    let flags = Value::Struct(IndexMap::from([
        ("vendor".to_string(), s(map_get(&cpu, "cpu_info", "vendor"))),
        (
            "features".to_string(),
            s(map_get(&cpu, "cpu_info", "features_hvm_host")),
        ),
    ]));
    db.set_field("VM", vm, "resident_on", s(host));
    db.update("VM", vm, |r| {
        r.insert("power_state".into(), s("Running"));
        r.insert("last_boot_CPU_flags".into(), flags);
        r.insert("domid".into(), Value::Int(1));
    });
    set_vbds_attached(db, vm, true);
    refresh_free_memory(db, host);
}

/// Marks a VM halted, off any host.
pub fn halt(db: &mut Db, vm: &str) {
    let host = db.str_field("VM", vm, "resident_on");
    db.set_field("VM", vm, "resident_on", s(NULL_REF));
    db.update("VM", vm, |r| {
        r.insert("power_state".into(), s("Halted"));
        r.insert("domid".into(), Value::Int(-1));
    });
    set_vbds_attached(db, vm, false);
    if host != NULL_REF {
        refresh_free_memory(db, &host);
    }
}

/// Marks every disk of the VM attached or not (it started or stopped).
pub fn set_vbds_attached(db: &mut Db, vm: &str, attached: bool) {
    for vbd in db.find("VBD", |r| r.get("VM").and_then(Value::as_str) == Some(vm)) {
        db.update("VBD", &vbd, |r| {
            r.insert("currently_attached".into(), Value::Bool(attached));
        });
    }
}

/// Hosts of the pool where the VM could start, affinity first.
pub fn candidate_hosts(db: &Db, vm: &str) -> Vec<String> {
    let affinity = db.str_field("VM", vm, "affinity");
    let mut hosts: Vec<String> = db.all("host").map(|(k, _)| k.clone()).collect();
    hosts.sort_by_key(|h| *h != affinity);
    hosts
}

/// Resets a VM to Halted whatever its state (a dead host's guests, a reset power state).
pub fn force_halt(db: &mut Db, vm: &str) {
    let suspend = db.str_field("VM", vm, "suspend_VDI");
    if suspend != NULL_REF && !suspend.is_empty() {
        db.delete("VDI", &suspend);
        db.set_field("VM", vm, "suspend_VDI", s(NULL_REF));
    }
    db.update("VM", vm, |r| {
        r.insert("current_operations".into(), Value::Struct(IndexMap::new()));
    });
    halt(db, vm);
}
