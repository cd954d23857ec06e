//! What a simulated host is made of — one `[[host]]` table of a scenario — and the
//! standalone database built from it (as a freshly installed host would have).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use xenpool::wire::Value;

use xenpool::pool::features;

use crate::db::{Db, NULL_REF, Record};
use crate::world::record;

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn strings<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Value {
    Value::Struct(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect(),
    )
}

/// A simulated host, as written in a scenario.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HostProfile {
    /// Host name (`name_label`, `hostname`).
    pub name: String,
    /// Root password while standalone.
    pub password: String,
    /// Loopback address to listen on; assigned 127.0.0.N in order when empty.
    pub address: String,
    /// Physical memory.
    pub memory_mib: i64,
    /// Clock offset from real time, in seconds.
    pub clock_offset_secs: i64,
    /// Software versions.
    pub version: VersionProfile,
    /// Whether the Linux Pack supplemental pack (`xs:linux`) is installed.
    pub linux_pack: bool,
    /// Names of installed updates (all enforce homogeneity, like hotfixes).
    pub updates: Vec<String>,
    /// Licence.
    pub licence: LicenceProfile,
    /// Processor.
    pub cpu: CpuProfile,
    /// Physical NICs.
    pub nics: Vec<NicProfile>,
    /// Bonds over NICs.
    pub bonds: Vec<BondProfile>,
    /// VLANs over NICs.
    pub vlans: Vec<VlanProfile>,
    /// Storage repositories.
    pub srs: Vec<SrProfile>,
    /// Virtual machines resident on (or halted on) this host.
    pub vms: Vec<VmProfile>,
    /// `bridge` or `openvswitch`.
    pub network_backend: String,
}

impl Default for HostProfile {
    fn default() -> Self {
        HostProfile {
            name: "host".into(),
            password: "xenroot".into(),
            address: String::new(),
            memory_mib: 128 * 1024,
            clock_offset_secs: 0,
            version: VersionProfile::default(),
            linux_pack: true,
            updates: vec![],
            licence: LicenceProfile::default(),
            cpu: CpuProfile::default(),
            nics: vec![
                NicProfile {
                    device: "eth0".into(),
                    mode: "static".into(),
                    management: true,
                    ..Default::default()
                },
                NicProfile {
                    device: "eth1".into(),
                    ..Default::default()
                },
            ],
            bonds: vec![],
            vlans: vec![],
            srs: vec![SrProfile::default()],
            vms: vec![],
            network_backend: "openvswitch".into(),
        }
    }
}

/// Software versions (`host.software_version` and the API version).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VersionProfile {
    /// `product_brand`.
    pub product_brand: String,
    /// `product_version`.
    pub product_version: String,
    /// `platform_name`.
    pub platform_name: String,
    /// `platform_version`.
    pub platform_version: String,
    /// `xapi` (`major.minor`).
    pub xapi: String,
    /// `build_number`.
    pub build_number: String,
    /// `git_id`.
    pub git_id: String,
    /// `db_schema`.
    pub db_schema: String,
    /// `API_version_major`.
    pub api_major: i64,
    /// `API_version_minor`.
    pub api_minor: i64,
}

impl Default for VersionProfile {
    fn default() -> Self {
        VersionProfile {
            product_brand: "XCP-ng".into(),
            product_version: "8.3.0".into(),
            platform_name: "XCP".into(),
            platform_version: "3.4.0".into(),
            xapi: "24.19".into(),
            build_number: "release/yangtze/master/58".into(),
            git_id: "2d2f9b1".into(),
            db_schema: "5.780".into(),
            api_major: 2,
            api_minor: 21,
        }
    }
}

/// Licence state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LicenceProfile {
    /// `host.edition`.
    pub edition: String,
    /// Pooling not licensed.
    pub restrict_pooling: bool,
    /// Pools limited to 3 hosts.
    pub restrict_pool_size: bool,
    /// HA licensed.
    pub enable_xha: bool,
    /// Live migration not licensed.
    pub restrict_xen_motion: bool,
}

impl Default for LicenceProfile {
    fn default() -> Self {
        LicenceProfile {
            edition: "xcp-ng".into(),
            restrict_pooling: false,
            restrict_pool_size: false,
            enable_xha: true,
            restrict_xen_motion: false,
        }
    }
}

