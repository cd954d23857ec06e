//! A consistent picture of a pool, fetched with one `get_all_records` per class, and typed
//! views with navigation over it: pool → coordinator → management PIF → network, VM →
//! host, SR → PBDs → hosts, and so on.

use std::collections::HashMap;

use serde::Serialize;

use crate::call::Caller;
use crate::error::{Error, Result};
use crate::generated::{
    Bond, BondRecord, Host, HostMetrics, HostMetricsRecord, HostRecord, Network, NetworkRecord,
    Pbd, PbdRecord, Pif, PifMetrics, PifMetricsRecord, PifRecord, Pool, PoolRecord, PoolUpdate,
    PoolUpdateRecord, Sr, SrRecord, Vlan, VlanRecord, Vm, VmPowerState, VmRecord,
};
use crate::types::{DateTime, Ref};

/// Every record a pool workflow needs, read at one moment.
#[derive(Debug, Clone)]
pub struct PoolSnapshot {
    /// The pool object.
    pub pool_ref: Ref<Pool>,
    /// Its record.
    pub pool: PoolRecord,
    /// Hosts.
    pub hosts: HashMap<Ref<Host>, HostRecord>,
    /// Host metrics (memory, liveness).
    pub host_metrics: HashMap<Ref<HostMetrics>, HostMetricsRecord>,
    /// PIFs.
    pub pifs: HashMap<Ref<Pif>, PifRecord>,
    /// PIF metrics (link speed).
    pub pif_metrics: HashMap<Ref<PifMetrics>, PifMetricsRecord>,
    /// Networks.
    pub networks: HashMap<Ref<Network>, NetworkRecord>,
    /// Bonds.
    pub bonds: HashMap<Ref<Bond>, BondRecord>,
    /// VLANs.
    pub vlans: HashMap<Ref<Vlan>, VlanRecord>,
    /// SRs.
    pub srs: HashMap<Ref<Sr>, SrRecord>,
    /// PBDs.
    pub pbds: HashMap<Ref<Pbd>, PbdRecord>,
    /// VMs (templates, snapshots and control domains included).
    pub vms: HashMap<Ref<Vm>, VmRecord>,
    /// Updates.
    pub updates: HashMap<Ref<PoolUpdate>, PoolUpdateRecord>,
    /// Each host's clock minus ours, when read.
    pub clock_offsets: HashMap<Ref<Host>, chrono::Duration>,
}

impl PoolSnapshot {
    /// Reads everything: about a dozen calls, made concurrently.
    pub async fn fetch(c: &impl Caller) -> Result<Self> {
        // Boxed: a dozen concurrent call futures inline would make every workflow's future
        // (and so its callers' stacks) very large.
        Box::pin(Self::fetch_inner(c)).await
    }

    async fn fetch_inner(c: &impl Caller) -> Result<Self> {
        let (pools, hosts, host_metrics, pifs, pif_metrics, networks) = futures::try_join!(
            Pool::get_all_records(c),
            Host::get_all_records(c),
            HostMetrics::get_all_records(c),
            Pif::get_all_records(c),
            PifMetrics::get_all_records(c),
            Network::get_all_records(c),
        )?;
        let (bonds, vlans, srs, pbds, vms, updates) = futures::try_join!(
            Bond::get_all_records(c),
            Vlan::get_all_records(c),
            Sr::get_all_records(c),
            Pbd::get_all_records(c),
            Vm::get_all_records(c),
            PoolUpdate::get_all_records(c),
        )?;
        let (pool_ref, pool) = pools
            .into_iter()
            .next()
            .ok_or_else(|| Error::invalid_argument("pool", "the host reports no pool object"))?;
        let times = futures::future::join_all(hosts.keys().map(|h| async move {
            let sent = chrono::Utc::now();
            let theirs = Host::get_servertime(c, h).await;
            let received = chrono::Utc::now();
            // Half the round trip is the best guess of when the host read its clock.
            theirs
                .ok()
                .map(|t: DateTime| (h.clone(), t.0 - (sent + (received - sent) / 2)))
        }))
        .await;
        Ok(PoolSnapshot {
            pool_ref,
            pool,
            hosts,
            host_metrics,
            pifs,
            pif_metrics,
            networks,
            bonds,
            vlans,
            srs,
            pbds,
            vms,
            updates,
            clock_offsets: times.into_iter().flatten().collect(),
        })
    }

