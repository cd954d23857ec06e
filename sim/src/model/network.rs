//! Bonds and VLANs as objects: created by their messages, by a joining member copying the
//! coordinator's bonds, and by scenarios.

use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::db::Db;
use crate::failure::Failure;
use crate::values::s;
use crate::world::record;

/// Creates a bond and its master PIF, moving IP configuration and management from the
/// primary member (docs/pool-operations.md#bond-effects).
pub fn make_bond(
    db: &mut Db,
    host: &str,
    members: &[String],
    mode: &str,
    network: &str,
    mac: Option<String>,
    properties: IndexMap<String, Value>,
) -> String {
    let is_mgmt = |db: &Db, p: &String| {
        matches!(
            db.get_field("PIF", p, "management"),
            Some(Value::Bool(true))
        )
    };
    let primary = members
        .iter()
        .find(|p| is_mgmt(db, p))
        .or_else(|| members.iter().find(|p| has_ip(db, p)))
        .unwrap_or(&members[0])
        .clone();
    let used: Vec<String> = db
        .all("PIF")
        .filter(|(_, r)| r.get("host").and_then(Value::as_str) == Some(host))
        .map(|(_, r)| {
            r.get("device")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let device = (0..)
        .map(|n| format!("bond{n}"))
        .find(|d| !used.contains(d))
        .expect("an unused bond device");
    let auto_mac = mac.is_none();
    let mac = mac.unwrap_or_else(|| db.str_field("PIF", &primary, "MAC"));
    let p = db.get("PIF", &primary).cloned().unwrap_or_default();
    let copy = |k: &str| p.get(k).cloned().unwrap_or(Value::String(String::new()));
    let master = db.create(
        "PIF",
        record([
            ("device", s(device)),
            ("network", s(network)),
            ("host", s(host)),
            ("MAC", s(mac)),
            ("MTU", copy("MTU")),
            ("VLAN", Value::Int(-1)),
            ("physical", Value::Bool(false)),
            ("currently_attached", Value::Bool(true)),
            ("ip_configuration_mode", copy("ip_configuration_mode")),
            ("IP", copy("IP")),
            ("netmask", copy("netmask")),
            ("gateway", copy("gateway")),
            ("DNS", copy("DNS")),
            ("management", copy("management")),
            ("disallow_unplug", copy("disallow_unplug")),
            ("primary_address_type", copy("primary_address_type")),
            ("ipv6_configuration_mode", copy("ipv6_configuration_mode")),
            ("managed", Value::Bool(true)),
            ("properties", copy("properties")),
        ]),
    );
    let bond = db.create(
        "Bond",
        record([
            ("master", s(master.clone())),
            ("primary_slave", s(primary.clone())),
            ("mode", s(mode)),
            ("properties", Value::Struct(properties)),
            ("links_up", Value::Int(members.len() as i64)),
            ("auto_update_mac", Value::Bool(auto_mac)),
        ]),
    );
    for m in members {
        db.set_field("PIF", m, "bond_slave_of", s(bond.clone()));
        clear_ip(db, m);
    }
    bond
}

/// True when the PIF has an IPv4 or IPv6 configuration.
pub fn has_ip(db: &Db, pif: &str) -> bool {
    db.str_field("PIF", pif, "ip_configuration_mode") != "None"
        || db.str_field("PIF", pif, "ipv6_configuration_mode") != "None"
}

/// Drops a PIF's IP configuration and management role (it became a bond member, or
/// management moved away).
pub fn clear_ip(db: &mut Db, pif: &str) {
    db.update("PIF", pif, |r| {
        for (k, v) in [
            ("ip_configuration_mode", "None"),
            ("IP", ""),
            ("netmask", ""),
            ("gateway", ""),
            ("DNS", ""),
        ] {
            r.insert(k.into(), s(v));
        }
        r.insert("management".into(), Value::Bool(false));
        r.insert("disallow_unplug".into(), Value::Bool(false));
    });
}

/// Creates the bond network and a bond, as a scenario describes it.
pub fn profile_bond(
    db: &mut Db,
    host: &str,
    members: &[String],
    mode: &str,
    name: &str,
    n: usize,
) -> String {
    let network = db.create(
        "network",
        record([
            (
                "name_label",
                s(if name.is_empty() {
                    format!("Bond {n}")
                } else {
                    name.to_string()
                }),
            ),
            ("bridge", s(format!("xapi{n}"))),
            ("MTU", Value::Int(1500)),
            ("managed", Value::Bool(true)),
        ]),
    );
    let mode = if mode.is_empty() {
        "active-backup"
    } else {
        mode
    };
    let properties = checked_properties(mode, &[]).unwrap_or_default();
    make_bond(db, host, members, mode, &network, None, properties)
}

/// Creates a VLAN on `tagged` and its untagged PIF on `network`.
pub fn make_vlan(db: &mut Db, host: &str, tagged: &str, tag: i64, network: &str) -> String {
    let device = db.str_field("PIF", tagged, "device");
    let mac = db.str_field("PIF", tagged, "MAC");
    let untagged = db.create(
        "PIF",
        record([
            ("device", s(device)),
            ("network", s(network)),
            ("host", s(host)),
            ("MAC", s(mac)),
            ("MTU", Value::Int(1500)),
            ("VLAN", Value::Int(tag)),
            ("physical", Value::Bool(false)),
            ("currently_attached", Value::Bool(true)),
            ("ip_configuration_mode", s("None")),
            ("primary_address_type", s("IPv4")),
            ("ipv6_configuration_mode", s("None")),
            ("managed", Value::Bool(true)),
        ]),
    );
    let vlan = db.create(
        "VLAN",
        record([
            ("tagged_PIF", s(tagged)),
            ("untagged_PIF", s(untagged.clone())),
            ("tag", Value::Int(tag)),
        ]),
    );
    db.set_field("PIF", &untagged, "VLAN_master_of", s(vlan.clone()));
    vlan
}

/// Creates a VLAN network and VLAN, as a scenario describes it.
pub fn profile_vlan(db: &mut Db, host: &str, tagged: &str, tag: i64, name: &str) -> String {
    let network = db.create(
        "network",
        record([
            (
                "name_label",
                s(if name.is_empty() {
                    format!("VLAN {tag}")
                } else {
                    name.to_string()
                }),
            ),
            ("bridge", s(format!("xapi-vlan{tag}"))),
            ("MTU", Value::Int(1500)),
            ("managed", Value::Bool(true)),
        ]),
    );
    make_vlan(db, host, tagged, tag, &network)
}

/// Properties allowed per mode, with their defaults (filled in when absent).
pub fn allowed_properties(
    mode: &str,
) -> &'static [(&'static str, Option<&'static str>, &'static [&'static str])] {
    match mode {
        "lacp" => &[
            (
                "hashing_algorithm",
                Some("tcpudp_ports"),
                &["src_mac", "tcpudp_ports"],
            ),
            ("lacp-time", Some("slow"), &["fast", "slow"]),
            ("lacp-aggregation-key", None, &[]),
            ("lacp-fallback-ab", Some("true"), &["true", "false"]),
        ],
        _ => &[],
    }
}

/// A bond's `properties` for `mode`: the given ones checked against what the mode allows
/// (`INVALID_VALUE` otherwise), then the mode's defaults for the rest.
pub fn checked_properties(
    mode: &str,
    given: &[(String, String)],
) -> Result<IndexMap<String, Value>, Failure> {
    let allowed = allowed_properties(mode);
    let mut out = IndexMap::new();
    for (k, v) in given {
        let ok = allowed.iter().any(|(name, _, values)| {
            name == k
                && (if *name == "lacp-aggregation-key" {
                    v.parse::<i64>().is_ok()
                } else {
                    values.contains(&v.as_str())
                })
        });
        if !ok {
            return Err(Failure::new(
                ErrorCode::InvalidValue,
                ["properties".to_string(), format!("{k} = {v}")],
            ));
        }
        out.insert(k.clone(), s(v.clone()));
    }
    for (name, default, _) in allowed {
        if let Some(d) = default {
            out.entry(name.to_string()).or_insert_with(|| s(*d));
        }
    }
    Ok(out)
}