/// Processor (`host.cpu_info`, `host_cpu`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CpuProfile {
    /// `GenuineIntel` or `AuthenticAMD`.
    pub vendor: String,
    /// Marketing name.
    pub modelname: String,
    /// Family number.
    pub family: String,
    /// Model number.
    pub model: String,
    /// Stepping.
    pub stepping: String,
    /// Feature words for HVM guests (`features_hvm_host`), `xxxxxxxx-xxxxxxxx-…`.
    pub features_hvm: String,
    /// Feature words for PV guests (`features_pv_host`).
    pub features_pv: String,
    /// /proc/cpuinfo flags.
    pub flags: String,
    /// Logical CPUs.
    pub cpu_count: i64,
    /// Sockets.
    pub socket_count: i64,
    /// MHz.
    pub speed: String,
    /// What older releases report as `cpu_info["maskable"]` (`full`, `base`, `no`);
    /// absent on current releases, which level CPU features automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maskable: Option<String>,
}

impl Default for CpuProfile {
    fn default() -> Self {
        CpuProfile {
            vendor: "GenuineIntel".into(),
            modelname: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz".into(),
            family: "6".into(),
            model: "85".into(),
            stepping: "7".into(),
            features_hvm: "1fcbfbff-f7fa3223-2d93fbff-00000523-00000001-f3bfbfff-00000000-\
                00000000-00101007-bc000400-00000000-00000000-00000000-00000000-00000000"
                .into(),
            features_pv: "1fc9cbf5-f6f83203-2991cbf5-00000123-00000001-f1bf07ab-00000000-\
                00000000-00001000-bc000400-00000000-00000000-00000000-00000000-00000000"
                .into(),
            flags: "fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush acpi mmx fxsr \
                sse sse2 ht syscall nx lm constant_tsc rep_good nopl nonstop_tsc cpuid pni \
                pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand \
                hypervisor lahf_lm abm 3dnowprefetch avx512f avx512dq avx512cd avx512bw \
                avx512vl"
                .into(),
            cpu_count: 40,
            socket_count: 2,
            speed: "2494.140".into(),
            maskable: None,
        }
    }
}

/// A physical NIC and its configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NicProfile {
    /// `eth0`, …
    pub device: String,
    /// MAC address; generated when empty.
    pub mac: String,
    /// MTU (1500 when 0).
    pub mtu: i64,
    /// `none`, `dhcp` or `static`.
    pub mode: String,
    /// Whether this is the management interface (its IP is the host's address).
    pub management: bool,
    /// IP for a non-management static interface.
    pub ip: String,
    /// Link speed (1000 when 0), for telling 1G from 10G NICs.
    pub speed_mbps: i64,
}

/// A bond.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct BondProfile {
    /// Member NIC devices.
    pub members: Vec<String>,
    /// `balance-slb`, `active-backup` or `lacp`.
    pub mode: String,
    /// Network name label of the bond network.
    pub network: String,
}

/// A VLAN.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct VlanProfile {
    /// The NIC carrying it.
    pub nic: String,
    /// Tag.
    pub tag: i64,
    /// Network name label.
    pub network: String,
}

/// A storage repository.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SrProfile {
    /// `name_label`.
    pub name: String,
    /// SM type: `lvm`, `ext`, `nfs`, `iso`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Shared across the pool.
    pub shared: bool,
    /// Size in GiB.
    pub size_gib: i64,
    /// NFS server (data only; the simulator never connects to it).
    pub server: String,
    /// NFS export path.
    pub serverpath: String,
}

impl Default for SrProfile {
    fn default() -> Self {
        SrProfile {
            name: "Local storage".into(),
            kind: "lvm".into(),
            shared: false,
            size_gib: 500,
            server: String::new(),
            serverpath: String::new(),
        }
    }
}

/// A VM.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VmProfile {
    /// `name_label`.
    pub name: String,
    /// `Halted`, `Running`, `Suspended` or `Paused`.
    pub power_state: String,
    /// Memory (static max = dynamic max = dynamic min).
    pub memory_mib: i64,
    /// vCPUs.
    pub vcpus: i64,
    /// Disks: `(SR name, GiB)`.
    pub disks: Vec<DiskProfile>,
    /// Operations in progress (`current_operations` values), e.g. `["clean_shutdown"]`.
    pub current_operations: Vec<String>,
    /// `restart`, `best-effort` or empty.
    pub ha_restart_priority: String,
    /// A template rather than a VM.
    pub template: bool,
}

