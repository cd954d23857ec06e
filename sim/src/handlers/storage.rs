//! Storage: `SR.create` (NFS and local types; a PBD per host for shared SRs, all plugged),
//! PBD lifecycle, `SR.introduce`/`forget`/`destroy` (docs/pool-operations.md#shared-storage).

use std::sync::Arc;

use futures::FutureExt;
use indexmap::IndexMap;
use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::call::{Ctx, Handler, Registry};
use crate::failure::{Failure, Outcome};
use crate::model::storage::forget_records;
use crate::sim::{Caller, Sim};
use crate::values::{flag, s, string_map, text, void};
use crate::world::record;

/// Registers the storage messages.
pub fn register(r: &mut Registry) {
    r.insert(
        "SR.create",
        Handler::Async(|sim, caller, args| create(sim, caller, args).boxed()),
    );
    r.insert("SR.introduce", Handler::Sync(introduce));
    r.insert(
        "SR.forget",
        Handler::Sync(|ctx, args| forget(ctx, args, false)),
    );
    r.insert(
        "SR.destroy",
        Handler::Sync(|ctx, args| forget(ctx, args, true)),
    );
    r.insert(
        "SR.scan",
        Handler::Sync(|ctx, args| ctx.existing("SR", &args[0]).and_then(|_| void())),
    );
    r.insert("PBD.create", Handler::Sync(pbd_create));
    r.insert("PBD.destroy", Handler::Sync(pbd_destroy));
    r.insert("PBD.plug", Handler::Sync(|ctx, args| plug(ctx, args, true)));
    r.insert(
        "PBD.unplug",
        Handler::Sync(|ctx, args| plug(ctx, args, false)),
    );
}

