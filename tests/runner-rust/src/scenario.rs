//! The scenario format (tests/README.md): a name and steps, each with an expectation.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One scenario file.
#[derive(Debug, Deserialize)]
pub struct Scenario {
    /// A human name.
    pub name: String,
    /// The steps, played in order against one fresh `lab` simulator.
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// One step: what to do (`do` and its arguments) and what must come of it.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// A label; defaults to `do host`.
    pub id: Option<String>,
    /// The action: connect, validate, create_pool, join, eject, create_bond, repair_bonds,
    /// create_nfs_sr, start_vm, migrate, evacuate, enable_ha, disable_ha, check_bonds, kill,
    /// recover, state.
    #[serde(rename = "do")]
    pub action: String,
    pub host: Option<String>,
    /// migrate: the VM's name.
    pub vm: Option<String>,
    pub name: Option<String>,
    pub coordinator: Option<String>,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub allow_cross_vendor: bool,
    #[serde(default)]
    pub devices: Vec<String>,
    pub mode: Option<String>,
    pub network: Option<String>,
    pub server: Option<String>,
    pub path: Option<String>,
    /// connect: a wrong password instead of the host's.
    pub password: Option<String>,
    /// recover: declare the lost hosts dead and restart their VMs.
    #[serde(default)]
    pub restart_vms: bool,
    /// Workflows: only work out the plan (the result is `{executed: false, calls}`).
    #[serde(default)]
    pub dry_run: bool,
    /// connect: a loopback port nothing listens on.
    #[serde(default)]
    pub unreachable: bool,
    /// connect: the options given, each as core's `ConnectSpec` reads it.
    #[serde(default)]
    pub with: Option<ConnectWith>,
    /// What must come of it; every key given is checked, others are not.
    pub expect: Option<Expect>,
}

impl Step {
    /// The step's label in reports.
    pub fn label(&self) -> String {
        self.id.clone().unwrap_or_else(|| match &self.host {
            Some(h) => format!("{} {h}", self.action),
            None => self.action.clone(),
        })
    }
}

/// How a `connect` step asks for its connection (tests/README.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectWith {
    /// A protocol name, spelt as given.
    pub protocol: Option<String>,
    /// Accept any certificate.
    #[serde(default)]
    pub insecure: bool,
    /// A fingerprint, given as it is.
    pub fingerprint: Option<String>,
    /// Fetch the host's fingerprint and pin it.
    #[serde(default)]
    pub trust_on_first_use: bool,
    /// Name the host as a bare `address:port` (no scheme).
    #[serde(default)]
    pub bare: bool,
    /// No password anywhere: no argument, no file, no `$XENPOOL_PASSWORD`, no terminal.
    #[serde(default)]
    pub no_password: bool,
}

/// An expected outcome. For `validate`, `ok` is "ready" and `code`/`params` are the
/// predicted `pool.join` error; `fails` are the failing check ids.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Expect {
    pub ok: Option<bool>,
    pub code: Option<String>,
    /// The failure's method or workflow (`Error::method`).
    pub method: Option<String>,
    pub params: Option<Vec<String>>,
    pub fails: Option<Vec<String>>,
    pub state: Option<ExpectState>,
}

/// Expected state after the step: each key given must equal the result's `state` key of
/// that name (`coordinator`, `hosts` sorted, `vms` as name → host of the running VMs,
/// `bond_problems` after check_bonds, `executed` and `calls` after a dry run).
pub type ExpectState = serde_json::Map<String, Value>;

/// A normalised step result, the same JSON from every surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub step: String,
    /// Set (with a reason) when the surface has no public API for the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
    #[serde(default)]
    pub ok: bool,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub params: Option<Vec<String>>,
    /// A failure's method or workflow, as core's `Error::method` (absent: none).
    #[serde(default)]
    pub method: Option<String>,
    /// `{coordinator, hosts}` after a pool step; `{fails}` after a validate.
    #[serde(default)]
    pub state: Value,
}

impl StepResult {
    /// Loopback ports differ between simulators: `127.0.0.1:PORT`.
    pub fn normalised(mut self) -> Self {
        if let Some(params) = &mut self.params {
            for p in params.iter_mut() {
                *p = normalise_ports(p);
            }
        }
        self
    }

    /// What differs from `expect`, in words.
    pub fn mismatches(&self, expect: &Expect) -> Vec<String> {
        let mut out = Vec::new();
        if self.unsupported.is_some() {
            return out;
        }
        if let Some(ok) = expect.ok
            && ok != self.ok
        {
            out.push(format!("ok: expected {ok}, got {}", self.ok));
        }
        if let Some(code) = &expect.code
            && Some(code) != self.code.as_ref()
        {
            out.push(format!("code: expected {code}, got {:?}", self.code));
        }
        if let Some(method) = &expect.method
            && Some(method) != self.method.as_ref()
        {
            out.push(format!("method: expected {method}, got {:?}", self.method));
        }
        if let Some(params) = &expect.params
            && self.params.as_ref().is_some_and(|p| p != params)
        {
            out.push(format!(
                "params: expected {params:?}, got {:?}",
                self.params
            ));
        }
        if let Some(fails) = &expect.fails {
            let got = self.state.get("fails").cloned().unwrap_or(Value::Null);
            if got != serde_json::json!(fails) {
                out.push(format!("fails: expected {fails:?}, got {got}"));
            }
        }
        if let Some(state) = &expect.state {
            for (key, want) in state {
                let got = self.state.get(key).cloned().unwrap_or(Value::Null);
                if &got != want {
                    out.push(format!("{key}: expected {want}, got {got}"));
                }
            }
        }
        out
    }
}

fn normalise_ports(s: &str) -> String {
    // `127.0.0.N:PORT`: the address stays (it names a host), the port goes.
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("127.0.0.") {
        let (head, tail) = rest.split_at(i + "127.0.0.".len());
        out.push_str(head);
        let octet = tail.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&tail[..octet]);
        let tail = &tail[octet..];
        let port = tail
            .strip_prefix(':')
            .map(|t| t.chars().take_while(char::is_ascii_digit).count())
            .unwrap_or(0);
        if port > 0 {
            out.push_str(":PORT");
            rest = &tail[1 + port..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Loads a scenario file.
pub fn load(path: &Path) -> Result<Scenario> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Every scenario of the suite: tests/scenarios/*.toml, then tests/errors/*.toml.
pub fn all(tests: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for dir in ["scenarios", "errors"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(tests.join(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        out.extend(files);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_normalised() {
        assert_eq!(
            super::normalise_ports("https://127.0.0.1:4431/ and 127.0.0.1:9"),
            "https://127.0.0.1:PORT/ and 127.0.0.1:PORT"
        );
    }
}
