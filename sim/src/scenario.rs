//! Scenarios: a TOML description of hosts and pools (documented in `sim/SCENARIOS.md`).
//!
//! ```toml
//! name = "example"
//! [defaults]                 # merged under every [[host]]
//! password = "xenroot"
//! [[host]]
//! name = "node{n}"           # {n} numbers hosts made by `count`
//! count = 3
//! [[pool]]
//! name = "prod"
//! master = "node1"
//! members = ["node2", "node3"]
//! shared_srs = [{ name = "nfs", type = "nfs", server = "nfs.lab", serverpath = "/export" }]
//! [[pool.vm_groups]]
//! count = 100
//! ```

use serde::Deserialize;

use crate::profile::{HostProfile, SrProfile, VmProfile};

/// A whole scenario.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name (`lab`, `pool16`, …).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Hosts, after defaults and `count` expansion.
    #[serde(default, rename = "host")]
    pub hosts: Vec<HostProfile>,
    /// Pools formed from those hosts.
    #[serde(default, rename = "pool")]
    pub pools: Vec<PoolSpec>,
}

/// A pool built at start-up: members joined to the master, then shared storage, bonds, VMs.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PoolSpec {
    /// `pool.name_label`.
    pub name: String,
    /// The coordinator's host name.
    pub master: String,
    /// Member host names.
    pub members: Vec<String>,
    /// Shared SRs, with a plugged PBD on every host; the first becomes the default SR.
    pub shared_srs: Vec<SrProfile>,
    /// Pool-wide bonds over the NICs with these device names.
    pub bonds: Vec<PoolBond>,
    /// Groups of VMs spread over the hosts.
    pub vm_groups: Vec<VmGroup>,
    /// Enable HA (heartbeat on the first shared SR).
    pub ha: bool,
}

/// A bond made on every host of a pool.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PoolBond {
    /// Member NIC devices (`eth2`, `eth3`).
    pub members: Vec<String>,
    /// Bond mode.
    pub mode: String,
    /// Network name.
    pub network: String,
}

/// Many similar VMs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VmGroup {
    /// How many.
    pub count: usize,
    /// The VM (its `name` may contain `{n}`).
    pub vm: VmProfile,
}

impl Default for VmGroup {
    fn default() -> Self {
        VmGroup {
            count: 1,
            vm: VmProfile {
                name: "vm{n}".into(),
                ..VmProfile::default()
            },
        }
    }
}

