//! Static description of the XenAPI (classes, fields, messages, enums, error codes) for
//! dynamic dispatch: the simulator's generic object store and the language bindings.
//!
//! The tables themselves are generated (`crate::generated::metadata`); this module holds
//! their types and the lookups. Type names render back to the datamodel spelling, so
//! `Ty::Map(&Ty::String, &Ty::String).to_string() == "(string -> string) map"`.

use std::fmt;

use crate::wire::Value;

/// A datamodel type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `string`
    String,
    /// `int` (int64)
    Int,
    /// `float` (double)
    Float,
    /// `bool`
    Bool,
    /// `datetime`
    DateTime,
    /// `enum <name>`
    Enum(&'static str),
    /// `<class> ref`
    Ref(&'static str),
    /// `<ty> set`
    Set(&'static Ty),
    /// `(<key> -> <value>) map`
    Map(&'static Ty, &'static Ty),
    /// `<class> record`
    Record(&'static str),
    /// `<ty> option` (record fields only: absent member = `None`)
    Option(&'static Ty),
    /// Anything the generator does not model (e.g. `an event batch`), kept verbatim;
    /// the typed API uses [`Value`] for it.
    Opaque(&'static str),
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::String => f.write_str("string"),
            Ty::Int => f.write_str("int"),
            Ty::Float => f.write_str("float"),
            Ty::Bool => f.write_str("bool"),
            Ty::DateTime => f.write_str("datetime"),
            Ty::Enum(name) => write!(f, "enum {name}"),
            Ty::Ref(class) => write!(f, "{class} ref"),
            Ty::Set(t) => write!(f, "{t} set"),
            Ty::Map(k, v) => write!(f, "({k} -> {v}) map"),
            Ty::Record(class) => write!(f, "{class} record"),
            Ty::Option(t) => write!(f, "{t} option"),
            Ty::Opaque(text) => f.write_str(text),
        }
    }
}

/// Who may change a field (datamodel.json `qualifier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qualifier {
    /// `RW`: settable by clients, a constructor argument.
    Rw,
    /// `RO/constructor` (OCaml `StaticRO`): set only through the constructor.
    StaticRo,
    /// `RO/runtime` (OCaml `DynamicRO`): maintained by the server.
    DynamicRo,
}

impl Qualifier {
    /// The datamodel.json spelling (`RW`, `RO/constructor`, `RO/runtime`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Qualifier::Rw => "RW",
            Qualifier::StaticRo => "RO/constructor",
            Qualifier::DynamicRo => "RO/runtime",
        }
    }
}

/// Lifecycle state of a class, field or message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    /// `Published_s`
    Published,
    /// `Prototyped_s`
    Prototyped,
    /// `Deprecated_s`
    Deprecated,
    /// `Removed_s`: hosts answer `MESSAGE_REMOVED`; older hosts may still send the field.
    Removed,
}

/// One class of the API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassMeta {
    /// Wire name (`VM`, `host`, `PIF`).
    pub name: &'static str,
    /// Name of the generated marker type (`Vm`, `Host`, `Pif`).
    pub rust_name: &'static str,
    /// Lifecycle state of the class.
    pub lifecycle: Lifecycle,
    /// Every field, in datamodel order.
    pub fields: &'static [FieldMeta],
    /// Every message (explicit, implicit and the hidden `get_all_*_where`), in datamodel order.
    pub messages: &'static [MessageMeta],
}

impl ClassMeta {
    /// The field with wire name `name`.
    pub fn field(&self, name: &str) -> Option<&'static FieldMeta> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The message with wire name `name` (without the class prefix).
    pub fn message(&self, name: &str) -> Option<&'static MessageMeta> {
        self.messages.iter().find(|m| m.name == name)
    }
}

/// One field of a class (one member of its record).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldMeta {
    /// Wire name, the record member name (`name_label`, `VCPUs_max`).
    pub name: &'static str,
    /// Type.
    pub ty: Ty,
    /// Who may change it.
    pub qualifier: Qualifier,
    /// Datamodel default in upstream rendering (see datamodel.json `conventions`), if any.
    pub default: Option<&'static str>,
    /// Lifecycle state.
    pub lifecycle: Lifecycle,
}

/// One parameter of a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamMeta {
    /// Wire name.
    pub name: &'static str,
    /// Type.
    pub ty: Ty,
    /// False for an optional trailing parameter: xapi fills its default when the caller
    /// leaves it out, and hosts older than the parameter refuse it
    /// (`MESSAGE_PARAMETER_COUNT_MISMATCH`).
    pub required: bool,
}

