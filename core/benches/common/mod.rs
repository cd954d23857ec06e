//! What the decode benches share: the `VM.get_all_records` payloads, the typed decode
//! they time, and the bare quick-xml loop the XML figures are measured against.
// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use xenpool::Ref;
use xenpool::generated::{Vm, VmRecord};
use xenpool::wire::{Format, Limits, Response, decode_response};

/// The XML-RPC and JSON-RPC payload files for `XENPOOL_BENCH_VMS` VMs (default 10,000),
/// generated into `target/bench-data` by `shared/bench/gen_payload.py` when missing.
pub fn payload_files() -> (PathBuf, PathBuf) {
    let n: usize = std::env::var("XENPOOL_BENCH_VMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("bench-data");
    let xml = dir.join(format!("vm_all_records_{n}.xml"));
    let json = dir.join(format!("vm_all_records_{n}.json"));
    if !xml.exists() || !json.exists() {
        let status = Command::new("python3")
            .arg(shared().join("bench/gen_payload.py"))
            .arg(workspace_root().join("xapi/datamodel.json"))
            .arg(n.to_string())
            .arg(&dir)
            .status()
            .expect("python3 runs shared/bench/gen_payload.py");
        assert!(status.success(), "gen_payload.py failed");
    }
    (xml, json)
}

/// The checkout's root (the parent of `core/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `../shared` beside the checkout, where the bench scripts (`bench/*.py`) are delivered
/// (the datamodel they read is the repository's copy in `xapi/`).
pub fn shared() -> PathBuf {
    workspace_root().join("../shared")
}

/// Decodes a `VM.get_all_records` response the way the client does; the number of VMs.
pub fn decode_vm_table(format: Format, body: &[u8], limits: &Limits) -> usize {
    match decode_response::<HashMap<Ref<Vm>, VmRecord>>(format, body, limits) {
        Ok(Response::Success(m)) => black_box(m).len(),
        other => panic!("{:?}", other.map(|_| ())),
    }
}

/// Reads every quick-xml event of `xml` and does nothing with it: the floor for XML.
pub fn tokenize_quick_xml(xml: &[u8]) -> usize {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut n = 0usize;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return n,
            Ok(e) => {
                black_box(&e);
                n += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
}
