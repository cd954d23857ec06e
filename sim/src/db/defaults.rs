//! Field values for objects created without them: `FieldMeta::default_value` (the
//! datamodel default where it has one, else the type's zero).

use xenpool::meta::{FieldMeta, Ty};
use xenpool::wire::Value;

pub use xenpool::meta::EPOCH;

/// The value a field takes when nobody set it.
pub fn default_for(field: &FieldMeta) -> Option<Value> {
    field.default_value()
}

/// The zero value of a type.
pub fn zero(ty: &Ty) -> Value {
    ty.zero_value()
}