impl Default for VmProfile {
    fn default() -> Self {
        VmProfile {
            name: "vm".into(),
            power_state: "Halted".into(),
            memory_mib: 1024,
            vcpus: 1,
            disks: vec![],
            current_operations: vec![],
            ha_restart_priority: String::new(),
            template: false,
        }
    }
}

/// A virtual disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DiskProfile {
    /// SR name label.
    pub sr: String,
    /// Size in GiB.
    pub size_gib: i64,
}

const MIB: i64 = 1024 * 1024;
const GIB: i64 = 1024 * MIB;

/// A locally administered MAC derived from a host index and NIC position.
pub fn mac_for(seed: u64, nic: usize) -> String {
    format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        (seed >> 24) as u8,
        (seed >> 16) as u8,
        (seed >> 8) as u8,
        seed as u8,
        nic as u8
    )
}

impl HostProfile {
    /// `host.software_version` as xapi builds it (keys per
    /// docs/pool-operations.md#software-version).
    pub fn software_version(&self) -> Value {
        let v = &self.version;
        let mut pairs = vec![
            ("product_brand", v.product_brand.clone()),
            ("product_version", v.product_version.clone()),
            ("product_version_text", v.product_version.clone()),
            ("product_version_text_short", v.product_version.clone()),
            ("platform_name", v.platform_name.clone()),
            ("platform_version", v.platform_version.clone()),
            ("xapi", v.xapi.clone()),
            ("xapi_build", format!("{}.2", v.xapi)),
            ("build_number", v.build_number.clone()),
            ("git_id", v.git_id.clone()),
            ("hostname", self.name.clone()),
            ("date", "2026-08-01".into()),
            ("xen", "4.17.5-13".into()),
            ("linux", "6.1.0-xen".into()),
            ("network_backend", self.network_backend.clone()),
            ("db_schema", v.db_schema.clone()),
        ];
        pairs.retain(|(_, v)| !v.is_empty());
        if self.linux_pack {
            pairs.push(("xs:linux", "Linux Pack".into()));
        }
        strings(pairs)
    }

    /// `host.cpu_info`.
    pub fn cpu_info(&self) -> Value {
        let c = &self.cpu;
        strings(
            [
                ("cpu_count", c.cpu_count.to_string()),
                ("socket_count", c.socket_count.to_string()),
                ("threads_per_core", "2".to_string()),
                ("nr_nodes", c.socket_count.to_string()),
                ("vendor", c.vendor.clone()),
                ("speed", c.speed.clone()),
                ("modelname", c.modelname.clone()),
                ("family", c.family.clone()),
                ("model", c.model.clone()),
                ("stepping", c.stepping.clone()),
                ("flags", c.flags.clone()),
                ("features_pv", c.features_pv.clone()),
                ("features_hvm", c.features_hvm.clone()),
                ("features_pv_host", c.features_pv.clone()),
                ("features_hvm_host", c.features_hvm.clone()),
            ]
            .into_iter()
            .chain(c.maskable.clone().map(|m| ("maskable", m))),
        )
    }

    /// `host.license_params`.
    pub fn license_params(&self) -> Value {
        let l = &self.licence;
        strings([
            ("sku_type", l.edition.clone()),
            ("expiry", "20301231T00:00:00Z".to_string()),
            ("restrict_pooling", l.restrict_pooling.to_string()),
            ("restrict_pool_size", l.restrict_pool_size.to_string()),
            ("enable_xha", l.enable_xha.to_string()),
            ("restrict_xen_motion", l.restrict_xen_motion.to_string()),
            ("restrict_vlan", "false".to_string()),
            ("restrict_pool_attached_storage", "false".to_string()),
        ])
    }
}

/// What [`build_standalone`] created, for callers that need the references.
#[derive(Debug, Clone)]
pub struct Built {
    /// The `host` reference.
    pub host: String,
    /// The `pool` reference.
    pub pool: String,
}

