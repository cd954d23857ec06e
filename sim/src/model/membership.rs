//! A host entering a pool database (join, scenarios), leaving it (eject, destroy), and
//! which host coordinates.

use indexmap::IndexMap;
use xenpool::wire::Value;

use super::network::make_bond;
use super::placement::CHILD_SETS;
use crate::db::{Db, NULL_REF};
use crate::profile::{self, map_get};
use crate::values::{s, str_of, truthy};
use crate::world::{PoolId, World, record};

/// Moves a standalone host into the pool of `master` the way a join ends: objects merged
/// by uuid, networks matched by bridge, PBDs for shared SRs, bonds copied from the
/// coordinator, CPU features levelled. Also used to build pools from scenarios.
pub fn merge_into_pool(world: &mut World, joiner: usize, master: usize) {
    let target: PoolId = world.hosts[master].pool;
    let source: PoolId = world.hosts[joiner].pool;
    if target == source {
        return;
    }
    let old = world.pools.remove(&source).expect("the joiner's pool");
    let src = &old.db;
    let me = world.hosts[joiner].host_ref.clone();
    let master_address = world.hosts[master].address.clone();
    let dst = &mut world.pools.get_mut(&target).expect("the pool").db;

    // host, its metrics and CPUs.
    let host_rec = src.get("host", &me).cloned().unwrap_or_default();
    let metrics = str_of(&host_rec, "metrics");
    if let Some(m) = src.get("host_metrics", &metrics) {
        dst.absorb("host_metrics", &metrics, m.clone());
    }
    let mut host_rec = host_rec;
    for set in [
        "resident_VMs",
        "PIFs",
        "PBDs",
        "host_CPUs",
        "updates",
        "crashdumps",
        "patches",
        "PCIs",
        "PGPUs",
        "PUSBs",
        "certificates",
    ] {
        host_rec.insert(set.into(), Value::Array(vec![]));
    }
    dst.absorb("host", &me, host_rec);
    for (r, rec) in src.all("host_cpu") {
        dst.absorb("host_cpu", r, rec.clone());
    }
    // Updates, merged by uuid.
    for (_, u) in src.all("pool_update") {
        let uuid = str_of(u, "uuid");
        let existing = dst.by_uuid("pool_update", &uuid);
        let pu = existing.unwrap_or_else(|| {
            let mut rec = u.clone();
            rec.insert("hosts".into(), Value::Array(vec![]));
            dst.create("pool_update", rec)
        });
        let me2 = me.clone();
        dst.update("pool_update", &pu, |r| {
            if let Some(Value::Array(h)) = r.get_mut("hosts") {
                h.push(s(me2));
            }
        });
        let pu2 = pu.clone();
        dst.update("host", &me, |r| {
            if let Some(Value::Array(u)) = r.get_mut("updates") {
                u.push(s(pu2));
            }
        });
    }
    // Networks: physical ones map to the pool network with the same bridge.
    let mut network_map: IndexMap<String, String> = IndexMap::new();
    for (n, rec) in src.all("network") {
        let bridge = str_of(rec, "bridge");
        let physical = src
            .all("PIF")
            .any(|(_, p)| str_of(p, "network") == *n && truthy(p, "physical"));
        let internal_mgmt =
            map_get(rec, "other_config", "is_host_internal_management_network") == "true";
        if physical || internal_mgmt {
            let pool_net = dst
                .find_one("network", "bridge", &bridge)
                .unwrap_or_else(|| {
                    let mut r = rec.clone();
                    r.insert("PIFs".into(), Value::Array(vec![]));
                    r.insert("VIFs".into(), Value::Array(vec![]));
                    dst.create("network", r)
                });
            network_map.insert(n.clone(), pool_net);
        }
    }
    // Physical PIFs only (bond and VLAN PIFs are refused before the merge).
    for (p, rec) in src.all("PIF").filter(|(_, r)| truthy(r, "physical")) {
        let mut rec = rec.clone();
        let net = network_map
            .get(&str_of(&rec, "network"))
            .cloned()
            .unwrap_or_else(|| NULL_REF.into());
        rec.insert("network".into(), s(net));
        for k in [
            "bond_master_of",
            "VLAN_slave_of",
            "tunnel_access_PIF_of",
            "tunnel_transport_PIF_of",
        ] {
            rec.insert(k.into(), Value::Array(vec![]));
        }
        rec.insert("bond_slave_of".into(), s(NULL_REF));
        if let Some(m) = src.get("PIF_metrics", &str_of(&rec, "metrics")) {
            dst.absorb("PIF_metrics", &str_of(&rec, "metrics"), m.clone());
        }
        dst.absorb("PIF", p, rec);
    }
    // SRs come in non-shared, with their VDIs and PBDs.
    for (sr, rec) in src.all("SR") {
        let mut rec = rec.clone();
        rec.insert("shared".into(), Value::Bool(false));
        rec.insert("VDIs".into(), Value::Array(vec![]));
        rec.insert("PBDs".into(), Value::Array(vec![]));
        dst.absorb("SR", sr, rec);
    }
    for class in ["VDI", "PBD"] {
        for (r, rec) in src.all(class) {
            let mut rec = rec.clone();
            rec.insert("VBDs".into(), Value::Array(vec![]));
            dst.absorb(class, r, rec);
        }
    }
    // VM metadata (dom0 and templates included).
    for (v, rec) in src.all("VM") {
        let mut rec = rec.clone();
        for k in CHILD_SETS {
            rec.insert(k.to_string(), Value::Array(vec![]));
        }
        if let Some(m) = src.get("VM_metrics", &str_of(&rec, "metrics")) {
            dst.absorb("VM_metrics", &str_of(&rec, "metrics"), m.clone());
        }
        dst.absorb("VM", v, rec);
    }
    for (r, rec) in src.all("VBD") {
        dst.absorb("VBD", r, rec.clone());
    }
    for (r, rec) in src.all("VIF") {
        let mut rec = rec.clone();
        if let Some(net) = network_map.get(&str_of(&rec, "network")) {
            rec.insert("network".into(), s(net.clone()));
        }
        dst.absorb("VIF", r, rec);
    }
    // Start-up as a member: local PBDs unplugged and re-plugged, a PBD for every shared SR,
    // bonds copied from the coordinator, CPU features levelled.
    let master_ref = world.hosts[master].host_ref.clone();
    world.hosts[joiner].pool = target;
    world.hosts[joiner].master_address = Some(master_address);
    world.hosts[joiner].local_sessions.clear();
    let dst = &mut world.pools.get_mut(&target).expect("the pool").db;
    for (sr, _) in dst
        .all("SR")
        .filter(|(_, r)| truthy(r, "shared"))
        .map(|(k, r)| (k.clone(), r.clone()))
        .collect::<Vec<_>>()
    {
        let has = dst.find("PBD", |r| str_of(r, "SR") == sr && str_of(r, "host") == me);
        if has.is_empty() {
            let template = dst.find("PBD", |r| {
                str_of(r, "SR") == sr && str_of(r, "host") == master_ref
            });
            let mut config = template
                .first()
                .and_then(|t| dst.get_field("PBD", t, "device_config").cloned())
                .unwrap_or(Value::Struct(IndexMap::new()));
            if let Value::Struct(m) = &mut config {
                m.shift_remove("SRmaster");
            }
            dst.create(
                "PBD",
                record([
                    ("host", s(me.clone())),
                    ("SR", s(sr.clone())),
                    ("device_config", config),
                    ("currently_attached", Value::Bool(true)),
                ]),
            );
        }
    }
    copy_bonds_from_master(dst, &master_ref, &me);
    recompute_pool_cpu_info(dst);
}

