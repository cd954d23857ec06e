#![allow(dead_code)]
//! Shared by every target: decode arbitrary bytes into a small typed record and into
//! `Value`; whatever decodes must re-encode and decode again.

use std::collections::HashMap;

use serde::Deserialize;
use xenpool::DateTime;
use xenpool::wire::{
    Format, JsonVersion, Limits, Response, Value, decode_call, decode_response, encode_response,
};

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub struct Rec {
    i: i64,
    f: f64,
    b: bool,
    s: String,
    v: Vec<String>,
    m: HashMap<String, String>,
    t: DateTime,
}

const LIMITS: Limits = Limits {
    max_body_bytes: 1 << 20,
    max_depth: 32,
};

pub fn response(format: Format, data: &[u8]) {
    let _ = decode_response::<Rec>(format, data, &LIMITS);
    let _ = decode_response::<HashMap<String, Rec>>(format, data, &LIMITS);
    let _ = decode_response::<serde::de::IgnoredAny>(format, data, &LIMITS);
    if let Ok(Response::Success(v)) = decode_response::<Value>(format, data, &LIMITS) {
        let id = serde_json::json!(1);
        let again = encode_response(format, Some(&id), Ok(&v));
        let back = decode_response::<Value>(format, &again, &LIMITS);
        assert!(
            back.is_ok(),
            "re-encoded response does not decode: {back:?}"
        );
    }
}

pub fn call(json: bool, data: &[u8]) {
    if let Ok(call) = decode_call(json, data, &LIMITS) {
        let format = if json {
            Format::JsonRpc(JsonVersion::V2)
        } else {
            Format::XmlRpc
        };
        let body = xenpool::wire::encode_call(format, &call.method, &call.params, 1);
        let back = decode_call(json, &body, &LIMITS);
        assert!(back.is_ok(), "re-encoded call does not decode: {back:?}");
    }
}