    /// The pool.
    pub fn pool(&self) -> PoolView<'_> {
        PoolView { snap: self }
    }

    /// The coordinator's name, for plans and messages (empty if it is not in the snapshot).
    pub fn coordinator_name(&self) -> String {
        self.pool()
            .master()
            .map(|m| m.name().to_string())
            .unwrap_or_default()
    }

    /// Every host, coordinator first, then by name.
    pub fn hosts(&self) -> Vec<HostView<'_>> {
        let mut v: Vec<_> = self
            .hosts
            .iter()
            .map(|(r, rec)| HostView {
                snap: self,
                r: r.clone(),
                record: rec,
            })
            .collect();
        v.sort_by_key(|h| (!h.is_coordinator(), h.record.name_label.clone()));
        v
    }

    /// A host by reference.
    pub fn host(&self, r: &Ref<Host>) -> Option<HostView<'_>> {
        self.hosts.get_key_value(r).map(|(r, rec)| HostView {
            snap: self,
            r: r.clone(),
            record: rec,
        })
    }

    /// A host by uuid, name label or address, as `xe host-list` users name hosts.
    pub fn find_host(&self, name: &str) -> Result<HostView<'_>> {
        let matches: Vec<_> = self
            .hosts()
            .into_iter()
            .filter(|h| {
                h.record.uuid == name || h.record.name_label == name || h.record.address == name
            })
            .collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one")),
            0 => Err(Error::NotFound {
                class: "host".into(),
                key: name.into(),
            }),
            n => Err(Error::Ambiguous {
                class: "host".into(),
                key: name.into(),
                count: n,
            }),
        }
    }

    /// Guest VMs (no templates, snapshots or control domains), by name.
    pub fn vms(&self) -> Vec<VmView<'_>> {
        let mut v: Vec<_> = self
            .vms
            .iter()
            .filter(|(_, r)| !r.is_a_template && !r.is_a_snapshot && !r.is_control_domain)
            .map(|(r, rec)| VmView {
                snap: self,
                r: r.clone(),
                record: rec,
            })
            .collect();
        v.sort_by(|a, b| a.record.name_label.cmp(&b.record.name_label));
        v
    }

    /// A VM by uuid or name.
    pub fn find_vm(&self, name: &str) -> Result<VmView<'_>> {
        let found: Vec<_> = self
            .vms()
            .into_iter()
            .filter(|v| v.record.uuid == name || v.record.name_label == name)
            .collect();
        match found.len() {
            1 => Ok(found.into_iter().next().expect("one")),
            0 => Err(Error::NotFound {
                class: "VM".into(),
                key: name.into(),
            }),
            n => Err(Error::Ambiguous {
                class: "VM".into(),
                key: name.into(),
                count: n,
            }),
        }
    }

    /// Every SR, by name.
    pub fn srs(&self) -> Vec<SrView<'_>> {
        let mut srs: Vec<SrView<'_>> = self
            .srs
            .iter()
            .map(|(r, rec)| SrView {
                snap: self,
                r: r.clone(),
                record: rec,
            })
            .collect();
        srs.sort_by(|a, b| a.record.name_label.cmp(&b.record.name_label));
        srs
    }

    /// The SR with this name or uuid.
    pub fn find_sr(&self, name: &str) -> Result<SrView<'_>> {
        self.srs
            .iter()
            .find(|(_, s)| s.uuid == name || s.name_label == name)
            .map(|(r, rec)| SrView {
                snap: self,
                r: r.clone(),
                record: rec,
            })
            .ok_or_else(|| Error::NotFound {
                class: "SR".into(),
                key: name.into(),
            })
    }

    /// A PIF's view.
    pub fn pif(&self, r: &Ref<Pif>) -> Option<PifView<'_>> {
        self.pifs.get_key_value(r).map(|(r, rec)| PifView {
            snap: self,
            r: r.clone(),
            record: rec,
        })
    }

    /// A network's view.
    pub fn network(&self, r: &Ref<Network>) -> Option<NetworkView<'_>> {
        self.networks.get_key_value(r).map(|(r, rec)| NetworkView {
            snap: self,
            r: r.clone(),
            record: rec,
        })
    }
}

/// High availability settings of a pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HaState {
    /// Whether HA is on.
    pub enabled: bool,
    /// Configured host failures to tolerate.
    pub failures_to_tolerate: i64,
    /// How many failures the current plan covers.
    pub plan_exists_for: i64,
    /// More failures configured than can be planned for.
    pub overcommitted: bool,
    /// Heartbeat (statefile) VDIs.
    pub statefiles: Vec<String>,
}

/// The pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolView<'a> {
    snap: &'a PoolSnapshot,
}