/// xapi's `copy_bonds_from_master`: member PIFs are matched to the coordinator's bond
/// members by position, the N of the `xenbrN` bridge of the member PIF's network
/// (docs/pool-operations.md#bonds-after-a-join); partial bonds are allowed.
pub fn copy_bonds_from_master(db: &mut Db, master: &str, member: &str) {
    let position = |db: &Db, pif: &str| -> Option<String> {
        let bridge = db.str_field("network", &db.str_field("PIF", pif, "network"), "bridge");
        bridge.strip_prefix("xenbr").map(str::to_string)
    };
    for (bond, rec) in db
        .all("Bond")
        .map(|(k, r)| (k.clone(), r.clone()))
        .collect::<Vec<_>>()
    {
        let bond_master = str_of(&rec, "master");
        if db.str_field("PIF", &bond_master, "host") != master {
            continue;
        }
        let network = db.str_field("PIF", &bond_master, "network");
        let slaves = db.find("PIF", |r| str_of(r, "bond_slave_of") == bond);
        let bond_mac = db.str_field("PIF", &bond_master, "MAC");
        let mut positions: Vec<(String, bool)> = slaves
            .iter()
            .filter_map(|p| position(db, p).map(|n| (n, db.str_field("PIF", p, "MAC") == bond_mac)))
            .collect();
        positions.sort_by_key(|(_, primary)| !primary);
        let members: Vec<String> = positions
            .iter()
            .filter_map(|(n, _)| {
                db.find("PIF", |r| {
                    str_of(r, "host") == member
                        && truthy(r, "physical")
                        && str_of(r, "bond_slave_of") == NULL_REF
                })
                .into_iter()
                .find(|p| position(db, p).as_deref() == Some(n.as_str()))
            })
            .collect();
        if members.is_empty() {
            continue;
        }
        let mode = str_of(&rec, "mode");
        let properties = match rec.get("properties") {
            Some(Value::Struct(m)) => m.clone(),
            _ => IndexMap::new(),
        };
        make_bond(db, member, &members, &mode, &network, None, properties);
    }
}

