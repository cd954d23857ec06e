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

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xenpool::wire::{Format, JsonVersion, Limits};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn decode(c: &mut Criterion) {
    let (xml, json) = common::payload_files();
    let (xml, json) = (
        std::fs::read(xml).expect("xml payload"),
        std::fs::read(json).expect("json payload"),
    );
    let limits = Limits::default();

    let mut g = c.benchmark_group("xml_tokenize_quick_xml");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("events", |b| b.iter(|| common::tokenize_quick_xml(&xml)));
    g.finish();

    let mut g = c.benchmark_group("xml_typed_decode");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("vm_all_records", |b| {
        b.iter(|| common::decode_vm_table(Format::XmlRpc, &xml, &limits))
    });
    g.finish();

    let mut g = c.benchmark_group("json_typed_decode");
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("vm_all_records", |b| {
        b.iter(|| common::decode_vm_table(Format::JsonRpc(JsonVersion::V2), &json, &limits))
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
