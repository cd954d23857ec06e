//! Decode throughput of `VM.get_all_records` (the largest common XenAPI response).
//!
//! The payload comes from `shared/bench/gen_payload.py` (generated into
//! `target/bench-data` on first run; `XENPOOL_BENCH_VMS` records, default 10000).
//! Groups: `xml_tokenize_quick_xml` (a bare quick-xml event loop: the reference),
//! `xml_typed_decode` and `json_typed_decode` (the client's typed path).
//!
//! It runs under mimalloc, the allocator of xenpool's own programs (the `xenpool` shell),
//! as Python's reference decodes under pymalloc, CPython's small-object allocator. Under
//! glibc's malloc about a third of a typed decode is spent in malloc and free; the
//! `decode_mem` bench runs under the system allocator and prints that one-shot time.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xenpool::Ref;
use xenpool::generated::{Vm, VmRecord};
use xenpool::wire::{Format, JsonVersion, Limits, Response, decode_response};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
            let r = decode_response::<HashMap<Ref<Vm>, VmRecord>>(Format::XmlRpc, &xml, &limits);
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
            let r = decode_response::<HashMap<Ref<Vm>, VmRecord>>(
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
