//! The decode targets, measured side by side in one run.
//!
//! `cargo bench -p xenpool --bench decode_vs_python [-- --rounds N] [-- --json]`
//!
//! Each round times, one after the other on the same payloads: Python's stdlib decoder
//! (`shared/bench/py_decode.py`, the reference the targets are stated against), xenpool's
//! typed decode of `VM.get_all_records`, and for XML a bare quick-xml tokenising loop.
//! For JSON it also times serde_json reading the file into nothing (`IgnoredAny`): no
//! decoder built on serde_json can beat that, so it shows how much of the 5× target's
//! budget parsing alone takes.
//! Every figure is the best of three one-shot runs that include freeing the result,
//! which is how `py_decode.py` times Python; alternating the sides round by round lets
//! the drift of a shared machine fall on both. The last lines give the median ratio over
//! the rounds next to its target: JSON ≥ 5× `json.loads`, XML ≥ 60% of bare quick-xml.
//! `--json` leaves out XML (Python's XML decoder takes about 25 s a round).
//!
//! Runs under mimalloc, like `decode`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use xenpool::wire::{Format, JsonVersion, Limits};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Best of three one-shot runs of `f`, in seconds.
fn best_of_three(mut f: impl FnMut() -> usize) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Python's best of three on `file`, as `py_decode.py` reports it.
fn python_best(file: &Path) -> f64 {
    let out = Command::new("python3")
        .arg(common::shared().join("bench/py_decode.py"))
        .arg(file)
        .output()
        .expect("python3 runs shared/bench/py_decode.py");
    assert!(out.status.success(), "py_decode.py failed");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("best_s="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no best_s in py_decode.py output: {text}"))
}

/// serde_json reading the whole body and keeping nothing; the number of bytes read.
fn skip_json(body: &[u8]) -> usize {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).expect("the payload is valid JSON");
    body.len()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--rounds takes a number"))
        .unwrap_or(3)
        .max(1);
    let with_xml = !args.iter().any(|a| a == "--json");
    let (xml_file, json_file) = common::payload_files();
    let xml = std::fs::read(&xml_file).expect("xml payload");
    let json = std::fs::read(&json_file).expect("json payload");
    let limits = Limits::default();
    let mb = |bytes: usize, secs: f64| bytes as f64 / secs / 1e6;

    let (mut json_ratios, mut skip_ratios) = (vec![], vec![]);
    let (mut xml_ratios, mut xml_shares) = (vec![], vec![]);
    for round in 1..=rounds {
        let py = python_best(&json_file);
        let ours = best_of_three(|| {
            common::decode_vm_table(Format::JsonRpc(JsonVersion::V2), &json, &limits)
        });
        let skip = best_of_three(|| skip_json(&json));
        json_ratios.push(py / ours);
        skip_ratios.push(py / skip);
        println!(
            "round {round} JSON: json.loads {:.3} s, xenpool typed {:.3} s ({:.0} MB/s): {:.2}x; \
             serde_json skipping {:.3} s: {:.1}x",
            py,
            ours,
            mb(json.len(), ours),
            py / ours,
            skip,
            py / skip
        );
        if with_xml {
            let py = python_best(&xml_file);
            let bare = best_of_three(|| common::tokenize_quick_xml(&xml));
            let ours = best_of_three(|| common::decode_vm_table(Format::XmlRpc, &xml, &limits));
            xml_ratios.push(py / ours);
            xml_shares.push(bare / ours);
            println!(
                "round {round} XML: xmlrpc.client {:.3} s, bare quick-xml {:.3} s ({:.0} MB/s), \
                 xenpool typed {:.3} s ({:.0} MB/s): {:.1}x Python, {:.0}% of bare quick-xml",
                py,
                bare,
                mb(xml.len(), bare),
                ours,
                mb(xml.len(), ours),
                py / ours,
                100.0 * bare / ours
            );
        }
    }
    println!(
        "median over {rounds} rounds: JSON {:.2}x json.loads (target 5x); serde_json merely \
         skipping the file: {:.1}x",
        median(json_ratios),
        median(skip_ratios)
    );
    if with_xml {
        println!(
            "median over {rounds} rounds: XML {:.1}x xmlrpc.client, {:.0}% of bare quick-xml \
             (target 60%)",
            median(xml_ratios),
            100.0 * median(xml_shares)
        );
    }
}
