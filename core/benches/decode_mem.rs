//! Peak heap while decoding `VM.get_all_records`, measured with a counting global
//! allocator (the library itself never chooses an allocator; this only observes one).
//!
//! `cargo bench -p xenpool --bench decode_mem [-- FILE…]`: for each payload (default: the
//! XML and JSON files of `benches/common`) prints the payload size, the heap held by the
//! decoded map, and the peak heap during decoding with and without the payload buffer
//! itself. Also usable under `valgrind --tool=callgrind` for instruction counts of one
//! decode.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use xenpool::Ref;
use xenpool::generated::{Vm, VmRecord};
use xenpool::wire::{Format, JsonVersion, Limits, Response, decode_response};

mod common;

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let now = NOW.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards to `System`, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                NOW.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    // `cargo bench` passes `--bench`; anything else not starting with `-` is a file.
    let mut files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        let (xml, json) = common::payload_files();
        files = vec![xml, json];
    }
    let limits = Limits::default();
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    for file in files {
        let body = std::fs::read(&file).expect("payload");
        let format = if file.extension().is_some_and(|e| e == "json") {
            Format::JsonRpc(JsonVersion::V2)
        } else {
            Format::XmlRpc
        };
        let before = NOW.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let t = std::time::Instant::now();
        let decoded = decode_response::<HashMap<Ref<Vm>, VmRecord>>(format, &body, &limits);
        let secs = t.elapsed().as_secs_f64();
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let held = NOW.load(Ordering::Relaxed) - before;
        let n = match decoded {
            Ok(Response::Success(m)) => m.len(),
            other => panic!("{:?}", other.map(|_| ())),
        };
        println!(
            "{}: records={n} payload={:.1} MiB result={:.1} MiB peak_during_decode={:.1} MiB \
             ({:.2}x payload; {:.2}x counting the payload buffer) time={:.3}s",
            file.file_name().unwrap_or_default().to_string_lossy(),
            mib(body.len()),
            mib(held),
            mib(peak),
            peak as f64 / body.len() as f64,
            (peak + body.len()) as f64 / body.len() as f64,
            secs,
        );
    }
}