/// `pool.cpu_info` recomputed over every host (vendor of the last, counts summed, feature
/// words ANDed).
pub fn recompute_pool_cpu_info(db: &mut Db) {
    let cpus: Vec<profile::CpuProfile> = db
        .all("host")
        .map(|(_, h)| profile::CpuProfile {
            vendor: map_get(h, "cpu_info", "vendor"),
            features_hvm: map_get(h, "cpu_info", "features_hvm_host"),
            features_pv: map_get(h, "cpu_info", "features_pv_host"),
            cpu_count: map_get(h, "cpu_info", "cpu_count").parse().unwrap_or(0),
            socket_count: map_get(h, "cpu_info", "socket_count").parse().unwrap_or(0),
            ..Default::default()
        })
        .collect();
    let info = profile::pool_cpu_info(&cpus);
    let pool = World::pool_ref(db);
    db.update("pool", &pool, |r| {
        r.insert("cpu_info".into(), info);
    });
}

/// Makes `index` the coordinator of `pool`: the database names it, every other member of the
/// pool points its `pool.conf` at it.
pub fn make_coordinator(world: &mut World, pool: PoolId, index: usize) {
    let address = world.hosts[index].address.clone();
    let host_ref = world.hosts[index].host_ref.clone();
    for i in world.members(pool) {
        world.hosts[i].master_address = if i == index {
            None
        } else {
            Some(address.clone())
        };
    }
    let db = &mut world.pools.get_mut(&pool).expect("pool").db;
    let pool_ref = World::pool_ref(db);
    db.set_field("pool", &pool_ref, "master", s(host_ref));
}

/// Removes a host and what belongs to it from a pool database (eject, destroy).
pub fn remove_host_objects(db: &mut Db, host: &str) {
    for class in [
        "PIF",
        "PBD",
        "host_cpu",
        "host_crashdump",
        "host_patch",
        "Certificate",
        "PCI",
        "PGPU",
        "PUSB",
    ] {
        for r in db.find(class, |rec| {
            rec.get("host").and_then(Value::as_str) == Some(host)
        }) {
            db.delete(class, &r);
        }
    }
    for bond in db.all("Bond").map(|(k, _)| k.clone()).collect::<Vec<_>>() {
        let master = db.str_field("Bond", &bond, "master");
        if !db.exists("PIF", &master) {
            db.delete("Bond", &bond);
        }
    }
    for vlan in db.all("VLAN").map(|(k, _)| k.clone()).collect::<Vec<_>>() {
        if !db.exists("PIF", &db.str_field("VLAN", &vlan, "untagged_PIF")) {
            db.delete("VLAN", &vlan);
        }
    }
    for dom0 in db.find("VM", |r| {
        r.get("is_control_domain") == Some(&Value::Bool(true))
            && r.get("resident_on").and_then(Value::as_str) == Some(host)
    }) {
        db.delete("VM", &dom0);
    }
    let metrics = db.str_field("host", host, "metrics");
    db.delete("host", host);
    if metrics != NULL_REF {
        db.delete("host_metrics", &metrics);
    }
}