/// One message of a class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessageMeta {
    /// Wire name without the class (`start`); the method is `<class>.<name>`.
    pub name: &'static str,
    /// Parameters after `session_id`; the optional ones (if any) come last.
    pub params: &'static [ParamMeta],
    /// Result type; `None` for `void`.
    pub result: Option<Ty>,
    /// True if `Async.<class>.<name>` exists.
    pub is_async: bool,
    /// True if the first wire parameter is `session_id`.
    pub session: bool,
    /// True for messages generated from fields and class flags (getters, setters, ...).
    pub implicit: bool,
    /// True for messages served but absent from xenapi.json (`get_all_records_where`,
    /// `get_all_where`).
    pub hidden: bool,
    /// Error codes declared for the message (servers may raise others).
    pub errors: &'static [&'static str],
    /// Lifecycle state.
    pub lifecycle: Lifecycle,
    /// The release (code name such as `rio`, or a version such as `25.31.0`) of the last
    /// `changed` or `extended` transition: how the datamodel records parameters added to
    /// an existing message. Hosts older than it refuse the newer optional parameters.
    pub last_changed: Option<&'static str>,
}

impl MessageMeta {
    /// The parameters a caller must always send (those before the optional tail).
    pub fn required_params(&self) -> &'static [ParamMeta] {
        let n = self.params.iter().take_while(|p| p.required).count();
        &self.params[..n]
    }
}

/// One enumeration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumMeta {
    /// Datamodel name (`vm_power_state`).
    pub name: &'static str,
    /// Generated type name (`VmPowerState`).
    pub rust_name: &'static str,
    /// Wire values in datamodel order.
    pub values: &'static [&'static str],
}

impl EnumMeta {
    /// The value spelled like `text` ignoring ASCII case, in its datamodel spelling (xapi
    /// matches enum values that way, docs/wire-protocol.md#types).
    pub fn canonical(&self, text: &str) -> Option<&'static str> {
        self.values
            .iter()
            .find(|v| v.eq_ignore_ascii_case(text))
            .copied()
    }
}

/// One error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorMeta {
    /// Wire code (`HOST_IS_SLAVE`).
    pub code: &'static str,
    /// Declared parameter names, in wire order (empty when undeclared).
    pub params: &'static [&'static str],
    /// False when errors.json has no parameter declaration for the code (`null`).
    pub declared: bool,
}

/// A complete set of tables (the crate's own is [`api`]; test fixtures build their own).
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// Classes in datamodel order.
    pub classes: &'static [ClassMeta],
    /// Enumerations sorted by name.
    pub enums: &'static [EnumMeta],
    /// Error codes sorted by code.
    pub errors: &'static [ErrorMeta],
}

impl Api {
    /// The class with exact wire name `name`.
    pub fn class(&self, name: &str) -> Option<&'static ClassMeta> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The class whose wire name equals `name` ignoring ASCII case (`event.from` reports
    /// class names lower-cased, e.g. `vm`).
    pub fn class_ignore_case(&self, name: &str) -> Option<&'static ClassMeta> {
        self.class(name).or_else(|| {
            self.classes
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
        })
    }

    /// The message `class.message` (exact wire spelling).
    pub fn message(&self, class: &str, message: &str) -> Option<&'static MessageMeta> {
        self.class(class)?.message(message)
    }

    /// Resolves a wire method name (`VM.start`, `Async.VM.start`) to its class and message;
    /// the flag is true for the `Async.` form (only when the message has one).
    pub fn method(&self, wire: &str) -> Option<(&'static ClassMeta, &'static MessageMeta, bool)> {
        let (is_async, rest) = match wire.strip_prefix("Async.") {
            Some(rest) => (true, rest),
            None => (false, wire),
        };
        let (class, message) = rest.split_once('.')?;
        let class = self.class(class)?;
        let message = class.message(message)?;
        (!is_async || message.is_async).then_some((class, message, is_async))
    }

    /// The enumeration named `name` (`vm_power_state`).
    pub fn enumeration(&self, name: &str) -> Option<&'static EnumMeta> {
        self.enums
            .binary_search_by(|e| e.name.cmp(name))
            .ok()
            .map(|i| &self.enums[i])
    }

    /// The error code `code` (`HOST_IS_SLAVE`).
    pub fn error(&self, code: &str) -> Option<&'static ErrorMeta> {
        self.errors
            .binary_search_by(|e| e.code.cmp(code))
            .ok()
            .map(|i| &self.errors[i])
    }
}

/// The tables of this crate's API.
pub fn api() -> &'static Api {
    &crate::generated::metadata::API
}

/// Every class, in datamodel order.
pub fn classes() -> &'static [ClassMeta] {
    api().classes
}

/// The class with exact wire name `name`.
pub fn class(name: &str) -> Option<&'static ClassMeta> {
    api().class(name)
}

