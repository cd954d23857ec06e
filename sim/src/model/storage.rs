//! Storage records that go away together.

use xenpool::wire::Value;

use crate::db::Db;

/// Removes an SR's records (its PBDs and VDIs too).
pub fn forget_records(db: &mut Db, sr: &str) {
    for pbd in db.find("PBD", |r| r.get("SR").and_then(Value::as_str) == Some(sr)) {
        db.delete("PBD", &pbd);
    }
    for vdi in db.find("VDI", |r| r.get("SR").and_then(Value::as_str) == Some(sr)) {
        db.delete("VDI", &vdi);
    }
    db.delete("SR", sr);
}