impl<'a> PoolView<'a> {
    /// `name_label`.
    pub fn name(&self) -> &'a str {
        &self.snap.pool.name_label
    }
    /// The coordinator.
    pub fn master(&self) -> Option<HostView<'a>> {
        self.snap.host(&self.snap.pool.master)
    }
    /// Every host, coordinator first.
    pub fn members(&self) -> Vec<HostView<'a>> {
        self.snap.hosts()
    }
    /// The default SR, if set.
    pub fn default_sr(&self) -> Option<SrView<'a>> {
        self.snap
            .srs
            .get_key_value(&self.snap.pool.default_sr)
            .map(|(r, rec)| SrView {
                snap: self.snap,
                r: r.clone(),
                record: rec,
            })
    }
    /// HA state.
    pub fn ha(&self) -> HaState {
        let p = &self.snap.pool;
        HaState {
            enabled: p.ha_enabled,
            failures_to_tolerate: p.ha_host_failures_to_tolerate,
            plan_exists_for: p.ha_plan_exists_for,
            overcommitted: p.ha_overcommitted,
            statefiles: p.ha_statefiles.clone(),
        }
    }
    /// The pool's levelled CPU features (`pool.cpu_info`).
    pub fn cpu_info(&self) -> &'a HashMap<String, String> {
        &self.snap.pool.cpu_info
    }
}

/// CPU facts of a host, from `host.cpu_info`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuInfo {
    /// `GenuineIntel`, `AuthenticAMD`.
    pub vendor: String,
    /// Marketing name.
    pub modelname: String,
    /// Family number.
    pub family: String,
    /// Model number.
    pub model: String,
    /// Stepping.
    pub stepping: String,
    /// Logical CPUs.
    pub cpu_count: i64,
    /// Sockets.
    pub socket_count: i64,
    /// HVM feature words (`features_hvm_host`).
    pub features_hvm: Vec<u32>,
    /// PV feature words (`features_pv_host`).
    pub features_pv: Vec<u32>,
}

impl CpuInfo {
    /// From a `cpu_info` map.
    pub fn from_map(m: &HashMap<String, String>) -> Self {
        let get = |k: &str| m.get(k).cloned().unwrap_or_default();
        let hvm = m
            .get("features_hvm_host")
            .or_else(|| m.get("features_hvm"))
            .cloned()
            .unwrap_or_default();
        let pv = m
            .get("features_pv_host")
            .or_else(|| m.get("features_pv"))
            .cloned()
            .unwrap_or_default();
        CpuInfo {
            vendor: get("vendor"),
            modelname: get("modelname"),
            family: get("family"),
            model: get("model"),
            stepping: get("stepping"),
            cpu_count: get("cpu_count").parse().unwrap_or(0),
            socket_count: get("socket_count").parse().unwrap_or(0),
            features_hvm: super::features::parse(&hvm).unwrap_or_default(),
            features_pv: super::features::parse(&pv).unwrap_or_default(),
        }
    }
}

/// Software versions of a host, from `host.software_version` and the API version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Versions {
    /// `product_brand` (or `platform_name` when absent).
    pub product: String,
    /// `product_version`.
    pub product_version: String,
    /// `platform_version`.
    pub platform_version: String,
    /// xapi's `major.minor`.
    pub xapi: String,
    /// `build_number`.
    pub build_number: String,
    /// XenAPI version `major.minor`.
    pub api: String,
    /// `db_schema`.
    pub db_schema: String,
}

/// Licence facts of a host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Licence {
    /// `host.edition`.
    pub edition: String,
    /// `restrict_*` / `enable_*` feature flags.
    pub params: HashMap<String, String>,
}

/// A host.
#[derive(Debug, Clone)]
pub struct HostView<'a> {
    snap: &'a PoolSnapshot,
    /// Its reference.
    pub r: Ref<Host>,
    /// Its record.
    pub record: &'a HostRecord,
}

