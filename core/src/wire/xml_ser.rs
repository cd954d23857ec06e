//! A serde `Serializer` writing XML-RPC `<value>`s straight into a `Vec<u8>`, so typed
//! params (records for `<class>.create`, maps) need no intermediate [`super::Value`].

use std::io::Write as _;

use serde::ser::{self, Serialize};

use super::convert::{to_value, wrong_type};
use super::xmlrpc::{IntStyle, write_double, write_escaped};
use super::{ProtocolError, Value};
use crate::types::DATETIME_NEWTYPE;

type Result<T, E = ProtocolError> = std::result::Result<T, E>;

/// Writes `value` as one XML-RPC `<value>…</value>` in `style`; the same bytes as
/// [`super::xmlrpc::write_value`] of [`super::to_value`]'s result.
pub fn to_xml<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, style: IntStyle) -> Result<()> {
    value.serialize(XmlSerializer { out, style })
}

struct XmlSerializer<'a> {
    out: &'a mut Vec<u8>,
    style: IntStyle,
}

impl XmlSerializer<'_> {
    fn int(self, i: i64) -> Result<()> {
        let out = self.out;
        let _ = match self.style {
            // xapi writes int64 untagged (docs/wire-protocol.md#types).
            IntStyle::Response => write!(out, "<value>{i}</value>"),
            IntStyle::Request if i32::try_from(i).is_ok() => {
                write!(out, "<value><int>{i}</int></value>")
            }
            IntStyle::Request => write!(out, "<value><i8>{i}</i8></value>"),
        };
        Ok(())
    }
}

/// Open compound: `Array` closes with `</data></array></value>`, `Struct` with
/// `</struct></value>`; `variant` wraps it in a one-member struct.
struct Compound<'a> {
    out: &'a mut Vec<u8>,
    style: IntStyle,
    array: bool,
    variant: bool,
}

impl Compound<'_> {
    fn close(self) -> Result<()> {
        self.out.extend_from_slice(if self.array {
            b"</data></array></value>"
        } else {
            b"</struct></value>"
        });
        if self.variant {
            self.out.extend_from_slice(b"</member></struct></value>");
        }
        Ok(())
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        v.serialize(XmlSerializer {
            out: self.out,
            style: self.style,
        })
    }

    fn member<T: Serialize + ?Sized>(&mut self, name: &str, v: &T) -> Result<()> {
        self.out.extend_from_slice(b"<member><name>");
        write_escaped(self.out, name);
        self.out.extend_from_slice(b"</name>");
        self.element(v)?;
        self.out.extend_from_slice(b"</member>");
        Ok(())
    }
}

fn open_variant(out: &mut Vec<u8>, variant: &str) {
    out.extend_from_slice(b"<value><struct><member><name>");
    write_escaped(out, variant);
    out.extend_from_slice(b"</name>");
}

impl<'a> ser::Serializer for XmlSerializer<'a> {
    type Ok = ();
    type Error = ProtocolError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.extend_from_slice(if v {
            b"<value><boolean>1</boolean></value>"
        } else {
            b"<value><boolean>0</boolean></value>"
        });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.int(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.int(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.int(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.int(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.int(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.int(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        let i =
            i64::try_from(v).map_err(|_| wrong_type(format!("{v} does not fit XenAPI's int64")))?;
        self.int(i)
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        self.out.extend_from_slice(b"<value><double>");
        write_double(self.out, v, "nan", "inf", "-inf");
        self.out.extend_from_slice(b"</double></value>");
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        // Strings are untagged, as xapi writes them.
        self.out.extend_from_slice(b"<value>");
        write_escaped(self.out, v);
        self.out.extend_from_slice(b"</value>");
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        use ser::SerializeSeq as _;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<()> {
        self.out.extend_from_slice(b"<value><nil/></value>");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<()> {
        if name == DATETIME_NEWTYPE
            && let Value::String(text) = to_value(v)?
        {
            self.out.extend_from_slice(b"<value><dateTime.iso8601>");
            write_escaped(self.out, &text);
            self.out.extend_from_slice(b"</dateTime.iso8601></value>");
            return Ok(());
        }
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<()> {
        open_variant(self.out, variant);
        v.serialize(XmlSerializer {
            out: self.out,
            style: self.style,
        })?;
        self.out.extend_from_slice(b"</member></struct></value>");
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>> {
        self.out.extend_from_slice(b"<value><array><data>");
        Ok(Compound {
            out: self.out,
            style: self.style,
            array: true,
            variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>> {
        open_variant(self.out, variant);
        self.out.extend_from_slice(b"<value><array><data>");
        Ok(Compound {
            out: self.out,
            style: self.style,
            array: true,
            variant: true,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>> {
        self.out.extend_from_slice(b"<value><struct>");
        Ok(Compound {
            out: self.out,
            style: self.style,
            array: false,
            variant: false,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>> {
        open_variant(self.out, variant);
        self.out.extend_from_slice(b"<value><struct>");
        Ok(Compound {
            out: self.out,
            style: self.style,
            array: false,
            variant: true,
        })
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = ProtocolError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}
impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = ProtocolError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}
impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = ProtocolError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}
impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = ProtocolError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}
impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = ProtocolError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<()> {
        // Keys are always strings on the wire: ints in decimal, enums by name
        // (docs/wire-protocol.md#types).
        let key = match to_value(k)? {
            Value::String(s) | Value::DateTime(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Double(d) => d.to_string(),
            other => {
                return Err(wrong_type(format!(
                    "a struct key must be a scalar, not {other:?}"
                )));
            }
        };
        self.out.extend_from_slice(b"<member><name>");
        write_escaped(self.out, &key);
        self.out.extend_from_slice(b"</name>");
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.element(v)?;
        self.out.extend_from_slice(b"</member>");
        Ok(())
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}
impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = ProtocolError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<()> {
        self.member(key, v)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}
impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = ProtocolError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<()> {
        self.member(key, v)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}
