//! One-to-many relations that xapi keeps consistent: the "many" side is a read-only set
//! field computed from a reference field on the other class (datamodel.ml `relations`).
//! The simulator maintains the sets on every write.

/// `(set class, set field, ref class, ref field)`: `set_class.set_field` lists every
/// object of `ref_class` whose `ref_field` points at it.
pub const RELATIONS: &[(&str, &str, &str, &str)] = &[
    ("host", "resident_VMs", "VM", "resident_on"),
    ("host", "PIFs", "PIF", "host"),
    ("host", "PBDs", "PBD", "host"),
    ("host", "host_CPUs", "host_cpu", "host"),
    ("host", "crashdumps", "host_crashdump", "host"),
    ("host", "patches", "host_patch", "host"),
    ("host", "PCIs", "PCI", "host"),
    ("host", "PGPUs", "PGPU", "host"),
    ("host", "PUSBs", "PUSB", "host"),
    ("host", "certificates", "Certificate", "host"),
    ("VM", "VBDs", "VBD", "VM"),
    ("VM", "VIFs", "VIF", "VM"),
    ("VM", "consoles", "console", "VM"),
    ("VM", "crash_dumps", "crashdump", "VM"),
    ("VM", "snapshots", "VM", "snapshot_of"),
    ("VM", "VTPMs", "VTPM", "VM"),
    ("VM", "VUSBs", "VUSB", "VM"),
    ("VM", "VGPUs", "VGPU", "VM"),
    ("VDI", "VBDs", "VBD", "VDI"),
    ("VDI", "crash_dumps", "crashdump", "VDI"),
    ("SR", "VDIs", "VDI", "SR"),
    ("SR", "PBDs", "PBD", "SR"),
    ("network", "PIFs", "PIF", "network"),
    ("network", "VIFs", "VIF", "network"),
    ("Bond", "slaves", "PIF", "bond_slave_of"),
    ("PIF", "bond_master_of", "Bond", "master"),
    ("PIF", "VLAN_slave_of", "VLAN", "tagged_PIF"),
    ("PIF", "tunnel_access_PIF_of", "tunnel", "access_PIF"),
    ("PIF", "tunnel_transport_PIF_of", "tunnel", "transport_PIF"),
    ("task", "subtasks", "task", "subtask_of"),
    ("VM_appliance", "VMs", "VM", "appliance"),
    ("GPU_group", "PGPUs", "PGPU", "GPU_group"),
    ("GPU_group", "VGPUs", "VGPU", "GPU_group"),
    ("Cluster", "cluster_hosts", "Cluster_host", "cluster"),
];

type Relation = (&'static str, &'static str, &'static str, &'static str);
type Index = std::collections::HashMap<
    &'static str,
    std::collections::HashMap<&'static str, Vec<&'static Relation>>,
>;

/// The relations in which `class.field` is the reference side (indexed once: this runs
/// for every field of every object created).
pub fn pointing_from(class: &str, field: &str) -> &'static [&'static Relation] {
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = Index::new();
        for r in RELATIONS {
            m.entry(r.2).or_default().entry(r.3).or_default().push(r);
        }
        m
    });
    index
        .get(class)
        .and_then(|f| f.get(field))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
