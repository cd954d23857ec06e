//! Decode throughput of `VM.get_all_records` (the largest common XenAPI response).
//!
//! The payload comes from `shared/bench/gen_payload.py` (generated into
//! `target/bench-data` on first run; `XENPOOL_BENCH_VMS` records, default 10000).
//! Groups: `xml_tokenize_quick_xml` (a bare quick-xml event loop: the reference),
//! `xml_typed_decode` and `json_typed_decode` (the client's typed path).

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use xenpool::DateTime;
use xenpool::wire::{Format, JsonVersion, Limits, Response, decode_response};

fn payload() -> (Vec<u8>, Vec<u8>) {
    let n: usize = std::env::var("XENPOOL_BENCH_VMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("bench-data");
    let xml = dir.join(format!("vm_all_records_{n}.xml"));
    let json = dir.join(format!("vm_all_records_{n}.json"));
    if !xml.exists() || !json.exists() {
        let shared = root.join("../shared");
        let status = Command::new("python3")
            .arg(shared.join("bench/gen_payload.py"))
            .arg(shared.join("xapi/datamodel.json"))
            .arg(n.to_string())
            .arg(&dir)
            .status()
            .expect("python3 runs shared/bench/gen_payload.py");
        assert!(status.success(), "gen_payload.py failed");
    }
    (
        std::fs::read(xml).expect("xml payload"),
        std::fs::read(json).expect("json payload"),
    )
}

fn decode(c: &mut Criterion) {
    let (xml, json) = payload();
    let limits = Limits::default();

    let mut g = c.benchmark_group("xml_tokenize_quick_xml");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("events", |b| {
        b.iter(|| {
            let mut reader = quick_xml::Reader::from_reader(&xml[..]);
            let mut n = 0usize;
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(e) => {
                        black_box(&e);
                        n += 1;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            n
        })
    });
    g.finish();

    let mut g = c.benchmark_group("xml_typed_decode");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("vm_all_records", |b| {
        b.iter(|| {
            let r = decode_response::<HashMap<String, VmRecord>>(Format::XmlRpc, &xml, &limits);
            match r {
                Ok(Response::Success(m)) => m.len(),
                other => panic!("{:?}", other.map(|_| ())),
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("json_typed_decode");
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("vm_all_records", |b| {
        b.iter(|| {
            let r = decode_response::<HashMap<String, VmRecord>>(
                Format::JsonRpc(JsonVersion::V2),
                &json,
                &limits,
            );
            match r {
                Ok(Response::Success(m)) => m.len(),
                other => panic!("{:?}", other.map(|_| ())),
            }
        })
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);

// ---------------------------------------------------------------------------------------
// STAND-IN for `xenpool::generated::VmRecord` (swap it in once the code generator lands).
// Emitted by `python3 core/tests/py/gen_vm_record.py ../shared/xapi/datamodel.json`:
// int→i64, float→f64, datetime→DateTime, refs and enums→String, sets→Vec, maps→HashMap.
#[derive(Debug, Deserialize)]
#[allow(dead_code, non_snake_case)]
pub struct VmRecord {
    pub uuid: String,
    pub allowed_operations: Vec<String>,
    pub current_operations: HashMap<String, String>,
    pub name_label: String,
    pub name_description: String,
    pub power_state: String,
    pub user_version: i64,
    pub is_a_template: bool,
    pub is_default_template: bool,
    pub suspend_VDI: String,
    pub resident_on: String,
    pub scheduled_to_be_resident_on: String,
    pub affinity: String,
    pub memory_overhead: i64,
    pub memory_target: i64,
    pub memory_static_max: i64,
    pub memory_dynamic_max: i64,
    pub memory_dynamic_min: i64,
    pub memory_static_min: i64,
    pub VCPUs_params: HashMap<String, String>,
    pub VCPUs_max: i64,
    pub VCPUs_at_startup: i64,
    pub actions_after_softreboot: String,
    pub actions_after_shutdown: String,
    pub actions_after_reboot: String,
    pub actions_after_crash: String,
    pub consoles: Vec<String>,
    pub VIFs: Vec<String>,
    pub VBDs: Vec<String>,
    pub VUSBs: Vec<String>,
    pub crash_dumps: Vec<String>,
    pub VTPMs: Vec<String>,
    pub PV_bootloader: String,
    pub PV_kernel: String,
    pub PV_ramdisk: String,
    pub PV_args: String,
    pub PV_bootloader_args: String,
    pub PV_legacy_args: String,
    pub HVM_boot_policy: String,
    pub HVM_boot_params: HashMap<String, String>,
    pub HVM_shadow_multiplier: f64,
    pub platform: HashMap<String, String>,
    pub PCI_bus: String,
    pub other_config: HashMap<String, String>,
    pub domid: i64,
    pub domarch: String,
    pub last_boot_CPU_flags: HashMap<String, String>,
    pub is_control_domain: bool,
    pub metrics: String,
    pub guest_metrics: String,
    pub last_booted_record: String,
    pub recommendations: String,
    pub xenstore_data: HashMap<String, String>,
    pub ha_always_run: bool,
    pub ha_restart_priority: String,
    pub is_a_snapshot: bool,
    pub snapshot_of: String,
    pub snapshots: Vec<String>,
    pub snapshot_time: DateTime,
    pub transportable_snapshot_id: String,
    pub blobs: HashMap<String, String>,
    pub tags: Vec<String>,
    pub blocked_operations: HashMap<String, String>,
    pub snapshot_info: HashMap<String, String>,
    pub snapshot_metadata: String,
    pub parent: String,
    pub children: Vec<String>,
    pub bios_strings: HashMap<String, String>,
    pub protection_policy: String,
    pub is_snapshot_from_vmpp: bool,
    pub snapshot_schedule: String,
    pub is_vmss_snapshot: bool,
    pub appliance: String,
    pub start_delay: i64,
    pub shutdown_delay: i64,
    pub order: i64,
    pub VGPUs: Vec<String>,
    pub attached_PCIs: Vec<String>,
    pub suspend_SR: String,
    pub version: i64,
    pub generation_id: String,
    pub hardware_platform_version: i64,
    pub has_vendor_device: bool,
    pub requires_reboot: bool,
    pub reference_label: String,
    pub domain_type: String,
    pub NVRAM: HashMap<String, String>,
    pub pending_guidances: Vec<String>,
    pub pending_guidances_recommended: Vec<String>,
    pub pending_guidances_full: Vec<String>,
}