/// Builds the database of a freshly installed standalone host: a one-host pool.
/// `seed` makes MACs unique; `address` is the management IP.
pub fn build_standalone(
    db: &mut Db,
    profile: &HostProfile,
    uuid: &str,
    address: &str,
    seed: u64,
) -> Built {
    // Objects are created before the objects that point at them, so relation sets fill in.
    let metrics = db.create(
        "host_metrics",
        record([
            ("memory_total", Value::Int(profile.memory_mib * MIB)),
            (
                "memory_free",
                Value::Int(profile.memory_mib * MIB - 4 * GIB),
            ),
            ("live", Value::Bool(true)),
            (
                "last_updated",
                Value::DateTime(xenpool::DateTime::now().to_wire()),
            ),
        ]),
    );
    let host = db.create(
        "host",
        record([
            ("uuid", s(uuid)),
            ("name_label", s(&profile.name)),
            ("hostname", s(&profile.name)),
            ("address", s(address)),
            ("enabled", Value::Bool(true)),
            ("API_version_major", Value::Int(profile.version.api_major)),
            ("API_version_minor", Value::Int(profile.version.api_minor)),
            ("API_version_vendor", s("XenSource")),
            ("software_version", profile.software_version()),
            ("cpu_info", profile.cpu_info()),
            ("edition", s(&profile.licence.edition)),
            ("editions", Value::Array(vec![s(&profile.licence.edition)])),
            ("license_params", profile.license_params()),
            ("metrics", s(&metrics)),
            ("sched_policy", s("credit")),
            ("tls_verification_enabled", Value::Bool(true)),
        ]),
    );
    let pool = db.create(
        "pool",
        record([
            ("name_label", s("")),
            ("master", s(&host)),
            (
                "cpu_info",
                pool_cpu_info(std::slice::from_ref(&profile.cpu)),
            ),
            ("restrictions", profile.license_params()),
            ("tls_verification_enabled", Value::Bool(true)),
            ("migration_compression", Value::Bool(false)),
        ]),
    );
    for n in 0..profile.cpu.cpu_count.min(64) {
        db.create(
            "host_cpu",
            record([
                ("host", s(&host)),
                ("number", Value::Int(n)),
                ("vendor", s(&profile.cpu.vendor)),
                (
                    "speed",
                    Value::Int(
                        profile
                            .cpu
                            .speed
                            .split('.')
                            .next()
                            .unwrap_or("0")
                            .parse()
                            .unwrap_or(0),
                    ),
                ),
                ("modelname", s(&profile.cpu.modelname)),
                (
                    "family",
                    Value::Int(profile.cpu.family.parse().unwrap_or(0)),
                ),
                ("model", Value::Int(profile.cpu.model.parse().unwrap_or(0))),
                ("stepping", s(&profile.cpu.stepping)),
                ("flags", s(&profile.cpu.flags)),
                ("features", s(&profile.cpu.features_hvm)),
            ]),
        );
    }
    for update in &profile.updates {
        let u = db.create(
            "pool_update",
            record([
                ("uuid", s(&uuid_for(update))),
                ("name_label", s(update)),
                ("version", s("1.0")),
                ("enforce_homogeneity", Value::Bool(true)),
                ("after_apply_guidance", Value::Array(vec![])),
            ]),
        );
        db.update("host", &host, |r| {
            if let Some(Value::Array(items)) = r.get_mut("updates") {
                items.push(s(&u));
            }
        });
        db.update("pool_update", &u, |r| {
            r.insert("hosts".into(), Value::Array(vec![s(&host)]));
        });
    }

    // Networking: one network per NIC (bridge xenbrN), management on the flagged NIC.
    let mut pif_by_device = IndexMap::new();
    for (i, nic) in profile.nics.iter().enumerate() {
        let bridge = format!(
            "xenbr{}",
            nic.device.trim_start_matches(|c: char| !c.is_ascii_digit())
        );
        let network = db.create(
            "network",
            record([
                (
                    "name_label",
                    s(&format!("Pool-wide network associated with {}", nic.device)),
                ),
                ("bridge", s(&bridge)),
                ("MTU", Value::Int(if nic.mtu > 0 { nic.mtu } else { 1500 })),
                ("managed", Value::Bool(true)),
            ]),
        );
        let speed = if nic.speed_mbps > 0 {
            nic.speed_mbps
        } else {
            1000
        };
        let metrics = db.create(
            "PIF_metrics",
            record([
                ("carrier", Value::Bool(true)),
                ("speed", Value::Int(speed)),
                ("duplex", Value::Bool(true)),
                (
                    "device_name",
                    s(if speed >= 10000 {
                        "10 Gigabit Ethernet"
                    } else {
                        "Gigabit Ethernet"
                    }),
                ),
            ]),
        );
        let mode = match nic.mode.to_ascii_lowercase().as_str() {
            "static" => "Static",
            "dhcp" => "DHCP",
            _ => "None",
        };
        let ip = if nic.management {
            address.to_string()
        } else {
            nic.ip.clone()
        };
        let pif = db.create(
            "PIF",
            record([
                ("device", s(&nic.device)),
                ("network", s(&network)),
                ("host", s(&host)),
                (
                    "MAC",
                    s(&if nic.mac.is_empty() {
                        mac_for(seed, i)
                    } else {
                        nic.mac.clone()
                    }),
                ),
                ("MTU", Value::Int(if nic.mtu > 0 { nic.mtu } else { 1500 })),
                ("VLAN", Value::Int(-1)),
                ("metrics", s(&metrics)),
                ("physical", Value::Bool(true)),
                ("currently_attached", Value::Bool(true)),
                ("ip_configuration_mode", s(mode)),
                ("IP", s(if mode == "None" { "" } else { &ip })),
                ("netmask", s(if mode == "None" { "" } else { "255.0.0.0" })),
                (
                    "gateway",
                    s(if mode == "None" || !nic.management {
                        ""
                    } else {
                        "127.0.0.254"
                    }),
                ),
                (
                    "DNS",
                    s(if nic.management && mode != "None" {
                        "127.0.0.53"
                    } else {
                        ""
                    }),
                ),
                ("management", Value::Bool(nic.management)),
                ("primary_address_type", s("IPv4")),
                ("ipv6_configuration_mode", s("None")),
                ("managed", Value::Bool(true)),
                ("disallow_unplug", Value::Bool(nic.management)),
                ("properties", strings([("gro", "on".to_string())])),
            ]),
        );
        pif_by_device.insert(nic.device.clone(), pif);
    }
    db.create(
        "network",
        record([
            ("name_label", s("Host internal management network")),
            ("bridge", s("xenapi")),
            ("managed", Value::Bool(true)),
            (
                "other_config",
                strings([
                    ("is_guest_installer_network", "true".to_string()),
                    ("is_host_internal_management_network", "true".to_string()),
                ]),
            ),
        ]),
    );
    for (n, bond) in profile.bonds.iter().enumerate() {
        let members: Vec<String> = bond
            .members
            .iter()
            .filter_map(|d| pif_by_device.get(d).cloned())
            .collect();
        if members.is_empty() {
            continue;
        }
        crate::model::network::profile_bond(db, &host, &members, &bond.mode, &bond.network, n);
    }
    for vlan in &profile.vlans {
        if let Some(pif) = pif_by_device.get(&vlan.nic) {
            crate::model::network::profile_vlan(db, &host, pif, vlan.tag, &vlan.network);
        }
    }

    // Storage.
    let mut sr_by_name = IndexMap::new();
    for sr in &profile.srs {
        let sr_ref = create_sr(db, sr);
        let mut device_config = IndexMap::new();
        if sr.kind == "nfs" {
            device_config.insert("server".to_string(), s(&sr.server));
            device_config.insert("serverpath".to_string(), s(&sr.serverpath));
        } else if sr.kind != "iso" {
            device_config.insert("device".to_string(), s("/dev/sda3"));
        }
        db.create(
            "PBD",
            record([
                ("host", s(&host)),
                ("SR", s(&sr_ref)),
                ("device_config", Value::Struct(device_config)),
                ("currently_attached", Value::Bool(true)),
            ]),
        );
        sr_by_name.insert(sr.name.clone(), sr_ref);
    }
    ensure_sm(db, "lvm");
    ensure_sm(db, "ext");
    ensure_sm(db, "nfs");
    ensure_sm(db, "iso");
    if let Some(local) = sr_by_name.values().next() {
        let local = local.clone();
        db.update("pool", &pool, |r| {
            r.insert("default_SR".into(), s(&local));
            r.insert("suspend_image_SR".into(), s(&local));
            r.insert("crash_dump_SR".into(), s(&local));
        });
    }

    // The control domain, then the guests.
    let dom0 = db.create(
        "VM",
        record([
            (
                "name_label",
                s(&format!("Control domain on host: {}", profile.name)),
            ),
            ("power_state", s("Running")),
            ("is_control_domain", Value::Bool(true)),
            ("resident_on", s(&host)),
            ("memory_static_max", Value::Int(4 * GIB)),
            ("memory_dynamic_max", Value::Int(4 * GIB)),
            ("memory_dynamic_min", Value::Int(4 * GIB)),
            ("memory_static_min", Value::Int(4 * GIB)),
            ("VCPUs_max", Value::Int(16)),
            ("VCPUs_at_startup", Value::Int(16)),
            ("domid", Value::Int(0)),
        ]),
    );
    db.update("host", &host, |r| {
        r.insert("control_domain".into(), s(&dom0));
    });
    for vm in &profile.vms {
        create_vm(db, vm, &host, &sr_by_name, &profile.cpu);
    }
    Built { host, pool }
}