/// Checks an SM `device_config` the way the driver would.
fn check_device_config(kind: &str, config: &[(String, String)]) -> Result<(), Failure> {
    let get = |k: &str| {
        config
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if kind == "nfs" {
        if get("server").is_none_or(str::is_empty) {
            return Err(Failure::sm(
                102,
                "The request is missing the server parameter",
            ));
        }
        if get("serverpath").is_none_or(str::is_empty) {
            return Err(Failure::sm(
                101,
                "The request is missing the serverpath parameter",
            ));
        }
        if let Some(v) = get("nfsversion")
            && v != "3"
            && !v.starts_with('4')
        {
            return Err(Failure::sm(72, "Required NFS server version unsupported"));
        }
    }
    Ok(())
}

async fn create(sim: Sim, caller: Arc<Caller>, args: Vec<Value>) -> Outcome {
    let host_arg = text(&args[0]);
    let config = string_map(&args[1]);
    let size = if let Value::Int(n) = args[2] { n } else { 0 };
    let kind = text(&args[5]).to_ascii_lowercase();
    let shared = flag(&args[7]);
    let sr = {
        let mut world = sim.world();
        let pool_id = world.hosts[caller.host].pool;
        let members: Vec<String> = {
            let coordinator = world.coordinator(pool_id);
            let mut m: Vec<usize> = world.members(pool_id);
            m.sort_by_key(|i| Some(*i) != coordinator); // coordinator first
            m.into_iter()
                .map(|i| world.hosts[i].host_ref.clone())
                .collect()
        };
        let db = world.db(caller.host);
        if !db.exists("host", &host_arg) {
            return Err(Failure::handle_invalid("host", &host_arg));
        }
        if db.find_one("SM", "type", &kind).is_none() {
            return Err(Failure::new(ErrorCode::SrUnknownDriver, [kind]));
        }
        check_device_config(&kind, &config)?;
        let sr = db.create(
            "SR",
            record([
                ("name_label", args[3].clone()),
                ("name_description", args[4].clone()),
                ("type", s(kind.clone())),
                ("content_type", args[6].clone()),
                ("shared", Value::Bool(shared)),
                (
                    "physical_size",
                    Value::Int(if size > 0 { size } else { 1 << 40 }),
                ),
                ("physical_utilisation", Value::Int(0)),
                ("sm_config", args[8].clone()),
            ]),
        );
        let device_config = Value::Struct(
            config
                .iter()
                .map(|(k, v)| (k.clone(), s(v.clone())))
                .collect(),
        );
        let hosts = if shared { members } else { vec![host_arg] };
        for h in hosts {
            db.create(
                "PBD",
                record([
                    ("host", s(h)),
                    ("SR", s(sr.clone())),
                    ("device_config", device_config.clone()),
                ]),
            );
        }
        sr
    };
    // The SM `create` then a `PBD.plug` of every PBD, each taking a moment.
    let step = sim.world().config.operation_time;
    tokio::time::sleep(step).await;
    let mut world = sim.world();
    let db = world.db(caller.host);
    for pbd in db.find("PBD", |r| r.get("SR").and_then(Value::as_str) == Some(&sr)) {
        db.update("PBD", &pbd, |r| {
            r.insert("currently_attached".into(), Value::Bool(true));
        });
    }
    drop(world);
    sim.progress(&caller, 1.0);
    Ok(s(sr))
}

fn introduce(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let uuid = text(&args[0]);
    let db = ctx.db();
    if !uuid.is_empty() && db.by_uuid("SR", &uuid).is_some() {
        return Err(Failure::new(ErrorCode::SrUuidExists, [uuid]));
    }
    Ok(s(db.create(
        "SR",
        record([
            ("uuid", s(uuid)),
            ("name_label", args[1].clone()),
            ("name_description", args[2].clone()),
            ("type", s(text(&args[3]).to_ascii_lowercase())),
            ("content_type", args[4].clone()),
            ("shared", args[5].clone()),
            ("sm_config", args[6].clone()),
            ("physical_size", Value::Int(-1)),
            ("physical_utilisation", Value::Int(-1)),
        ]),
    )))
}

fn forget(ctx: &mut Ctx<'_>, args: Vec<Value>, destroy: bool) -> Outcome {
    let sr = ctx.existing("SR", &args[0])?;
    let db = ctx.db();
    let attached = db.find("PBD", |r| {
        r.get("SR").and_then(Value::as_str) == Some(&sr)
            && r.get("currently_attached") == Some(&Value::Bool(true))
    });
    if !attached.is_empty() {
        return Err(Failure::new(ErrorCode::SrHasPbd, [sr]));
    }
    if destroy {
        let indestructible = matches!(db.get_field("SR", &sr, "other_config"), Some(Value::Struct(m)) if m.get("indestructible").and_then(Value::as_str) == Some("true"));
        if indestructible {
            return Err(Failure::new(ErrorCode::SrIndestructible, [sr]));
        }
    }
    forget_records(db, &sr);
    void()
}

fn pbd_create(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let Value::Struct(members) = args.into_iter().next().unwrap_or(Value::Nil) else {
        return Err(Failure::internal("bad __structure"));
    };
    let host = ctx.existing("host", members.get("host").unwrap_or(&Value::Nil))?;
    let sr = ctx.existing("SR", members.get("SR").unwrap_or(&Value::Nil))?;
    let config = members
        .get("device_config")
        .cloned()
        .unwrap_or(Value::Struct(IndexMap::new()));
    if let Value::Struct(m) = &config
        && let Some(v) = m.get("SRmaster")
    {
        return Err(Failure::new(
            ErrorCode::ValueNotSupported,
            [
                "SRmaster".to_string(),
                text(v),
                "This key is for internal use only".to_string(),
            ],
        ));
    }
    let db = ctx.db();
    if let Some(existing) = db
        .find("PBD", |r| {
            r.get("host").and_then(Value::as_str) == Some(&host)
                && r.get("SR").and_then(Value::as_str) == Some(&sr)
        })
        .first()
    {
        return Err(Failure::new(
            ErrorCode::PbdExists,
            [sr, host, existing.clone()],
        ));
    }
    let other = members
        .get("other_config")
        .cloned()
        .unwrap_or(Value::Struct(IndexMap::new()));
    Ok(s(db.create(
        "PBD",
        record([
            ("host", s(host)),
            ("SR", s(sr)),
            ("device_config", config),
            ("other_config", other),
        ]),
    )))
}

fn pbd_destroy(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let pbd = ctx.existing("PBD", &args[0])?;
    let db = ctx.db();
    if flag(
        db.get_field("PBD", &pbd, "currently_attached")
            .unwrap_or(&Value::Nil),
    ) {
        return Err(Failure::not_allowed("PBD is currently attached"));
    }
    db.delete("PBD", &pbd);
    void()
}

fn plug(ctx: &mut Ctx<'_>, args: Vec<Value>, attach: bool) -> Outcome {
    let pbd = ctx.existing("PBD", &args[0])?;
    let db = ctx.db();
    let sr = db.str_field("PBD", &pbd, "SR");
    let host = db.str_field("PBD", &pbd, "host");
    if attach {
        let shared = flag(db.get_field("SR", &sr, "shared").unwrap_or(&Value::Nil));
        if !shared {
            let elsewhere = db.find("PBD", |r| {
                r.get("SR").and_then(Value::as_str) == Some(&sr)
                    && r.get("host").and_then(Value::as_str) != Some(&host)
                    && r.get("currently_attached") == Some(&Value::Bool(true))
            });
            if let Some(other) = elsewhere.first() {
                return Err(Failure::new(
                    ErrorCode::SrNotSharable,
                    [sr.clone(), db.str_field("PBD", other, "host")],
                ));
            }
        }
        let config: Vec<(String, String)> = string_map(
            db.get_field("PBD", &pbd, "device_config")
                .unwrap_or(&Value::Nil),
        );
        let kind = db.str_field("SR", &sr, "type");
        check_device_config(&kind, &config)?;
    } else {
        let pool = crate::world::World::pool_ref(db);
        let ha_statefile_here = matches!(
            db.get_field("pool", &pool, "ha_enabled"),
            Some(Value::Bool(true))
        ) && !db
            .find("VDI", |r| {
                r.get("SR").and_then(Value::as_str) == Some(&sr)
                    && r.get("type").and_then(Value::as_str) == Some("ha_statefile")
            })
            .is_empty();
        if ha_statefile_here {
            return Err(Failure::code(ErrorCode::HaIsEnabled));
        }
        let in_use: Vec<String> = db
            .find("VBD", |r| {
                r.get("currently_attached") == Some(&Value::Bool(true))
            })
            .into_iter()
            .filter_map(|vbd| {
                let vm = db.str_field("VBD", &vbd, "VM");
                let vdi = db.str_field("VBD", &vbd, "VDI");
                (db.str_field("VM", &vm, "resident_on") == host
                    && db.str_field("VDI", &vdi, "SR") == sr)
                    .then_some(vdi)
            })
            .collect();
        if !in_use.is_empty() {
            return Err(Failure::new(ErrorCode::VdiInUse, in_use));
        }
    }
    db.update("PBD", &pbd, |r| {
        r.insert("currently_attached".into(), Value::Bool(attach));
    });
    void()
}
