//! Networking: bonds (checks in xapi's order, docs/pool-operations.md#bonds), VLANs, IP
//! reconfiguration and management moves.

use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::call::{Ctx, Handler, Registry};
use crate::db::{Db, NULL_REF};
use crate::failure::{Failure, Outcome};
use crate::model::network::{
    allowed_properties, checked_properties, clear_ip, has_ip, make_bond, make_vlan,
};
use crate::values::{flag, refs, s, string_map, text, void};

/// Registers the networking messages.
pub fn register(r: &mut Registry) {
    r.insert("Bond.create", Handler::Sync(bond_create));
    r.insert("Bond.destroy", Handler::Sync(bond_destroy));
    r.insert("Bond.set_mode", Handler::Sync(bond_set_mode));
    r.insert("VLAN.create", Handler::Sync(vlan_create));
    r.insert("VLAN.destroy", Handler::Sync(vlan_destroy));
    r.insert("PIF.reconfigure_ip", Handler::Sync(reconfigure_ip));
    r.insert(
        "PIF.plug",
        Handler::Sync(|ctx, args| set_attached(ctx, args, true)),
    );
    r.insert(
        "PIF.unplug",
        Handler::Sync(|ctx, args| set_attached(ctx, args, false)),
    );
    r.insert(
        "host.management_reconfigure",
        Handler::Sync(management_reconfigure),
    );
    r.insert("network.create", Handler::Sync(network_create));
}

fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn bond_create(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let network = ctx.existing("network", &args[0])?;
    let mut members: Vec<String> = Vec::new();
    for m in refs(&args[1]) {
        if !members.contains(&m) {
            members.push(m);
        }
    }
    let mac = text(&args[2]);
    let mode = text(&args[3]);
    let properties = string_map(&args[4]);
    for m in &members {
        ctx.existing("PIF", &s(m.clone()))?;
    }
    let ha = {
        let db = ctx.db();
        let pool = crate::world::World::pool_ref(db);
        matches!(
            db.get_field("pool", &pool, "ha_enabled"),
            Some(Value::Bool(true))
        )
    };
    let db = ctx.db();
    if members.is_empty() {
        return Err(Failure::code(ErrorCode::PifBondNeedsMoreMembers));
    }
    if !matches!(
        db.get_field("network", &network, "managed"),
        Some(Value::Bool(true))
    ) {
        return Err(Failure::new(ErrorCode::NetworkUnmanaged, [network]));
    }
    let host = db.str_field("PIF", &members[0], "host");
    network_free_on(db, &host, &network)?;
    if !mac.is_empty() && !valid_mac(&mac) {
        return Err(Failure::new(ErrorCode::MacInvalid, [mac]));
    }
    let properties = checked_properties(&mode, &properties)?;
    let primary_type = db.str_field("PIF", &members[0], "primary_address_type");
    for m in &members {
        if db.str_field("PIF", m, "primary_address_type") != primary_type {
            return Err(Failure::new(
                ErrorCode::PifIncompatiblePrimaryAddressType,
                [m.clone()],
            ));
        }
    }
    for m in &members {
        if !matches!(db.get_field("PIF", m, "managed"), Some(Value::Bool(true))) {
            return Err(Failure::new(ErrorCode::PifUnmanaged, [m.clone()]));
        }
        if db.str_field("PIF", m, "bond_slave_of") != NULL_REF {
            return Err(Failure::new(ErrorCode::PifAlreadyBonded, [m.clone()]));
        }
        if db.str_field("PIF", m, "VLAN_master_of") != NULL_REF {
            return Err(Failure::new(
                ErrorCode::PifVlanExists,
                [db.str_field("PIF", m, "device")],
            ));
        }
        if matches!(db.get_field("PIF", m, "tunnel_access_PIF_of"), Some(Value::Array(a)) if !a.is_empty())
        {
            return Err(Failure::new(ErrorCode::IsTunnelAccessPif, [m.clone()]));
        }
        if ha
            && matches!(
                db.get_field("PIF", m, "management"),
                Some(Value::Bool(true))
            )
        {
            return Err(Failure::code(
                ErrorCode::HaCannotChangeBondStatusOfMgmtIface,
            ));
        }
    }
    if members
        .iter()
        .any(|m| db.str_field("PIF", m, "host") != host)
    {
        return Err(Failure::code(ErrorCode::PifCannotBondCrossHost));
    }
    let props0 = db.get_field("PIF", &members[0], "properties").cloned();
    if members
        .iter()
        .any(|m| db.get_field("PIF", m, "properties").cloned() != props0)
    {
        return Err(Failure::code(ErrorCode::IncompatiblePifProperties));
    }
    if members.iter().filter(|m| has_ip(db, m)).count() > 1 {
        return Err(Failure::code(ErrorCode::PifBondMoreThanOneIp));
    }
    let mac = if mac.is_empty() { None } else { Some(mac) };
    Ok(s(make_bond(
        db, &host, &members, &mode, &network, mac, properties,
    )))
}

