//! The generated API for the real datamodel: names, enums, error codes and metadata
//! (no wire encoding needed).

use std::str::FromStr;

use xenpool::generated::{BondMode, Host, PrimaryAddressType, Vm, VmPowerState, VmRecord};
use xenpool::meta::{self, Lifecycle, Ty};
use xenpool::{ApiError, ErrorCode, XenClass};

#[test]
fn marker_types_carry_wire_names() {
    assert_eq!(Vm::WIRE_NAME, "VM");
    assert_eq!(Host::WIRE_NAME, "host");
    assert_eq!(xenpool::generated::VmMetrics::WIRE_NAME, "VM_metrics");
    assert_eq!(xenpool::generated::PvsSite::WIRE_NAME, "PVS_site");
    assert_eq!(xenpool::generated::ClusterHost::WIRE_NAME, "Cluster_host");
}

#[test]
fn enums_parse_like_xapi() {
    assert_eq!(
        VmPowerState::from_str("running").unwrap(),
        VmPowerState::Running
    );
    assert_eq!(VmPowerState::from_wire("Halted"), VmPowerState::Halted);
    assert_eq!(BondMode::from_wire("BALANCE-SLB"), BondMode::BalanceSlb);
    assert_eq!(PrimaryAddressType::Ipv4.wire(), "IPv4");
    assert_eq!(
        VmPowerState::from_wire("Levitating"),
        VmPowerState::Unknown("Levitating".into())
    );
}

#[test]
fn records_default_and_decode_partially() {
    assert_eq!(VmRecord::default().power_state, VmPowerState::Halted);
    let r: VmRecord = serde_json::from_value(serde_json::json!({
        "uuid": "u", "power_state": "Running", "VCPUs_max": 2, "new_field": 1
    }))
    .unwrap();
    assert_eq!(r.power_state, VmPowerState::Running);
    assert_eq!(r.vcpus_max, 2);
    assert!(r.name_label.is_empty());
    // Absent members take the same defaults when decoded, the datamodel's included.
    let r: VmRecord = serde_json::from_value(serde_json::json!({"uuid": "u"})).unwrap();
    assert_eq!(r.power_state, VmPowerState::Halted);
    assert_eq!(r.hvm_shadow_multiplier, 1.0);
    assert_eq!(
        r,
        VmRecord {
            uuid: "u".into(),
            ..VmRecord::default()
        }
    );
}

#[test]
fn error_codes_round_trip() {
    assert_eq!(
        ErrorCode::from_wire("HOST_IS_SLAVE"),
        ErrorCode::HostIsSlave
    );
    assert_eq!(ErrorCode::HostIsSlave.param_names(), ["Master IP address"]);
    assert_eq!(ErrorCode::SrBackendFailure.wire(), "SR_BACKEND_FAILURE");
    for code in ErrorCode::ALL {
        assert_eq!(&ErrorCode::from_wire(code.wire()), code);
        assert_eq!(meta::error(code.wire()).unwrap().params, code.param_names());
    }
    assert_eq!(ErrorCode::ALL.len(), meta::api().errors.len());
    assert_eq!(
        ErrorCode::from_wire("FROM_THE_FUTURE"),
        ErrorCode::Unknown("FROM_THE_FUTURE".into())
    );
}

#[test]
fn api_error_has_named_accessors() {
    let e =
        ApiError::from_description("pool.join", vec!["HOST_IS_SLAVE".into(), "10.0.0.1".into()]);
    assert_eq!(e.code, ErrorCode::HostIsSlave);
    // errors.json declares "Master IP address"; accessors use the sanitised name.
    assert_eq!(e.master_ip_address(), Some("10.0.0.1"));
    assert_eq!(e.vm(), None, "not declared by this code");
}

#[test]
fn metadata_lookups() {
    let vm = meta::class("VM").unwrap();
    assert_eq!(vm.rust_name, "Vm");
    assert_eq!(meta::class_ignore_case("vm").unwrap().name, "VM");
    assert_eq!(meta::class_ignore_case("pif").unwrap().name, "PIF");
    let start = meta::message("VM", "start").unwrap();
    assert!(start.is_async && start.session && !start.implicit);
    assert_eq!(start.params.len(), 3);
    assert_eq!(start.result, None);
    let (class, m, is_async) = meta::method("Async.VM.start").unwrap();
    assert_eq!((class.name, m.name, is_async), ("VM", "start", true));
    assert!(meta::method("VM.start").is_some_and(|(_, _, a)| !a));
    assert!(
        meta::method("Async.VM.get_power_state").is_none(),
        "no async form"
    );
    assert!(meta::method("VM.nope").is_none() && meta::method("nodot").is_none());
    let w = meta::message("VM", "get_all_records_where").unwrap();
    assert!(w.hidden);
    assert_eq!(w.result.unwrap().to_string(), "(VM ref -> VM record) map");
    assert_eq!(
        vm.field("power_state").unwrap().ty,
        Ty::Enum("vm_power_state")
    );
    assert_eq!(
        meta::enumeration("bond_mode").unwrap().values,
        ["balance-slb", "active-backup", "lacp"]
    );
    assert_eq!(
        meta::message("event", "from").unwrap().result,
        Some(Ty::Opaque("an event batch"))
    );
    assert!(meta::message("session", "login_with_password").is_some_and(|m| !m.session));
    assert!(
        meta::classes()
            .iter()
            .flat_map(|c| c.fields)
            .any(|f| f.lifecycle == Lifecycle::Removed)
    );
}

/// Against the datamodel the code was generated from (`xapi/datamodel.json`): every type
/// renders back.
#[test]
fn metadata_matches_datamodel_json() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../xapi/datamodel.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let dm: serde_json::Value = serde_json::from_str(&text).unwrap();
    // The counts the datamodel states about itself (hidden messages are the generator's).
    let counts = &dm["counts"];
    let classes = meta::classes();
    assert_eq!(classes.len() as u64, counts["classes"]);
    let fields = classes.iter().map(|c| c.fields.len()).sum::<usize>();
    assert_eq!(fields as u64, counts["fields"]);
    let published = classes
        .iter()
        .flat_map(|c| c.messages)
        .filter(|m| !m.hidden)
        .count();
    assert_eq!(published as u64, counts["messages"]);
    assert_eq!(meta::api().enums.len() as u64, counts["enums"]);
    for class in dm["classes"].as_array().unwrap() {
        let meta = meta::class(class["name"].as_str().unwrap()).unwrap();
        let fields = class["fields"].as_array().unwrap();
        assert_eq!(meta.fields.len(), fields.len());
        for (f, want) in meta.fields.iter().zip(fields) {
            assert_eq!(f.name, want["name"]);
            assert_eq!(f.ty.to_string(), want["type"].as_str().unwrap());
            assert_eq!(f.qualifier.as_str(), want["qualifier"]);
        }
        for want in class["messages"].as_array().unwrap() {
            let m = meta.message(want["name"].as_str().unwrap()).unwrap();
            assert_eq!(
                m.result.map(|t| t.to_string()).unwrap_or("void".into()),
                want["result"]
            );
            assert_eq!(m.is_async, want["async"] == true);
            let params = want["params"].as_array().unwrap();
            let params = if m.session { &params[1..] } else { &params[..] };
            assert_eq!(m.params.len(), params.len());
            for (p, w) in m.params.iter().zip(params) {
                assert_eq!(p.ty.to_string(), w["type"].as_str().unwrap());
                assert_eq!(
                    p.required,
                    w["required"] != false,
                    "{}.{}",
                    meta.name,
                    m.name
                );
            }
        }
    }
}
