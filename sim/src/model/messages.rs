//! Alerts (`message` objects) as xapi's own code raises them.

use xenpool::wire::Value;

use crate::db::{Db, MESSAGE};
use crate::values::s;
use crate::world::record;

/// Creates an alert, as xapi's own code does (`Xapi_alert.add`).
pub fn add(
    db: &mut Db,
    name: &str,
    priority: i64,
    class: &str,
    obj_uuid: &str,
    body: &str,
) -> String {
    db.create(
        MESSAGE,
        record([
            ("name", s(name)),
            ("priority", Value::Int(priority)),
            ("cls", s(class)),
            ("obj_uuid", s(obj_uuid)),
            (
                "timestamp",
                Value::DateTime(xenpool::DateTime::now().to_wire()),
            ),
            ("body", s(body)),
        ]),
    )
}