fn bond_destroy(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let bond = ctx.existing("Bond", &args[0])?;
    let ha = {
        let db = ctx.db();
        let pool = crate::world::World::pool_ref(db);
        matches!(
            db.get_field("pool", &pool, "ha_enabled"),
            Some(Value::Bool(true))
        )
    };
    let db = ctx.db();
    let master = db.str_field("Bond", &bond, "master");
    let primary = db.str_field("Bond", &bond, "primary_slave");
    if ha
        && matches!(
            db.get_field("PIF", &master, "management"),
            Some(Value::Bool(true))
        )
    {
        return Err(Failure::code(
            ErrorCode::HaCannotChangeBondStatusOfMgmtIface,
        ));
    }
    destroy_bond(db, &bond, &master, &primary);
    void()
}

/// Removes a bond: IP configuration and management go back to the primary member.
pub fn destroy_bond(db: &mut Db, bond: &str, master: &str, primary: &str) {
    let m = db.get("PIF", master).cloned().unwrap_or_default();
    db.update("PIF", primary, |r| {
        for k in [
            "ip_configuration_mode",
            "IP",
            "netmask",
            "gateway",
            "DNS",
            "management",
            "disallow_unplug",
        ] {
            if let Some(v) = m.get(k) {
                r.insert(k.into(), v.clone());
            }
        }
    });
    for slave in db.find("PIF", |r| {
        r.get("bond_slave_of").and_then(Value::as_str) == Some(bond)
    }) {
        db.set_field("PIF", &slave, "bond_slave_of", s(NULL_REF));
    }
    db.delete("PIF", master);
    db.delete("Bond", bond);
}

fn bond_set_mode(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let bond = ctx.existing("Bond", &args[0])?;
    let mode = text(&args[1]);
    let current = string_map(
        ctx.db()
            .get_field("Bond", &bond, "properties")
            .unwrap_or(&Value::Nil),
    );
    // Properties invalid for the new mode are dropped; defaults are added.
    let allowed = allowed_properties(&mode);
    let kept: Vec<(String, String)> = current
        .into_iter()
        .filter(|(k, _)| allowed.iter().any(|(n, _, _)| n == k))
        .collect();
    let properties = checked_properties(&mode, &kept)?;
    ctx.db().update("Bond", &bond, |r| {
        r.insert("mode".into(), s(mode));
        r.insert("properties".into(), Value::Struct(properties));
    });
    void()
}

fn vlan_create(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let tagged = ctx.existing("PIF", &args[0])?;
    let tag = match &args[1] {
        Value::Int(t) => *t,
        _ => -1,
    };
    let network = ctx.existing("network", &args[2])?;
    let db = ctx.db();
    if !(0..=4094).contains(&tag) {
        return Err(Failure::new(ErrorCode::VlanTagInvalid, [tag.to_string()]));
    }
    if db.str_field("PIF", &tagged, "VLAN_master_of") != NULL_REF {
        return Err(Failure::new(ErrorCode::PifIsVlan, [tagged]));
    }
    let host = db.str_field("PIF", &tagged, "host");
    let device = db.str_field("PIF", &tagged, "device");
    let clash = db.find("PIF", |r| {
        r.get("host").and_then(Value::as_str) == Some(&host)
            && r.get("device").and_then(Value::as_str) == Some(&device)
            && r.get("VLAN") == Some(&Value::Int(tag))
    });
    if !clash.is_empty() {
        return Err(Failure::new(ErrorCode::PifVlanExists, [device]));
    }
    network_free_on(db, &host, &network)?;
    Ok(s(make_vlan(db, &host, &tagged, tag, &network)))
}

fn vlan_destroy(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let vlan = ctx.existing("VLAN", &args[0])?;
    let db = ctx.db();
    let untagged = db.str_field("VLAN", &vlan, "untagged_PIF");
    if matches!(
        db.get_field("PIF", &untagged, "management"),
        Some(Value::Bool(true))
    ) {
        return Err(Failure::new(
            ErrorCode::PifIsManagementInterface,
            [untagged],
        ));
    }
    db.delete("PIF", &untagged);
    db.delete("VLAN", &vlan);
    void()
}

