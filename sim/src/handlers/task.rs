//! Tasks: `task.create` for clients that track their own work, `task.cancel` (pending
//! tasks go to `cancelling`; long operations notice and stop), `task.destroy`.

use xenpool::ErrorCode;
use xenpool::wire::Value;

use crate::call::{Ctx, Handler, Registry};
use crate::failure::{Failure, Outcome};
use crate::values::{s, text, void};
use crate::world::record;

/// Registers the task messages.
pub fn register(r: &mut Registry) {
    r.insert("task.create", Handler::Sync(create));
    r.insert("task.destroy", Handler::Sync(destroy));
    r.insert("task.cancel", Handler::Sync(cancel));
}

fn create(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let host = ctx.host_ref();
    let now = xenpool::DateTime::now().to_wire();
    Ok(s(ctx.db().create(
        "task",
        record([
            ("name_label", args[0].clone()),
            ("name_description", args[1].clone()),
            ("status", s("pending")),
            ("created", Value::DateTime(now)),
            ("resident_on", s(host)),
            ("type", s("<none/>")),
        ]),
    )))
}

fn destroy(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let task = ctx.existing("task", &args[0])?;
    ctx.db().delete("task", &task);
    void()
}

fn cancel(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let task = ctx.existing("task", &args[0])?;
    let status = ctx.db().str_field("task", &task, "status");
    let cancellable = matches!(ctx.db().get_field("task", &task, "allowed_operations"), Some(Value::Array(a)) if a.iter().any(|v| v.as_str() == Some("cancel")));
    if status != "pending" || !cancellable {
        return Err(Failure::new(
            ErrorCode::OperationNotAllowed,
            [format!("task {} is {status}", text(&args[0]))],
        ));
    }
    ctx.db().update("task", &task, |r| {
        r.insert("status".into(), s("cancelling"));
    });
    void()
}