impl<'a> HostView<'a> {
    /// `name_label`.
    pub fn name(&self) -> &'a str {
        &self.record.name_label
    }
    /// True for the pool's coordinator.
    pub fn is_coordinator(&self) -> bool {
        self.snap.pool.master == self.r
    }
    /// CPU facts.
    pub fn cpu(&self) -> CpuInfo {
        CpuInfo::from_map(&self.record.cpu_info)
    }
    /// Versions.
    pub fn versions(&self) -> Versions {
        let sv = &self.record.software_version;
        let get = |k: &str| sv.get(k).cloned().unwrap_or_default();
        Versions {
            product: sv
                .get("product_brand")
                .or_else(|| sv.get("platform_name"))
                .cloned()
                .unwrap_or_default(),
            product_version: get("product_version"),
            platform_version: get("platform_version"),
            xapi: get("xapi"),
            build_number: get("build_number"),
            api: format!(
                "{}.{}",
                self.record.api_version_major, self.record.api_version_minor
            ),
            db_schema: get("db_schema"),
        }
    }
    /// Names of the updates (hotfixes) applied.
    pub fn updates(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .record
            .updates
            .iter()
            .filter_map(|u| self.snap.updates.get(u))
            .map(|u| u.name_label.clone())
            .collect();
        v.sort();
        v
    }
    /// Supplemental packs: `software_version` keys `<originator>:<name>` (e.g. `xs:linux`).
    pub fn supplemental_packs(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .record
            .software_version
            .keys()
            .filter(|k| k.contains(':'))
            .cloned()
            .collect();
        v.sort();
        v
    }
    /// Whether the Linux Pack is installed.
    pub fn has_linux_pack(&self) -> bool {
        self.record.software_version.contains_key("xs:linux")
    }
    /// Licence.
    pub fn licence(&self) -> Licence {
        Licence {
            edition: self.record.edition.clone(),
            params: self.record.license_params.clone(),
        }
    }
    /// The management interface.
    pub fn management_pif(&self) -> Option<PifView<'a>> {
        self.pifs().into_iter().find(|p| p.record.management)
    }
    /// Every PIF of this host, by device.
    pub fn pifs(&self) -> Vec<PifView<'a>> {
        let mut v: Vec<_> = self
            .snap
            .pifs
            .iter()
            .filter(|(_, p)| p.host == self.r)
            .map(|(r, rec)| PifView {
                snap: self.snap,
                r: r.clone(),
                record: rec,
            })
            .collect();
        v.sort_by(|a, b| {
            (a.record.device.clone(), a.record.vlan).cmp(&(b.record.device.clone(), b.record.vlan))
        });
        v
    }
    /// The physical NIC with this device name.
    pub fn nic(&self, device: &str) -> Option<PifView<'a>> {
        self.pifs()
            .into_iter()
            .find(|p| p.record.physical && p.record.device == device)
    }
    /// This host's clock minus ours when the snapshot was taken.
    pub fn clock_offset(&self) -> Option<chrono::Duration> {
        self.snap.clock_offsets.get(&self.r).copied()
    }
    /// Guests running (or paused) here.
    pub fn resident_vms(&self) -> Vec<VmView<'a>> {
        self.snap
            .vms()
            .into_iter()
            .filter(|v| v.record.resident_on == self.r)
            .collect()
    }
    /// PBDs of this host.
    pub fn pbds(&self) -> Vec<PbdView<'a>> {
        self.snap
            .pbds
            .iter()
            .filter(|(_, p)| p.host == self.r)
            .map(|(r, rec)| PbdView {
                snap: self.snap,
                r: r.clone(),
                record: rec,
            })
            .collect()
    }
    /// Metrics (memory, liveness).
    pub fn metrics(&self) -> Option<&'a HostMetricsRecord> {
        self.snap.host_metrics.get(&self.record.metrics)
    }
    /// Whether the host is live (metrics say so).
    pub fn is_live(&self) -> bool {
        self.metrics().is_some_and(|m| m.live)
    }
    /// Free memory in bytes.
    pub fn memory_free(&self) -> i64 {
        self.metrics().map_or(0, |m| m.memory_free)
    }
}

/// A network interface.
#[derive(Debug, Clone)]
pub struct PifView<'a> {
    snap: &'a PoolSnapshot,
    /// Its reference.
    pub r: Ref<Pif>,
    /// Its record.
    pub record: &'a PifRecord,
}

impl<'a> PifView<'a> {
    /// Its network.
    pub fn network(&self) -> Option<NetworkView<'a>> {
        self.snap.network(&self.record.network)
    }
    /// Its host.
    pub fn host(&self) -> Option<HostView<'a>> {
        self.snap.host(&self.record.host)
    }
    /// The bond this PIF is a member of.
    pub fn bond(&self) -> Option<BondView<'a>> {
        self.snap
            .bonds
            .get_key_value(&self.record.bond_slave_of)
            .map(|(r, rec)| BondView {
                snap: self.snap,
                r: r.clone(),
                record: rec,
            })
    }
    /// The bond this PIF is the master of.
    pub fn bond_master_of(&self) -> Option<BondView<'a>> {
        self.record
            .bond_master_of
            .first()
            .and_then(|b| self.snap.bonds.get_key_value(b))
            .map(|(r, rec)| BondView {
                snap: self.snap,
                r: r.clone(),
                record: rec,
            })
    }
    /// The VLAN this PIF carries, for a VLAN PIF.
    pub fn vlan(&self) -> Option<(&'a Ref<Vlan>, &'a VlanRecord)> {
        self.snap.vlans.get_key_value(&self.record.vlan_master_of)
    }
    /// Link speed in Mbit/s (0 when unknown).
    pub fn speed_mbps(&self) -> i64 {
        self.snap
            .pif_metrics
            .get(&self.record.metrics)
            .map_or(0, |m| m.speed)
    }
}