/// The class whose wire name equals `name` ignoring ASCII case.
pub fn class_ignore_case(name: &str) -> Option<&'static ClassMeta> {
    api().class_ignore_case(name)
}

/// The message `class.message`.
pub fn message(class: &str, message: &str) -> Option<&'static MessageMeta> {
    api().message(class, message)
}

/// Resolves a wire method name (`VM.start`, `Async.VM.start`); see [`Api::method`].
pub fn method(wire: &str) -> Option<(&'static ClassMeta, &'static MessageMeta, bool)> {
    api().method(wire)
}

/// The enumeration named `name`.
pub fn enumeration(name: &str) -> Option<&'static EnumMeta> {
    api().enumeration(name)
}

/// The error code `code`.
pub fn error(code: &str) -> Option<&'static ErrorMeta> {
    api().error(code)
}

/// xapi's "unset" datetime, the epoch.
pub const EPOCH: &str = "19700101T00:00:00Z";

impl Ty {
    /// The empty value of the type on the wire: `""`, `0`, `false`, the epoch, the null
    /// reference, an enum's first value, an empty set or map.
    pub fn zero_value(&self) -> Value {
        match self {
            Ty::String | Ty::Opaque(_) => Value::String(String::new()),
            Ty::Int => Value::Int(0),
            Ty::Float => Value::Double(0.0),
            Ty::Bool => Value::Bool(false),
            Ty::DateTime => Value::DateTime(EPOCH.into()),
            Ty::Enum(name) => Value::String(
                enumeration(name)
                    .and_then(|e| e.values.first())
                    .copied()
                    .unwrap_or_default()
                    .into(),
            ),
            Ty::Ref(_) => Value::String(NULL_REF.into()),
            Ty::Set(_) => Value::Array(Vec::new()),
            Ty::Map(..) | Ty::Record(_) => Value::Struct(Default::default()),
            Ty::Option(inner) => inner.zero_value(),
        }
    }

    /// A datamodel default in upstream rendering (datamodel.json `conventions`) as a wire
    /// value: strings lose their quotes (`"\"0:0\""` is `0:0`), `Null` is the null
    /// reference, sets and maps are `{a, b}` and `{"k" -> "v"}`. `None` if it does not parse.
    pub fn parse_default(&self, text: &str) -> Option<Value> {
        let t = text.trim();
        Some(match self {
            Ty::String => Value::String(unquote(t)?.to_string()),
            Ty::Int => Value::Int(t.parse().ok()?),
            Ty::Float => Value::Double(crate::wire::parse_float(t)?),
            Ty::Bool => Value::Bool(t.parse().ok()?),
            Ty::DateTime => Value::DateTime(unquote(t).unwrap_or(t).to_string()),
            Ty::Enum(name) => {
                let wanted = unquote(t).unwrap_or(t);
                Value::String(enumeration(name)?.canonical(wanted)?.to_string())
            }
            Ty::Ref(_) if t == "Null" || t == NULL_REF => Value::String(NULL_REF.into()),
            Ty::Ref(_) => Value::String(t.to_string()),
            Ty::Set(inner) => Value::Array(
                braces(t)?
                    .map(|item| inner.parse_default(item))
                    .collect::<Option<_>>()?,
            ),
            Ty::Map(k, v) => Value::Struct(
                braces(t)?
                    .map(|pair| {
                        let (key, value) = pair.split_once("->")?;
                        let key = match k.parse_default(key)? {
                            Value::String(s) | Value::DateTime(s) => s,
                            Value::Int(i) => i.to_string(),
                            other => format!("{other:?}"),
                        };
                        Some((key, v.parse_default(value)?))
                    })
                    .collect::<Option<_>>()?,
            ),
            Ty::Option(inner) => inner.parse_default(t)?,
            Ty::Record(_) | Ty::Opaque(_) => return None,
        })
    }
}

/// The null reference.
const NULL_REF: &str = "OpaqueRef:NULL";

fn unquote(t: &str) -> Option<&str> {
    t.strip_prefix('"')?.strip_suffix('"')
}

/// The comma-separated items of `{…}` (none for `{}`).
fn braces(t: &str) -> Option<impl Iterator<Item = &str>> {
    let inner = t.strip_prefix('{')?.strip_suffix('}')?.trim();
    Some(
        inner
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty()),
    )
}

impl FieldMeta {
    /// The value the field takes when a constructor is not given it: the datamodel's
    /// default, else the type's zero value; `None` for option fields (left absent).
    pub fn default_value(&self) -> Option<Value> {
        if let Ty::Option(_) = self.ty {
            return None;
        }
        Some(
            self.default
                .and_then(|d| self.ty.parse_default(d))
                .unwrap_or_else(|| self.ty.zero_value()),
        )
    }
}