fn reconfigure_ip(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let pif = ctx.existing("PIF", &args[0])?;
    let mode = text(&args[1]);
    let (ip, netmask, gateway, dns) = (
        text(&args[2]),
        text(&args[3]),
        text(&args[4]),
        text(&args[5]),
    );
    let db = ctx.db();
    let management = matches!(
        db.get_field("PIF", &pif, "management"),
        Some(Value::Bool(true))
    );
    if db.str_field("PIF", &pif, "bond_slave_of") != NULL_REF {
        return Err(Failure::new(ErrorCode::CannotPlugBondSlave, [pif]));
    }
    if management {
        if mode == "None" {
            return Err(Failure::new(ErrorCode::PifIsManagementInterface, [pif]));
        }
        // The simulated host listens on its loopback address; it cannot move.
        let current = db.str_field("PIF", &pif, "IP");
        if mode == "Static" && ip != current {
            return Err(Failure::new(
                ErrorCode::PifConfigurationError,
                [
                    pif,
                    "the simulator cannot move a host's management address".to_string(),
                ],
            ));
        }
    }
    if mode == "Static" && ip.is_empty() {
        return Err(Failure::new(
            ErrorCode::PifConfigurationError,
            [pif, "a static configuration needs an IP".to_string()],
        ));
    }
    let keep_ip = if mode == "None" {
        String::new()
    } else if mode == "DHCP" && ip.is_empty() {
        db.str_field("PIF", &pif, "IP")
    } else {
        ip
    };
    db.update("PIF", &pif, |r| {
        r.insert("ip_configuration_mode".into(), s(mode.clone()));
        r.insert("IP".into(), s(keep_ip));
        r.insert(
            "netmask".into(),
            s(if mode == "None" {
                String::new()
            } else {
                netmask
            }),
        );
        r.insert(
            "gateway".into(),
            s(if mode == "None" {
                String::new()
            } else {
                gateway
            }),
        );
        r.insert(
            "DNS".into(),
            s(if mode == "None" { String::new() } else { dns }),
        );
    });
    void()
}

fn set_attached(ctx: &mut Ctx<'_>, args: Vec<Value>, attached: bool) -> Outcome {
    let pif = ctx.existing("PIF", &args[0])?;
    let db = ctx.db();
    if !attached {
        if matches!(
            db.get_field("PIF", &pif, "management"),
            Some(Value::Bool(true))
        ) {
            return Err(Failure::new(ErrorCode::PifIsManagementInterface, [pif]));
        }
        if flag(
            db.get_field("PIF", &pif, "disallow_unplug")
                .unwrap_or(&Value::Nil),
        ) {
            return Err(Failure::new(ErrorCode::PifDoesNotAllowUnplug, [pif]));
        }
    } else if db.str_field("PIF", &pif, "bond_slave_of") != NULL_REF {
        return Err(Failure::new(ErrorCode::CannotPlugBondSlave, [pif]));
    }
    db.update("PIF", &pif, |r| {
        r.insert("currently_attached".into(), Value::Bool(attached));
    });
    void()
}

/// Moves management (and its IP configuration) to another PIF of the same host.
pub fn move_management(db: &mut Db, from: &str, to: &str) {
    let old = db.get("PIF", from).cloned().unwrap_or_default();
    db.update("PIF", to, |r| {
        for k in ["ip_configuration_mode", "IP", "netmask", "gateway", "DNS"] {
            if let Some(v) = old.get(k) {
                r.insert(k.into(), v.clone());
            }
        }
        r.insert("management".into(), Value::Bool(true));
        r.insert("disallow_unplug".into(), Value::Bool(true));
    });
    clear_ip(db, from);
}

fn management_reconfigure(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let pif = ctx.existing("PIF", &args[0])?;
    let db = ctx.db();
    let host = db.str_field("PIF", &pif, "host");
    let current = db.find("PIF", |r| {
        r.get("host").and_then(Value::as_str) == Some(&host)
            && r.get("management") == Some(&Value::Bool(true))
    });
    if let Some(old) = current.first().filter(|o| **o != pif) {
        let old = old.clone();
        move_management(db, &old, &pif);
    }
    void()
}

fn network_create(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let Value::Struct(mut members) = args.into_iter().next().unwrap_or(Value::Nil) else {
        return Err(Failure::internal("bad __structure"));
    };
    // xapi names the bridge of a new internal network itself when none is given.
    let used = ctx.db().count("network");
    if members
        .get("bridge")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        members.insert("bridge".into(), s(format!("xapi{}", used + 100)));
    }
    members
        .entry("managed".to_string())
        .or_insert(Value::Bool(true));
    Ok(s(ctx.db().create("network", members)))
}

/// A host connects to a network through one PIF at most (`NETWORK_ALREADY_CONNECTED`).
fn network_free_on(db: &Db, host: &str, network: &str) -> Result<(), Failure> {
    match db
        .find("PIF", |r| {
            r.get("host").and_then(Value::as_str) == Some(host)
                && r.get("network").and_then(Value::as_str) == Some(network)
        })
        .first()
    {
        Some(pif) => Err(Failure::new(
            ErrorCode::NetworkAlreadyConnected,
            [host.to_string(), pif.clone()],
        )),
        None => Ok(()),
    }
}
