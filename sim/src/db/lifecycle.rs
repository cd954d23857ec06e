//! VM operations allowed per power state: one table, after xapi's `allowed_power_states`
//! (`ocaml/xapi/xapi_vm_lifecycle.ml`), drives both the checks of the power operations
//! (`VM_BAD_POWER_STATE` and its expected states) and `VM.allowed_operations`.

use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::db::Record;
use crate::failure::Failure;

const H: &str = "Halted";
const P: &str = "Paused";
const S: &str = "Suspended";
const R: &str = "Running";

/// Operation → power states it is allowed in, in the order xapi lists them (that order
/// is the expected-states text of `VM_BAD_POWER_STATE`, e.g. `"paused, suspended, running"`).
const TABLE: &[(&str, &[&str])] = &[
    ("start", &[H]),
    ("start_on", &[H]),
    ("provision", &[H]),
    ("make_into_template", &[H]),
    ("changing_shadow_memory", &[H]),
    ("changing_NVRAM", &[H]),
    ("changing_static_range", &[H]),
    ("changing_VCPUs", &[H]),
    ("changing_memory_limits", &[H]),
    ("create_vtpm", &[H]),
    ("unpause", &[P]),
    ("resume", &[S]),
    ("resume_on", &[S]),
    ("clean_reboot", &[R]),
    ("clean_shutdown", &[R]),
    ("pause", &[R]),
    ("pool_migrate", &[R]),
    ("suspend", &[R]),
    ("changing_VCPUs_live", &[R]),
    ("changing_dynamic_range", &[H, R]),
    ("clone", &[H]),
    ("copy", &[H]),
    ("destroy", &[H, S]),
    ("export", &[H, S]),
    ("hard_reboot", &[P, R]),
    ("checkpoint", &[P, S, R]),
    ("shutdown", &[P, S, R]),
    ("hard_shutdown", &[P, S, R]),
    ("migrate_send", &[H, S, R]),
    ("metadata_export", &[H, P, S, R]),
    ("power_state_reset", &[H, P, S, R]),
    ("revert", &[H, P, S, R]),
    ("snapshot", &[H, P, S, R]),
];

/// Operations xapi never lists in `allowed_operations` (`ignored_ops`).
const NOT_LISTED: &[&str] = &[
    "power_state_reset",
    "shutdown",
    "changing_memory_limits",
    "changing_VCPUs",
];

/// Operations a template allows (`check_template`); `destroy` too unless it is a default
/// template.
const TEMPLATE_OPS: &[&str] = &[
    "changing_dynamic_range",
    "changing_static_range",
    "changing_memory_limits",
    "changing_shadow_memory",
    "changing_VCPUs",
    "changing_NVRAM",
    "clone",
    "copy",
    "export",
    "metadata_export",
    "provision",
];

fn str_of<'a>(vm: &'a Record, field: &str) -> &'a str {
    vm.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn flag(vm: &Record, field: &str) -> bool {
    matches!(vm.get(field), Some(Value::Bool(true)))
}

/// The power states `op` is allowed in; clones and copies of snapshots may also start
/// from `Suspended`.
fn allowed_states(vm: &Record, op: &str) -> Vec<&'static str> {
    let mut states = TABLE
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, s)| s.to_vec())
        .unwrap_or_default();
    if matches!(op, "clone" | "copy") && flag(vm, "is_a_snapshot") {
        states.push(S);
    }
    states
}

/// xapi's `check_operation_error`, in its order: blocked by the user, power state, another
/// operation in progress, template rules, control domain.
pub fn check(vm_ref: &str, vm: &Record, op: &str) -> Result<(), Failure> {
    if let Some(Value::Struct(blocked)) = vm.get("blocked_operations")
        && let Some(reason) = blocked.get(op)
    {
        return Err(Failure::new(
            ErrorCode::OperationBlocked,
            [vm_ref, reason.as_str().unwrap_or_default()],
        ));
    }
    let state = str_of(vm, "power_state");
    let states = allowed_states(vm, op);
    if !states.contains(&state) {
        let expected = states
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Failure::new(
            ErrorCode::VmBadPowerState,
            [vm_ref.to_string(), expected, state.to_ascii_lowercase()],
        ));
    }
    if let Some(Value::Struct(current)) = vm.get("current_operations")
        && let Some((task, other)) = current.iter().next()
    {
        return Err(Failure::new(
            ErrorCode::OtherOperationInProgress,
            [
                "VM",
                vm_ref,
                other.as_str().unwrap_or_default(),
                task.as_str(),
            ],
        ));
    }
    if flag(vm, "is_a_template") && !flag(vm, "is_a_snapshot") {
        let default = flag(vm, "is_default_template");
        let ok = TEMPLATE_OPS.contains(&op) || (op == "destroy" && !default);
        if !ok {
            return Err(Failure::new(ErrorCode::VmIsTemplate, [vm_ref, op]));
        }
    }
    if flag(vm, "is_control_domain") && op != "changing_VCPUs" {
        return Err(Failure::not_allowed(
            "Operation not allowed on a control domain",
        ));
    }
    Ok(())
}

/// `VM.allowed_operations` for a record: every listed operation whose check passes.
pub fn allowed_operations(vm: &Record) -> Value {
    Value::Array(
        TABLE
            .iter()
            .map(|(op, _)| *op)
            .filter(|op| !NOT_LISTED.contains(op))
            .filter(|op| check("", vm, op).is_ok())
            .map(|op| Value::String(op.to_string()))
            .collect(),
    )
}

/// xapi's `validate_basic_parameters` before a VM boots (`xapi_vm_helpers.ml`): at least one
/// vCPU, and memory that is not empty and whose limits are ordered.
pub fn validate_boot(vm_ref: &str, vm: &Record) -> Result<(), Failure> {
    let int = |f: &str| match vm.get(f) {
        Some(Value::Int(i)) => *i,
        _ => 0,
    };
    let (vcpus_max, vcpus_at_startup) = (int("VCPUs_max"), int("VCPUs_at_startup"));
    if vcpus_max < 1 {
        return Err(Failure::new(
            ErrorCode::InvalidValue,
            ["VCPUs_max".to_string(), vcpus_max.to_string()],
        ));
    }
    if vcpus_at_startup < 1 {
        return Err(Failure::new(
            ErrorCode::InvalidValue,
            ["VCPUs-at-startup".to_string(), vcpus_at_startup.to_string()],
        ));
    }
    if vcpus_at_startup > vcpus_max {
        return Err(Failure::new(
            ErrorCode::ValueNotSupported,
            [
                "VCPUs-at-startup".to_string(),
                vcpus_at_startup.to_string(),
                "value greater than VCPUs-max".to_string(),
            ],
        ));
    }
    let (static_min, dynamic_min, dynamic_max, static_max) = (
        int("memory_static_min"),
        int("memory_dynamic_min"),
        int("memory_dynamic_max"),
        int("memory_static_max"),
    );
    if static_max < static_min || dynamic_max < dynamic_min {
        return Err(Failure::code(ErrorCode::MemoryConstraintViolation));
    }
    // xapi leaves an empty memory size to the domain builder, which cannot build it; the
    // datamodel's code for it is VM_MEMORY_SIZE_TOO_LOW.
    if static_max == 0 || dynamic_max == 0 {
        return Err(Failure::new(ErrorCode::VmMemorySizeTooLow, [vm_ref]));
    }
    Ok(())
}
