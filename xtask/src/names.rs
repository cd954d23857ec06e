//! Naming rules from datamodel names to Rust identifiers.

/// Strict and reserved Rust keywords (2024 edition), plus `Self`/`self`/`crate`/`super`.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Type-namespace names the generated code itself uses, which a class or enum must not take.
pub const RESERVED_TYPES: &[&str] = &[
    "ErrorCode",
    "Option",
    "Result",
    "String",
    "Vec",
    "HashMap",
    "Value",
    "Ref",
    "DateTime",
];

pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// Appends `_` to keywords (`type` → `type_`).
pub fn escape(s: String) -> String {
    if is_keyword(&s) { s + "_" } else { s }
}

/// snake_case identifier: lower-cased, anything not alphanumeric becomes `_`, keywords escaped.
pub fn snake(wire: &str) -> String {
    let mut out = String::with_capacity(wire.len());
    for c in wire.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') || out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    let out = if out.is_empty() {
        "x".to_string()
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{out}")
    } else {
        out
    };
    escape(out)
}

/// CamelCase identifier: split on anything not alphanumeric; each part gets its first letter
/// upper-cased and every upper-case letter that follows another upper-case letter
/// lower-cased (`VM` → `Vm`, `VM_metrics` → `VmMetrics`, `IPv4` → `Ipv4`,
/// `restartHVM` → `RestartHvm`); a leading digit gets a `V` prefix (`802.3ad` → `V8023ad`).
pub fn camel(wire: &str) -> String {
    let mut out = String::with_capacity(wire.len());
    for part in wire
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut prev_upper = false;
        for (i, c) in part.chars().enumerate() {
            if i == 0 {
                out.push(c.to_ascii_uppercase());
                // The first letter counts as upper-case: `VMs` → `Vms`.
                prev_upper = c.is_ascii_alphabetic();
            } else if c.is_ascii_uppercase() {
                out.push(if prev_upper {
                    c.to_ascii_lowercase()
                } else {
                    c
                });
                prev_upper = true;
            } else {
                out.push(c);
                prev_upper = false;
            }
        }
    }
    if out.is_empty() {
        out.push('X');
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names() {
        for (wire, want) in [
            ("VM", "Vm"),
            ("VM_metrics", "VmMetrics"),
            ("PIF", "Pif"),
            ("host", "Host"),
            ("sr_stat", "SrStat"),
            ("PVS_site", "PvsSite"),
            ("VMPP", "Vmpp"),
            ("Cluster_host", "ClusterHost"),
            ("network_sriov", "NetworkSriov"),
            ("DR_task", "DrTask"),
            ("vdi_nbd_server_info", "VdiNbdServerInfo"),
        ] {
            assert_eq!(camel(wire), want, "{wire}");
        }
    }

    #[test]
    fn enum_values_and_codes() {
        for (wire, want) in [
            ("Halted", "Halted"),
            ("balance-slb", "BalanceSlb"),
            ("active-backup", "ActiveBackup"),
            ("IPv4", "Ipv4"),
            ("802.3ad", "V8023ad"),
            ("restartHVM", "RestartHvm"),
            ("vm_power_state", "VmPowerState"),
            ("HOST_IS_SLAVE", "HostIsSlave"),
            ("SR_BACKEND_FAILURE_73", "SrBackendFailure73"),
            ("None", "None"),
        ] {
            assert_eq!(camel(wire), want, "{wire}");
        }
    }

    #[test]
    fn snake_names() {
        for (wire, want) in [
            ("VCPUs_max", "vcpus_max"),
            ("MAC", "mac"),
            ("PIFs", "pifs"),
            ("type", "type_"),
            ("self", "self_"),
            ("Self", "self_"),
            ("ref", "ref_"),
            ("match", "match_"),
            ("get_VCPUs_max", "get_vcpus_max"),
            ("Master IP address", "master_ip_address"),
            ("required_space ", "required_space"),
            ("2fa", "n2fa"),
        ] {
            assert_eq!(snake(wire), want, "{wire}");
        }
    }
}