/// A scenario that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("scenario {name}: {message}")]
pub struct ScenarioError {
    /// Which scenario.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// The scenarios shipped with the simulator.
pub const BUILTIN: &[(&str, &str)] = &[
    ("lab", include_str!("../scenarios/lab.toml")),
    ("pool16", include_str!("../scenarios/pool16.toml")),
    ("single", include_str!("../scenarios/single.toml")),
];

fn merge(base: &toml::Value, over: &toml::Value) -> toml::Value {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match out.get(k) {
                    Some(existing) => merge(existing, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            toml::Value::Table(out)
        }
        (_, o) => o.clone(),
    }
}

impl Scenario {
    /// A built-in scenario by name.
    pub fn builtin(name: &str) -> Result<Scenario, ScenarioError> {
        let text = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| ScenarioError {
                name: name.into(),
                message: format!(
                    "no such built-in scenario (have: {})",
                    BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        Scenario::parse(name, text)
    }

    /// Reads a built-in name or a path to a TOML file.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if BUILTIN.iter().any(|(n, _)| *n == name_or_path) {
            return Scenario::builtin(name_or_path);
        }
        let text = std::fs::read_to_string(name_or_path).map_err(|e| ScenarioError {
            name: name_or_path.into(),
            message: format!(
                "not a built-in scenario ({}) and not a readable file: {e}",
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        Scenario::parse(name_or_path, &text)
    }

    /// Parses scenario TOML: `[defaults]` merged under each `[[host]]`, `count` expanded.
    pub fn parse(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let err = |message: String| ScenarioError {
            name: name.into(),
            message,
        };
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let defaults = doc
            .remove("defaults")
            .unwrap_or(toml::Value::Table(toml::Table::new()));
        let hosts = doc.remove("host").unwrap_or(toml::Value::Array(vec![]));
        let mut expanded = Vec::new();
        for host in hosts.as_array().cloned().unwrap_or_default() {
            let mut table = host
                .as_table()
                .cloned()
                .ok_or_else(|| err("[[host]] entries must be tables".into()))?;
            let count = table
                .remove("count")
                .and_then(|c| c.as_integer())
                .unwrap_or(1)
                .max(1);
            for n in 1..=count {
                let mut one = merge(&defaults, &toml::Value::Table(table.clone()));
                if let Some(toml::Value::String(name)) = one.get_mut("name") {
                    *name = name.replace("{n}", &n.to_string());
                }
                // `password` may name its host, so every host can have its own.
                let name = one.get("name").and_then(|v| v.as_str()).unwrap_or("host");
                let name = name.to_string();
                if let Some(toml::Value::String(password)) = one.get_mut("password") {
                    *password = password
                        .replace("{n}", &n.to_string())
                        .replace("{name}", &name);
                }
                expanded.push(one);
            }
        }
        doc.insert("host".into(), toml::Value::Array(expanded));
        let scenario: Scenario = toml::Value::Table(doc)
            .try_into()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        scenario.validate().map_err(err)?;
        Ok(scenario)
    }

    fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for h in &self.hosts {
            if !names.insert(h.name.as_str()) {
                return Err(format!("two hosts are named {:?}", h.name));
            }
            if !h.address.is_empty() && !is_loopback(&h.address) {
                return Err(format!(
                    "host {:?}: {} is not a loopback address (127.0.0.0/8 or ::1)",
                    h.name, h.address
                ));
            }
        }
        let mut in_pool = std::collections::HashSet::new();
        for p in &self.pools {
            for n in std::iter::once(&p.master).chain(&p.members) {
                if !names.contains(n.as_str()) {
                    return Err(format!("pool {:?} names unknown host {n:?}", p.name));
                }
                if !in_pool.insert(n.clone()) {
                    return Err(format!("host {n:?} is in two pools"));
                }
            }
        }
        Ok(())
    }

    /// Multiplies every VM group so the scenario holds `total` generated VMs.
    pub fn with_generated_vms(mut self, total: usize) -> Self {
        let groups: usize = self.pools.iter().map(|p| p.vm_groups.len()).sum();
        if groups == 0 {
            if let Some(p) = self.pools.first_mut() {
                p.vm_groups.push(VmGroup {
                    count: total,
                    ..VmGroup::default()
                });
            }
            return self;
        }
        for p in &mut self.pools {
            for g in &mut p.vm_groups {
                g.count = total / groups;
            }
        }
        self
    }
}

/// True for 127.0.0.0/8 and ::1.
pub fn is_loopback(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scenarios_parse() {
        for (name, _) in BUILTIN {
            let s = Scenario::builtin(name).unwrap();
            assert!(!s.hosts.is_empty(), "{name}");
        }
        assert_eq!(Scenario::builtin("pool16").unwrap().hosts.len(), 16);
    }

    #[test]
    fn an_unknown_scenario_lists_the_built_in_ones() {
        let e = Scenario::load("nosuch").unwrap_err().to_string();
        assert!(e.contains("lab, ") && e.contains("pool16"), "{e}");
    }

    #[test]
    fn bad_scenarios_say_what_is_wrong() {
        let e = Scenario::parse(
            "t",
            "name = \"t\"\n[[host]]\nname = \"a\"\naddress = \"10.0.0.1\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("loopback"), "{e}");
        let e =
            Scenario::parse("t", "name = \"t\"\n[[host]]\nname = \"a\"\ncolour = 1\n").unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
        let e = Scenario::parse("t", "name = \"t\"\n[[pool]]\nmaster = \"ghost\"\n").unwrap_err();
        assert!(e.message.contains("ghost"), "{e}");
    }

    #[test]
    fn defaults_merge_and_count_expands() {
        let s = Scenario::parse(
            "t",
            "name = \"t\"\n[defaults]\npassword = \"pw\"\n\
             [defaults.cpu]\nvendor = \"AuthenticAMD\"\n\
             [[host]]\nname = \"n{n}\"\ncount = 3\n\
             [host.cpu]\nmodel = \"1\"\n",
        )
        .unwrap();
        assert_eq!(
            s.hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
            ["n1", "n2", "n3"]
        );
        assert!(
            s.hosts.iter().all(|h| h.password == "pw"
                && h.cpu.vendor == "AuthenticAMD"
                && h.cpu.model == "1")
        );
    }
}
