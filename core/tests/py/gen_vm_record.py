#!/usr/bin/env python3
"""Throwaway: print a Rust struct mirroring datamodel.json's VM class, for core/benches/decode.rs
until `xenpool::generated::VmRecord` exists.  Usage: gen_vm_record.py DATAMODEL"""
import json, re, sys

KEYWORDS = {"type", "ref", "self", "crate", "mod", "struct", "enum", "fn", "in", "loop", "match", "move", "priv", "pub", "static", "trait", "use", "where", "async", "await", "dyn", "box", "final", "macro", "override", "virtual", "yield", "try", "abstract", "become", "do", "typeof", "unsized"}

def rust(t):
    t = t.strip()
    m = re.fullmatch(r"\((.+) -> (.+)\) map", t)
    if m:
        return f"HashMap<String, {rust(m.group(2))}>"
    if t.endswith(" set"):
        return f"Vec<{rust(t[:-4])}>"
    return {"int": "i64", "float": "f64", "bool": "bool", "string": "String",
            "datetime": "DateTime"}.get(t, "String")  # refs and enums: strings

dm = json.load(open(sys.argv[1]))
vm = next(c for c in dm["classes"] if c["name"] == "VM")
print("#[derive(Debug, Deserialize)]")
print("#[allow(dead_code, non_snake_case)]")
print("pub struct VmRecord {")
for f in vm["fields"]:
    ident = re.sub(r"[^A-Za-z0-9_]", "_", f["name"])
    if ident in KEYWORDS:
        ident = "r#" + ident
    if ident.removeprefix("r#") != f["name"]:
        print(f'    #[serde(rename = "{f["name"]}")]')
    print(f"    pub {ident}: {rust(f['type'])},")
print("}")
