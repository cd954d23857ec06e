#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::response(
        xenpool::wire::Format::JsonRpc(xenpool::wire::JsonVersion::V2),
        data,
    );
});
