//! Results as the JS layer parses them: JSON text plus "fixups", the paths of values JSON
//! cannot carry (int64 beyond 2^53, datetimes, NaN and the infinities). [`Writer`] writes a
//! [`Dyn`]; typed records are written through their `serde::Serialize` (the `Serializer`
//! below), so a large table is written without copying each field into a `Dyn` first.

use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeMap, SerializeSeq, SerializeStruct};
use xenpool::DateTime;
use xenpool::dynamic::Dyn;
use xenpool::types::DATETIME_NEWTYPE;

/// Largest integer a JS number holds exactly (2^53 - 1).
const MAX_SAFE: i64 = 9_007_199_254_740_991;

/// One slice: its JSON text and its fixups (a JSON array of `[path, kind, text]`: `b`
/// BigInt, `d` Date, `f` number; `[]` when none).
pub type Slice = (String, String);

/// Writes one slice and its fixups.
#[derive(Default)]
pub struct Writer {
    pub text: String,
    fixups: String,
    pub path: Vec<PathSeg>,
    /// The value just written was an absent option (a record leaves such fields out).
    wrote_none: bool,
    /// Records are written as arrays of their field values, in datamodel order (a table
    /// of one class, rebuilt in JS from its layout: no field names to parse per record).
    pub positional: bool,
    /// The value being written is a positional record's field. A datetime there goes
    /// inline as RFC 3339 text, since the layout marks the field and JS makes the `Date`:
    /// no fixup per record for the one datetime most classes carry.
    record_field: bool,
}

pub enum PathSeg {
    Index(usize),
    Key(String),
    /// A record's field: its name is static, so no allocation per field written.
    Field(&'static str),
}

impl Writer {
    pub fn new(positional: bool) -> Self {
        Writer {
            positional,
            ..Writer::default()
        }
    }

    fn fixup(&mut self, kind: char, text: &str) {
        self.fixups
            .push(if self.fixups.is_empty() { '[' } else { ',' });
        self.fixups.push_str("[[");
        for (i, seg) in self.path.iter().enumerate() {
            if i > 0 {
                self.fixups.push(',');
            }
            match seg {
                PathSeg::Index(n) => {
                    let _ = write!(self.fixups, "{n}");
                }
                PathSeg::Key(k) => push_json_str(&mut self.fixups, k),
                PathSeg::Field(k) => push_json_str(&mut self.fixups, k),
            }
        }
        let _ = write!(self.fixups, "],\"{kind}\",");
        push_json_str(&mut self.fixups, text);
        self.fixups.push(']');
    }

    fn int(&mut self, i: i64) {
        if (-MAX_SAFE..=MAX_SAFE).contains(&i) {
            let _ = write!(self.text, "{i}");
        } else {
            self.text.push_str("null");
            self.fixup('b', &i.to_string());
        }
    }

    fn float(&mut self, f: f64) {
        match serde_json::Number::from_f64(f) {
            Some(n) => {
                let _ = write!(self.text, "{n}");
            }
            None => {
                self.text.push_str("null");
                self.fixup('f', &f.to_string().replace("inf", "Infinity"));
            }
        }
    }

    /// A datetime as a fixup: `DateTime` displays as RFC 3339, which JS's `Date` reads.
    fn date(&mut self, d: &DateTime) {
        self.text.push_str("null");
        self.fixup('d', &d.to_string());
    }