/// A stable uuid for a named thing (updates must have the same uuid on every host).
pub fn uuid_for(name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

/// Creates an SR record (no PBDs).
pub fn create_sr(db: &mut Db, sr: &SrProfile) -> String {
    let content_type = match sr.kind.as_str() {
        "iso" => "iso",
        _ => "user",
    };
    let mut sm_config = IndexMap::new();
    if sr.kind == "lvm" {
        sm_config.insert("allocation".to_string(), s("thick"));
    }
    db.create(
        "SR",
        record([
            ("name_label", s(&sr.name)),
            ("type", s(&sr.kind)),
            ("content_type", s(content_type)),
            ("shared", Value::Bool(sr.shared)),
            ("physical_size", Value::Int(sr.size_gib * GIB)),
            ("physical_utilisation", Value::Int(0)),
            ("virtual_allocation", Value::Int(0)),
            ("sm_config", Value::Struct(sm_config)),
        ]),
    )
}

/// Makes sure an SM driver record exists for `kind`.
pub fn ensure_sm(db: &mut Db, kind: &str) {
    if db.find_one("SM", "type", kind).is_some() {
        return;
    }
    let features = [
        "SR_PROBE",
        "SR_UPDATE",
        "VDI_CREATE",
        "VDI_DELETE",
        "VDI_ATTACH",
        "VDI_DETACH",
        "VDI_GENERATE_CONFIG",
        "VDI_SNAPSHOT",
        "VDI_CLONE",
        "VDI_RESIZE",
    ];
    db.create(
        "SM",
        record([
            ("name_label", s(&format!("{kind} SR driver"))),
            ("type", s(kind)),
            ("vendor", s("xenpool-sim")),
            ("version", s("1.0")),
            ("required_api_version", s("1.0")),
            (
                "capabilities",
                Value::Array(features.iter().map(|f| s(f)).collect()),
            ),
            (
                "features",
                Value::Struct(
                    features
                        .iter()
                        .map(|f| (f.to_string(), Value::Int(1)))
                        .collect(),
                ),
            ),
        ]),
    );
}

/// Creates a VM (with metrics, disks and a VIF on the management network) on `host`.
pub fn create_vm(
    db: &mut Db,
    vm: &VmProfile,
    host: &str,
    srs: &IndexMap<String, String>,
    cpu: &CpuProfile,
) -> String {
    let memory = vm.memory_mib * MIB;
    let running = matches!(vm.power_state.as_str(), "Running" | "Paused");
    let metrics = db.create(
        "VM_metrics",
        record([
            (
                "memory_actual",
                Value::Int(if running { memory } else { 0 }),
            ),
            ("VCPUs_number", Value::Int(vm.vcpus)),
        ]),
    );
    let mut current_operations = IndexMap::new();
    for op in &vm.current_operations {
        current_operations.insert(format!("OpaqueRef:{}", uuid::Uuid::new_v4()), s(op));
    }
    let vm_ref = db.create(
        "VM",
        record([
            ("name_label", s(&vm.name)),
            ("power_state", s(&vm.power_state)),
            ("is_a_template", Value::Bool(vm.template)),
            ("resident_on", s(if running { host } else { NULL_REF })),
            ("affinity", s(host)),
            ("memory_static_max", Value::Int(memory)),
            ("memory_dynamic_max", Value::Int(memory)),
            ("memory_dynamic_min", Value::Int(memory)),
            ("memory_static_min", Value::Int(memory.min(512 * MIB))),
            ("memory_target", Value::Int(memory)),
            ("VCPUs_max", Value::Int(vm.vcpus)),
            ("VCPUs_at_startup", Value::Int(vm.vcpus)),
            ("metrics", s(&metrics)),
            ("current_operations", Value::Struct(current_operations)),
            ("ha_restart_priority", s(&vm.ha_restart_priority)),
            (
                "ha_always_run",
                Value::Bool(vm.ha_restart_priority == "restart"),
            ),
            ("HVM_boot_policy", s("BIOS order")),
            ("domain_type", s("hvm")),
            ("domid", Value::Int(if running { 1 } else { -1 })),
            (
                "last_boot_CPU_flags",
                if vm.power_state == "Halted" {
                    Value::Struct(IndexMap::new())
                } else {
                    strings([
                        ("vendor", cpu.vendor.clone()),
                        ("features", cpu.features_hvm.clone()),
                    ])
                },
            ),
        ]),
    );
    for (i, disk) in vm.disks.iter().enumerate() {
        let Some(sr) = srs.get(&disk.sr).cloned() else {
            continue;
        };
        let vdi = db.create(
            "VDI",
            record([
                ("name_label", s(&format!("{} disk {i}", vm.name))),
                ("SR", s(&sr)),
                ("virtual_size", Value::Int(disk.size_gib * GIB)),
                ("physical_utilisation", Value::Int(disk.size_gib * GIB / 4)),
                ("type", s("user")),
                ("location", s(&uuid::Uuid::new_v4().to_string())),
                ("managed", Value::Bool(true)),
            ]),
        );
        db.create(
            "VBD",
            record([
                ("VM", s(&vm_ref)),
                ("VDI", s(&vdi)),
                ("device", s(&format!("xvd{}", (b'a' + i as u8) as char))),
                ("userdevice", s(&i.to_string())),
                ("bootable", Value::Bool(i == 0)),
                ("mode", s("RW")),
                ("type", s("Disk")),
                ("currently_attached", Value::Bool(running)),
            ]),
        );
    }
    if vm.power_state == "Suspended"
        && let Some(sr) = srs.values().next().cloned()
    {
        let suspend = db.create(
            "VDI",
            record([
                ("name_label", s(&format!("Suspend image for {}", vm.name))),
                ("SR", s(&sr)),
                ("virtual_size", Value::Int(memory)),
                ("type", s("suspend")),
            ]),
        );
        db.set_field("VM", &vm_ref, "suspend_VDI", s(&suspend));
    }
    vm_ref
}

/// `pool.cpu_info` levelled over hosts: vendor of the last host, counts summed, feature
/// words ANDed (docs/pool-operations.md#cpu-info).
pub fn pool_cpu_info(cpus: &[CpuProfile]) -> Value {
    let mut count = 0;
    let mut sockets = 0;
    let mut pv: Option<Vec<u32>> = None;
    let mut hvm: Option<Vec<u32>> = None;
    let mut vendor = String::new();
    for c in cpus {
        count += c.cpu_count;
        sockets += c.socket_count;
        vendor = c.vendor.clone();
        pv = Some(level(pv, &c.features_pv));
        hvm = Some(level(hvm, &c.features_hvm));
    }
    strings([
        ("vendor", vendor),
        ("cpu_count", count.to_string()),
        ("socket_count", sockets.to_string()),
        (
            "features_pv_host",
            features::render(&pv.unwrap_or_default()),
        ),
        (
            "features_hvm_host",
            features::render(&hvm.unwrap_or_default()),
        ),
    ])
}

/// ANDs a feature vector into an accumulated one (shorter vectors zero-extended; an empty
/// policy is neutral).
pub fn level(acc: Option<Vec<u32>>, text: &str) -> Vec<u32> {
    let words = features::parse(text).unwrap_or_default();
    match acc {
        None => words,
        Some(a) if a.is_empty() => words,
        Some(a) if words.is_empty() => a,
        Some(a) => features::level(&a, &words),
    }
}

/// Looks up a record's string map member.
pub fn map_get(record: &Record, field: &str, key: &str) -> String {
    match record.get(field) {
        Some(Value::Struct(m)) => m
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}