/// A network.
#[derive(Debug, Clone)]
pub struct NetworkView<'a> {
    snap: &'a PoolSnapshot,
    /// Its reference.
    pub r: Ref<Network>,
    /// Its record.
    pub record: &'a NetworkRecord,
}

impl<'a> NetworkView<'a> {
    /// Its PIFs, one per host at most.
    pub fn pifs(&self) -> Vec<PifView<'a>> {
        self.snap
            .pifs
            .iter()
            .filter(|(_, p)| p.network == self.r)
            .map(|(r, rec)| PifView {
                snap: self.snap,
                r: r.clone(),
                record: rec,
            })
            .collect()
    }
}

/// A bond.
#[derive(Debug, Clone)]
pub struct BondView<'a> {
    snap: &'a PoolSnapshot,
    /// Its reference.
    pub r: Ref<Bond>,
    /// Its record.
    pub record: &'a BondRecord,
}

impl<'a> BondView<'a> {
    /// The bond's own PIF.
    pub fn master(&self) -> Option<PifView<'a>> {
        self.snap.pif(&self.record.master)
    }
    /// Member PIFs.
    pub fn members(&self) -> Vec<PifView<'a>> {
        let mut v: Vec<_> = self
            .snap
            .pifs
            .iter()
            .filter(|(_, p)| p.bond_slave_of == self.r)
            .map(|(r, rec)| PifView {
                snap: self.snap,
                r: r.clone(),
                record: rec,
            })
            .collect();
        v.sort_by(|a, b| a.record.device.cmp(&b.record.device));
        v
    }
    /// The network the bond carries.
    pub fn network(&self) -> Option<NetworkView<'a>> {
        self.master().and_then(|m| m.network())
    }
}

/// A storage repository.
#[derive(Debug, Clone)]
pub struct SrView<'a> {
    snap: &'a PoolSnapshot,
    /// Its reference.
    pub r: Ref<Sr>,
    /// Its record.
    pub record: &'a SrRecord,
}

impl<'a> SrView<'a> {
    /// True for the pool's default SR.
    pub fn is_default(&self) -> bool {
        self.snap.pool.default_sr == self.r
    }
    /// Its PBDs.
    pub fn pbds(&self) -> Vec<PbdView<'a>> {
        self.snap
            .pbds
            .iter()
            .filter(|(_, p)| p.sr == self.r)
            .map(|(r, rec)| PbdView {
                snap: self.snap,
                r: r.clone(),
                record: rec,
            })
            .collect()
    }
    /// True when every host has a plugged PBD for it.
    pub fn reaches_every_host(&self) -> bool {
        let pbds = self.pbds();
        self.snap.hosts.keys().all(|h| {
            pbds.iter()
                .any(|p| &p.record.host == h && p.record.currently_attached)
        })
    }
}

/// A physical block device (an SR's attachment to one host).
#[derive(Debug, Clone)]
pub struct PbdView<'a> {
    snap: &'a PoolSnapshot,
    /// Its reference.
    pub r: Ref<Pbd>,
    /// Its record.
    pub record: &'a PbdRecord,
}

impl<'a> PbdView<'a> {
    /// Its host.
    pub fn host(&self) -> Option<HostView<'a>> {
        self.snap.host(&self.record.host)
    }
}

/// A VM.
#[derive(Debug, Clone)]
pub struct VmView<'a> {
    snap: &'a PoolSnapshot,
    /// Its reference.
    pub r: Ref<Vm>,
    /// Its record.
    pub record: &'a VmRecord,
}

impl<'a> VmView<'a> {
    /// `name_label`.
    pub fn name(&self) -> &'a str {
        &self.record.name_label
    }
    /// The host it runs on.
    pub fn resident_on(&self) -> Option<HostView<'a>> {
        self.snap.host(&self.record.resident_on)
    }
    /// True when running or paused (it occupies a host).
    pub fn is_active(&self) -> bool {
        matches!(
            self.record.power_state,
            VmPowerState::Running | VmPowerState::Paused
        )
    }
}