    pub fn value(&mut self, v: &Dyn) {
        match v {
            Dyn::Null => self.text.push_str("null"),
            Dyn::Bool(b) => self.text.push_str(if *b { "true" } else { "false" }),
            Dyn::Int(i) => self.int(*i),
            Dyn::Float(f) => self.float(*f),
            Dyn::String(s) => push_json_str(&mut self.text, s),
            Dyn::Enum(e) => push_json_str(&mut self.text, &e.value),
            Dyn::Ref(r) => push_json_str(&mut self.text, &r.reference),
            Dyn::DateTime(d) => self.date(d),
            Dyn::Array(items) => {
                self.text.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.text.push(',');
                    }
                    self.path.push(PathSeg::Index(i));
                    self.value(item);
                    self.path.pop();
                }
                self.text.push(']');
            }
            Dyn::Map(pairs) => {
                self.text.push('{');
                for (i, (k, item)) in pairs.iter().enumerate() {
                    if i > 0 {
                        self.text.push(',');
                    }
                    let key = key_text(k);
                    push_json_str(&mut self.text, &key);
                    self.text.push(':');
                    self.path.push(PathSeg::Key(key));
                    self.value(item);
                    self.path.pop();
                }
                self.text.push('}');
            }
            Dyn::Record(r) => {
                let mark = self.text.len();
                if r.serialize(&mut *self).is_err() {
                    // Not reached for generated records; kept so a record never goes
                    // missing: its fields one by one.
                    self.text.truncate(mark);
                    self.value(&Dyn::Map(
                        r.fields()
                            .into_iter()
                            .map(|(k, v)| (Dyn::String(k.into()), v))
                            .collect(),
                    ));
                }
                self.wrote_none = false;
            }
        }
    }

    pub fn finish(self) -> Slice {
        let fixups = if self.fixups.is_empty() {
            "[]".to_string()
        } else {
            self.fixups + "]"
        };
        (self.text, fixups)
    }
}

/// A map key as a JS property name.
pub fn key_text(k: &Dyn) -> String {
    match k {
        Dyn::String(s) => s.clone(),
        Dyn::Enum(e) => e.value.clone(),
        Dyn::Ref(r) => r.reference.clone(),
        Dyn::Int(i) => i.to_string(),
        Dyn::Bool(b) => b.to_string(),
        Dyn::Float(f) => f.to_string(),
        Dyn::DateTime(d) => d.to_wire(),
        other => format!("{other:?}"),
    }
}

pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A shape a XenAPI record never has (bytes, enum variants with data).
#[derive(Debug)]
pub struct Unsupported(String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Unsupported(msg.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, Unsupported> {
    Err(Unsupported(format!("a record holds {what}")))
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.text.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.int(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.serialize_i64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        match i64::try_from(v) {
            Ok(i) => self.int(i),
            Err(_) => {
                self.text.push_str("null");
                self.fixup('b', &v.to_string());
            }
        }
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        self.float(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        push_json_str(&mut self.text, v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        unsupported("bytes")
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.text.push_str("null");
        self.wrote_none = true;
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.text.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        if name != DATETIME_NEWTYPE {
            return value.serialize(self);
        }
        let wire = value.serialize(Text)?;
        match DateTime::parse(&wire) {
            Some(d) if std::mem::take(&mut self.record_field) => {
                push_json_str(&mut self.text, &d.to_string());
            }
            Some(d) => self.date(&d),
            // Not a date xapi writes: kept as its text (JS leaves a text it cannot
            // read as a date a string, inline or not).
            None => push_json_str(&mut self.text, &wire),
        }
        Ok(())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        unsupported("an enum variant with data")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        self.record_field = false;
        self.text.push('[');
        Ok(Compound { w: self, n: 0 })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        unsupported("an enum variant with data")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        self.record_field = false;
        self.text.push('{');
        Ok(Compound { w: self, n: 0 })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Unsupported> {
        self.record_field = false;
        self.text.push(if self.positional { '[' } else { '{' });
        Ok(Compound { w: self, n: 0 })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        unsupported("an enum variant with data")
    }
}

/// An array, map or record being written; `n` counts the members written so far.
pub struct Compound<'a> {
    w: &'a mut Writer,
    n: usize,
}

impl Compound<'_> {
    fn separate(&mut self) {
        if self.n > 0 {
            self.w.text.push(',');
        }
    }

    fn close(self, bracket: char) -> Result<(), Unsupported> {
        self.w.text.push(bracket);
        self.w.wrote_none = false;
        Ok(())
    }
}

impl SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.separate();
        self.w.path.push(PathSeg::Index(self.n));
        value.serialize(&mut *self.w)?;
        self.w.path.pop();
        self.n += 1;
        Ok(())
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close(']')
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close(']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close(']')
    }
}

impl SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Unsupported> {
        let key = key.serialize(Text)?;
        self.separate();
        push_json_str(&mut self.w.text, &key);
        self.w.text.push(':');
        self.w.path.push(PathSeg::Key(key));
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut *self.w)?;
        self.w.path.pop();
        self.n += 1;
        Ok(())
    }
    fn end(self) -> Result<(), Unsupported> {
        self.close('}')
    }
}

