//! Sessions: per-pool root password, xapi's 5 s delay on a wrong password, logins on a
//! member redirected with `HOST_IS_SLAVE`, emergency local logins, and xapi's session caps
//! (docs/wire-protocol.md#sessions).

use std::sync::Arc;

use futures::FutureExt;
use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::call::{Ctx, Handler, Registry};
use crate::failure::{Failure, Outcome};
use crate::sim::{Caller, Sim};
use crate::values::{s, text, void};
use crate::world::record;

/// Registers the session messages.
pub fn register(r: &mut Registry) {
    r.insert(
        "session.login_with_password",
        Handler::Async(|sim, caller, args| login(sim, caller, args, false).boxed()),
    );
    r.insert(
        "session.slave_local_login_with_password",
        Handler::Async(|sim, caller, args| login(sim, caller, args, true).boxed()),
    );
    r.insert("session.logout", Handler::Sync(logout));
    r.insert("session.local_logout", Handler::Sync(local_logout));
    r.insert("session.change_password", Handler::Sync(change_password));
}

async fn login(sim: Sim, caller: Arc<Caller>, args: Vec<Value>, local: bool) -> Outcome {
    let user = text(&args[0]);
    let password = text(&args[1]);
    let originator = args.get(3).map(text).unwrap_or_default();
    let delay = {
        let world = sim.world();
        let host = &world.hosts[caller.host];
        if !local && let Some(master) = &host.master_address {
            return Err(Failure::new(ErrorCode::HostIsSlave, [master.clone()]));
        }
        if user == "root" && password == world.pool(caller.host).root_password {
            None
        } else {
            Some(world.config.auth_failure_delay)
        }
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
        // The datamodel declares no parameters; xapi sends the user name and a message.
        return Err(Failure::new(
            ErrorCode::SessionAuthenticationFailed,
            [user, "Authentication failure".into()],
        ));
    }
    let mut world = sim.world();
    if local {
        let session = crate::db::new_ref();
        world.hosts[caller.host]
            .local_sessions
            .insert(session.clone());
        return Ok(s(session));
    }
    let host_ref = world.hosts[caller.host].host_ref.clone();
    let (per_originator, per_user, other) = (
        world.config.max_sessions_per_originator,
        world.config.max_sessions_per_user,
        world.config.max_sessions_other,
    );
    let db = world.db(caller.host);
    // Past a cap, the oldest sessions of the same bucket are invalidated.
    let (field, value, cap) = if !originator.is_empty() {
        ("originator", originator.clone(), per_originator)
    } else if user != "root" {
        ("auth_user_name", user.clone(), per_user)
    } else {
        ("originator", String::new(), other)
    };
    let bucket = db.find("session", |r| {
        r.get(field).and_then(Value::as_str) == Some(value.as_str())
    });
    if bucket.len() >= cap {
        for old in &bucket[..=bucket.len() - cap] {
            db.delete("session", old);
        }
    }
    let now = xenpool::DateTime::now().to_wire();
    let session = db.create(
        "session",
        record([
            ("this_host", s(host_ref)),
            ("last_active", Value::DateTime(now.clone())),
            ("validation_time", Value::DateTime(now)),
            ("pool", Value::Bool(false)),
            ("is_local_superuser", Value::Bool(user == "root")),
            ("auth_user_name", s(user)),
            ("originator", s(originator)),
        ]),
    );
    Ok(s(session))
}

fn logout(ctx: &mut Ctx<'_>, _args: Vec<Value>) -> Outcome {
    if let Some(session) = ctx.caller.session.clone() {
        ctx.db().delete("session", &session);
    }
    void()
}

fn local_logout(ctx: &mut Ctx<'_>, _args: Vec<Value>) -> Outcome {
    if let Some(session) = &ctx.caller.session {
        ctx.world.hosts[ctx.caller.host]
            .local_sessions
            .remove(session);
    }
    void()
}

fn change_password(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let (old, new) = (text(&args[0]), text(&args[1]));
    let pool = ctx.world.pool_mut(ctx.caller.host);
    if pool.root_password != old {
        return Err(Failure::new(
            ErrorCode::SessionAuthenticationFailed,
            ["root", "Authentication failure"],
        ));
    }
    pool.root_password = new;
    void()
}
