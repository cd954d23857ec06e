//! A dynamically typed XenAPI value, for servers and dynamic dispatch.

use indexmap::IndexMap;

/// Any value that can travel in XML-RPC or JSON-RPC.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (also how xapi sends int64 over XML-RPC, untagged).
    String(String),
    /// A 64-bit integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A double, possibly NaN or infinite.
    Double(f64),
    /// A datetime as its wire text (`YYYYMMDDTHH:MM:SSZ`).
    DateTime(String),
    /// An array (XenAPI sets).
    Array(Vec<Value>),
    /// A struct (XenAPI maps and records), in wire order.
    Struct(IndexMap<String, Value>),
    /// XML-RPC `<nil/>` / JSON `null`: no XenAPI type accepts it.
    Nil,
}