impl SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    /// An absent option field is left out, as `Record::fields` leaves it out (positional:
    /// written as `null`, its place kept).
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        if self.w.positional {
            self.w.record_field = true;
            let written = SerializeSeq::serialize_element(self, value);
            self.w.record_field = false;
            return written;
        }
        let mark = self.w.text.len();
        self.separate();
        push_json_str(&mut self.w.text, name);
        self.w.text.push(':');
        self.w.path.push(PathSeg::Field(name));
        self.w.wrote_none = false;
        value.serialize(&mut *self.w)?;
        self.w.path.pop();
        if std::mem::take(&mut self.w.wrote_none) {
            self.w.text.truncate(mark);
        } else {
            self.n += 1;
        }
        Ok(())
    }
    /// A field the record skips (an absent option): positional keeps its place.
    fn skip_field(&mut self, _: &'static str) -> Result<(), Unsupported> {
        if self.w.positional {
            SerializeSeq::serialize_element(self, &())?;
        }
        Ok(())
    }
    fn end(self) -> Result<(), Unsupported> {
        let bracket = if self.w.positional { ']' } else { '}' };
        self.close(bracket)
    }
}

/// A map key or a datetime's wire text as a string (JS property names are strings).
struct Text;

impl ser::Serializer for Text {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = Impossible<String, Unsupported>;
    type SerializeTuple = Impossible<String, Unsupported>;
    type SerializeTupleStruct = Impossible<String, Unsupported>;
    type SerializeTupleVariant = Impossible<String, Unsupported>;
    type SerializeMap = Impossible<String, Unsupported>;
    type SerializeStruct = Impossible<String, Unsupported>;
    type SerializeStructVariant = Impossible<String, Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_f64(self, v: f64) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Unsupported> {
        Ok(v.to_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Unsupported> {
        unsupported("bytes as a key")
    }
    fn serialize_none(self) -> Result<String, Unsupported> {
        unsupported("a missing key")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<String, Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, Unsupported> {
        unsupported("a missing key")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Unsupported> {
        unsupported("a missing key")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, Unsupported> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Unsupported> {
        unsupported("an enum variant with data as a key")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        unsupported("an array as a key")
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        unsupported("an array as a key")
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        unsupported("an array as a key")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        unsupported("an array as a key")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        unsupported("a map as a key")
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        unsupported("a record as a key")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        unsupported("a record as a key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xenpool::dynamic::Record;
    use xenpool::generated::{VmPowerState, VmRecord};

    fn written(v: &Dyn) -> Slice {
        let mut w = Writer::default();
        w.value(v);
        w.finish()
    }

    #[test]
    fn a_record_is_written_as_its_fields_are() {
        let vm = VmRecord {
            name_label: "web \"1\"".into(),
            power_state: VmPowerState::Running,
            memory_static_max: i64::MAX,
            snapshot_time: DateTime::parse("20240102T03:04:05Z").unwrap(),
            other_config: [("k".to_string(), "v".to_string())].into(),
            ..Default::default()
        };
        let record = Record::new(vm);
        // The record through serde, and the same record field by field as a Dyn map:
        // the same JSON and the same fixups.
        let fast = written(&Dyn::Record(record.clone()));
        let by_field = written(&Dyn::Map(
            record
                .fields()
                .into_iter()
                .map(|(k, v)| (Dyn::String(k.into()), v))
                .collect(),
        ));
        assert_eq!(fast, by_field);
        let json: serde_json::Value = serde_json::from_str(&fast.0).unwrap();
        assert_eq!(json["name_label"], "web \"1\"");
        assert_eq!(json["power_state"], "Running");
        assert_eq!(json["other_config"]["k"], "v");
        assert!(
            fast.1
                .contains(r#"[["memory_static_max"],"b","9223372036854775807"]"#)
        );
        assert!(
            fast.1
                .contains(r#"[["snapshot_time"],"d","2024-01-02T03:04:05Z"]"#)
        );
    }

    #[test]
    fn every_record_class_writes_its_fields_in_datamodel_order() {
        // The positional form relies on it: JS rebuilds records from the class's layout.
        macro_rules! check {
            ($($wire:literal => $marker:ty, $record:ty;)*) => {$({
                let record = Record::new(<$record>::default());
                let by_serde = written(&Dyn::Record(record.clone()));
                let by_field = written(&Dyn::Map(
                    record.fields().into_iter().map(|(k, v)| (Dyn::String(k.into()), v)).collect(),
                ));
                assert_eq!(by_serde, by_field, "{}", $wire);
                let mut w = Writer::new(true);
                w.value(&Dyn::Record(record.clone()));
                let values: Vec<serde_json::Value> = serde_json::from_str(&w.finish().0).unwrap();
                assert_eq!(values.len(), record.0.class().fields.len(), "{}", $wire);
            })*};
        }
        xenpool::for_each_record!(check);
    }

    #[test]
    fn a_positional_records_datetime_fields_go_inline_and_nested_ones_as_fixups() {
        let vm = VmRecord {
            snapshot_time: DateTime::parse("20240102T03:04:05Z").unwrap(),
            memory_static_max: i64::MAX,
            ..Default::default()
        };
        let record = Record::new(vm);
        let at = (record.0.class().fields.iter())
            .position(|f| f.name == "snapshot_time")
            .unwrap();
        let mut w = Writer::new(true);
        w.value(&Dyn::Record(record));
        let (text, fixups) = w.finish();
        let values: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(values[at], "2024-01-02T03:04:05Z");
        assert!(!fixups.contains(r#""d""#), "{fixups}");
        assert!(
            fixups.contains(r#""b""#),
            "an int64 beyond 2^53 is still a fixup"
        );

        // A date inside a field's value is not the field: it stays a fixup.
        #[derive(Serialize)]
        struct Dates {
            list: Vec<DateTime>,
            one: DateTime,
        }
        let when = DateTime::parse("20240102T03:04:05Z").unwrap();
        let mut w = Writer::new(true);
        let dates = Dates {
            list: vec![when],
            one: when,
        };
        dates.serialize(&mut w).unwrap();
        let (text, fixups) = w.finish();
        assert_eq!(text, r#"[[null],"2024-01-02T03:04:05Z"]"#);
        assert_eq!(fixups, r#"[[[0,0],"d","2024-01-02T03:04:05Z"]]"#);
    }

    #[test]
    fn absent_option_fields_are_left_out() {
        #[derive(Serialize)]
        struct Options {
            first: Option<i64>,
            second: Option<Vec<Option<i64>>>,
            third: Option<i64>,
        }
        let mut w = Writer::default();
        let options = Options {
            first: None,
            second: Some(vec![None, Some(1)]),
            third: None,
        };
        options.serialize(&mut w).unwrap();
        assert_eq!(w.finish().0, r#"{"second":[null,1]}"#);
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\u0001é\"");
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\u{1}é");
    }
}
