//! JSON-RPC 1.0 and 2.0 as xapi speaks them (docs/wire-protocol.md#envelopes), both directions.
//!
//! Decoding runs serde_json through a lenient adapter (ints from digit strings, floats from
//! numeric strings, `void` from anything) that also counts nesting against
//! [`Limits::max_depth`]. xapi writes non-finite floats as bare `NaN`, `Infinity`,
//! `-Infinity`, which serde_json (rightly) rejects: only when it does is the body scanned,
//! each such token outside strings rewritten into a marked string, and decoded again; the
//! adapter hands marked strings to `f64` fields (and `Value::Double`) as the float they were.

use std::cell::Cell;
use std::fmt;
use std::io::Write as _;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess,
    SeqAccess, VariantAccess, Visitor,
};

use super::value::parse_float;
use super::xmlrpc::write_double;
use super::{
    Call, Format, JsonVersion, Limits, ProtocolError, ProtocolErrorKind, Response, ResultSeed,
    Value,
};

type Result<T, E = ProtocolError> = std::result::Result<T, E>;

fn bad_envelope(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::new(ProtocolErrorKind::BadEnvelope, msg)
}

fn from_json_error(e: serde_json::Error) -> ProtocolError {
    let text = e.to_string();
    let kind = if text.starts_with(TOO_DEEP) || text.starts_with("recursion limit exceeded") {
        ProtocolErrorKind::TooDeep
    } else if e.classify() == serde_json::error::Category::Data {
        ProtocolErrorKind::WrongType
    } else {
        ProtocolErrorKind::Malformed
    };
    ProtocolError::new(kind, e.to_string())
}

// ---------------------------------------------------------------------------------------
// Pre-scan and rewrite of bare non-finite numbers.

/// Prefix marking a string that was a bare `NaN`/`Infinity` token.
const MARK: char = '\0';

/// Whether a bare `NaN`/`Infinity` token occurs outside strings (valid JSON has no `N` or
/// `I` there). Only run after serde_json has refused a body.
fn has_bare_tokens(body: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        match b {
            b'"' => {
                i += 1;
                // Jump over the string: to the next quote not escaped by a backslash.
                loop {
                    let Some(rest) = body.get(i..) else {
                        return false;
                    };
                    match memchr::memchr2(b'"', b'\\', rest) {
                        Some(j) if rest[j] == b'\\' => i += j + 2,
                        Some(j) => {
                            i += j + 1;
                            break;
                        }
                        None => return false,
                    }
                }
                continue;
            }
            b'N' | b'I' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Rewrites bare `NaN`, `Infinity`, `-Infinity` outside strings into marked strings.
fn rewrite_bare(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut i = 0;
    let mut in_string = false;
    while let Some(&b) = body.get(i) {
        if in_string {
            out.push(b);
            if b == b'\\' {
                if let Some(&next) = body.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            in_string = b != b'"';
            i += 1;
            continue;
        }
        let rest = &body[i..];
        let token: &[u8] = if rest.starts_with(b"NaN") {
            b"NaN"
        } else if rest.starts_with(b"Infinity") {
            b"Infinity"
        } else if rest.starts_with(b"-Infinity") {
            b"-Infinity"
        } else {
            in_string = b == b'"';
            out.push(b);
            i += 1;
            continue;
        };
        out.extend_from_slice(b"\"\\u0000");
        out.extend_from_slice(token);
        out.push(b'"');
        i += token.len();
    }
    out
}

fn marked_float(s: &str) -> Option<f64> {
    s.strip_prefix(MARK).and_then(parse_float)
}

// ---------------------------------------------------------------------------------------
// The lenient adapter: ints from digit strings, floats from ints/numeric strings/marked
// tokens, unit from anything (`void` is ""), applied at every depth.

struct Lenient<'a, D>(D, &'a Depth);

/// Nesting depth so far, against the limit; and whether the body is the rewritten one
/// (only then can a string be a marked bare token).
struct Depth {
    now: Cell<usize>,
    max: usize,
    rewritten: bool,
}

const TOO_DEEP: &str = "arrays/objects nested too deep";

impl Depth {
    fn enter<E: de::Error>(&self) -> Result<(), E> {
        let n = self.now.get() + 1;
        self.now.set(n);
        if n > self.max {
            Err(E::custom(TOO_DEEP))
        } else {
            Ok(())
        }
    }

    /// The float a marked string stands for; never in a body that was not rewritten.
    fn marked_float(&self, s: &str) -> Option<f64> {
        if self.rewritten {
            marked_float(s)
        } else {
            None
        }
    }

    fn leave(&self) {
        self.now.set(self.now.get().saturating_sub(1));
    }
}

macro_rules! lenient_int {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.deserialize_any(IntVisitor(visitor))
        }
    )*};
}

macro_rules! lenient_forward {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(Wrap(visitor, self.1))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Lenient<'_, D> {
    type Error = D::Error;

    lenient_int!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64
    );

    lenient_forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i128,
        deserialize_u128,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier
    );

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(FloatVisitor(visitor))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(FloatVisitor(visitor))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        // `void` is "" on the wire: skip whatever is there.
        self.0.deserialize_ignored_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_newtype_struct(name, Wrap(visitor, self.1))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor, self.1))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_tuple_struct(name, len, Wrap(visitor, self.1))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_struct(name, fields, Wrap(visitor, self.1))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_enum(name, variants, Wrap(visitor, self.1))
    }
}

/// Wraps a visitor so that everything it is handed stays lenient.
struct Wrap<'a, V>(V, &'a Depth);

macro_rules! wrap_scalar {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    wrap_scalar!(visit_bool: bool, visit_i8: i8, visit_i16: i16, visit_i32: i32, visit_i64: i64,
        visit_i128: i128, visit_u8: u8, visit_u16: u16, visit_u32: u32, visit_u64: u64,
        visit_u128: u128, visit_f32: f32, visit_f64: f64, visit_char: char, visit_bytes: &[u8],
        visit_byte_buf: Vec<u8>);

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match self.1.marked_float(v) {
            Some(d) => self.0.visit_f64(d),
            None => self.0.visit_str(v),
        }
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        match self.1.marked_float(v) {
            Some(d) => self.0.visit_f64(d),
            None => self.0.visit_borrowed_str(v),
        }
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        match self.1.marked_float(&v) {
            Some(d) => self.0.visit_f64(d),
            None => self.0.visit_string(v),
        }
    }
    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        self.0.visit_borrowed_bytes(v)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Lenient(d, self.1))
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Lenient(d, self.1))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        let depth = self.1;
        depth.enter::<A::Error>()?;
        let r = self.0.visit_seq(Lenient(a, depth));
        depth.leave();
        r
    }
    fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        let depth = self.1;
        depth.enter::<A::Error>()?;
        let r = self.0.visit_map(Lenient(a, depth));
        depth.leave();
        r
    }
    fn visit_enum<A: EnumAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(Lenient(a, self.1))
    }
}

/// Ints: numbers, or strings of decimal digits.
struct IntVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for IntVisitor<V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string of decimal digits")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.0.visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.0.visit_u64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
        self.0.visit_f64(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        let t = v.trim();
        if let Ok(i) = t.parse::<i64>() {
            self.0.visit_i64(i)
        } else if let Ok(u) = t.parse::<u64>() {
            self.0.visit_u64(u)
        } else {
            Err(E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
}

/// Floats: numbers, numeric strings (`"nan"`, `"1e3"`) and marked bare tokens.
struct FloatVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for FloatVisitor<V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a numeric string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.0.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.0.visit_f64(v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
        self.0.visit_f64(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        match parse_float(v.strip_prefix(MARK).unwrap_or(v)) {
            Some(d) => self.0.visit_f64(d),
            None => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

struct LenientSeed<'a, S>(S, &'a Depth);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for LenientSeed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Lenient(d, self.1))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Lenient<'_, A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(LenientSeed(seed, self.1))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Lenient<'_, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(LenientSeed(seed, self.1))
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.0.next_value_seed(LenientSeed(seed, self.1))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Lenient<'a, A> {
    type Error = A::Error;
    type Variant = Lenient<'a, A::Variant>;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let depth = self.1;
        let (v, variant) = self.0.variant_seed(LenientSeed(seed, depth))?;
        Ok((v, Lenient(variant, depth)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Lenient<'_, A> {
    type Error = A::Error;
    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(LenientSeed(seed, self.1))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(v, self.1))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap(v, self.1))
    }
}

// ---------------------------------------------------------------------------------------
// Envelopes.

fn check_size(body: &[u8], limits: &Limits) -> Result<()> {
    if body.len() > limits.max_body_bytes {
        return Err(ProtocolError::new(
            ProtocolErrorKind::TooLarge,
            format!(
                "body of {} bytes exceeds the limit of {}",
                body.len(),
                limits.max_body_bytes
            ),
        ));
    }
    Ok(())
}

type JsonDe<'a> = serde_json::Deserializer<serde_json::de::StrRead<'a>>;

/// Runs `f` over the body through the lenient adapter, which also enforces `max_depth`.
/// xapi's bare `NaN`/`Infinity` are syntax errors to serde_json: only then is the body
/// scanned, rewritten and decoded again.
///
/// The body is checked as UTF-8 once, up front, and decoded as a `str`, so serde_json
/// need not validate every string on its own (a tenth of the work on big records). When
/// it is not UTF-8 only the valid prefix is decoded: an error inside it is reported as
/// before, and reaching its end is the UTF-8 error.
fn decode_with<R>(
    body: &[u8],
    max_depth: usize,
    f: impl Fn(Lenient<'_, &mut JsonDe<'_>>) -> serde_json::Result<R>,
) -> Result<R> {
    let run = |input: &str, rewritten: bool| -> serde_json::Result<R> {
        let depth = Depth {
            now: Cell::new(0),
            max: max_depth,
            rewritten,
        };
        let mut de = serde_json::Deserializer::from_str(input);
        let r = f(Lenient(&mut de, &depth))?;
        de.end()?;
        Ok(r)
    };
    let (text, invalid_at) = match std::str::from_utf8(body) {
        Ok(text) => (text, None),
        Err(e) => {
            let valid = e.valid_up_to();
            (
                std::str::from_utf8(&body[..valid]).unwrap_or_default(),
                Some(valid),
            )
        }
    };
    let result = match run(text, false) {
        Ok(r) => Ok(r),
        Err(e)
            if e.classify() == serde_json::error::Category::Syntax
                && has_bare_tokens(text.as_bytes()) =>
        {
            // Only ASCII is inserted, so the rewrite of valid UTF-8 is valid UTF-8.
            let rewritten = String::from_utf8(rewrite_bare(text.as_bytes()))
                .map_err(|_| ProtocolError::new(ProtocolErrorKind::Malformed, "invalid UTF-8"))?;
            run(&rewritten, true).map_err(from_json_error)
        }
        Err(e) => Err(from_json_error(e)),
    };
    match (result, invalid_at) {
        (Ok(_), Some(at)) => Err(ProtocolError::new(
            ProtocolErrorKind::Malformed,
            format!("invalid UTF-8 at byte {at}"),
        )),
        (Err(e), Some(at)) if e.message.starts_with("EOF while parsing") => {
            Err(ProtocolError::new(
                ProtocolErrorKind::Malformed,
                format!("invalid UTF-8 at byte {at}"),
            ))
        }
        (result, _) => result,
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Result,
    Error,
    Id,
    #[serde(other)]
    Other,
}

/// `result` that may be `null` (1.0 failures carry `"result": null`).
struct MaybeNull<S>(S);

impl<'de, S: ResultSeed> DeserializeSeed<'de> for MaybeNull<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V<S>(S);
        impl<'de, S: ResultSeed> Visitor<'de> for V<S> {
            type Value = Option<S::Value>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a result")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                self.0.decode(d).map(Some)
            }
        }
        d.deserialize_option(V(self.0))
    }
}

struct Parts<T> {
    result: Option<Option<T>>,
    error: Option<serde_json::Value>,
}

struct EnvelopeVisitor<S>(S);

impl<'de, S: ResultSeed> Visitor<'de> for EnvelopeVisitor<S> {
    type Value = Parts<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut parts = Parts {
            result: None,
            error: None,
        };
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Result => {
                    parts.result = Some(map.next_value_seed(MaybeNull(self.0.clone()))?)
                }
                Field::Error => parts.error = Some(map.next_value()?),
                Field::Id | Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(parts)
    }
}

fn error_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Decodes a 1.0 or 2.0 response (and xapi's pre-dispatch corner case) into `T`.
pub(crate) fn decode_response<T: DeserializeOwned>(
    body: &[u8],
    limits: &Limits,
) -> Result<Response<T>> {
    decode_response_coded(body, limits).map(|(response, _)| response)
}

/// [`decode_response`], with the integer `code` of a 2.0 error object (xapi always sends
/// 1; a proxy or another server in front of it may send JSON-RPC's own -32xxx codes).
pub(crate) fn decode_response_coded<T: DeserializeOwned>(
    body: &[u8],
    limits: &Limits,
) -> Result<(Response<T>, Option<i64>)> {
    decode_response_seeded(body, limits, PhantomData::<T>)
}

/// [`decode_response_coded`], the result decoded by `seed`.
pub(crate) fn decode_response_seeded<S: ResultSeed>(
    body: &[u8],
    limits: &Limits,
    seed: S,
) -> Result<(Response<S::Value>, Option<i64>)> {
    check_size(body, limits)?;
    // The envelope object does not count towards the caller's depth limit.
    let parts = decode_with(body, limits.max_depth.saturating_add(1), |de| {
        de.deserialize_map(EnvelopeVisitor(seed.clone()))
    })?;
    let has_error = !matches!(parts.error, Some(serde_json::Value::Null) | None);
    if has_error && matches!(parts.result, Some(Some(_))) {
        return Err(bad_envelope("response holds both a result and an error"));
    }
    match parts.error {
        Some(serde_json::Value::Null) | None => {}
        // 1.0, and 2.0-shaped replies from before dispatch: `["CODE", params…]`
        // (docs/wire-protocol.md#envelopes).
        Some(serde_json::Value::Array(items)) => {
            return Ok((
                Response::Failure(items.iter().map(error_text).collect()),
                None,
            ));
        }
        // 2.0: `{"code": 1, "message": CODE, "data": [params…]}`.
        Some(serde_json::Value::Object(obj)) => {
            // A 2.0 error object has an integer `code` and a string `message`; anything
            // else is not a XenAPI failure but a broken reply.
            // A u64 beyond i64 is an integer too, kept saturated.
            let code = match obj.get("code") {
                Some(serde_json::Value::Number(n)) if n.is_i64() => n.as_i64(),
                Some(serde_json::Value::Number(n)) if n.is_u64() => Some(i64::MAX),
                _ => return Err(bad_envelope("the error object's code is not an integer")),
            };
            let Some(serde_json::Value::String(message)) = obj.get("message") else {
                return Err(bad_envelope("the error object's message is not a string"));
            };
            let mut description = vec![message.clone()];
            match obj.get("data") {
                Some(serde_json::Value::Array(data)) => {
                    description.extend(data.iter().map(error_text));
                }
                Some(serde_json::Value::Null) | None => {}
                Some(other) => description.push(error_text(other)),
            }
            return Ok((Response::Failure(description), code));
        }
        Some(other) => return Err(bad_envelope(format!("unexpected error member {other}"))),
    }
    let response = match parts.result {
        Some(Some(v)) => Response::Success(v),
        // `"result": null` without an error: only types that accept null fit.
        Some(None) => seed
            .decode(serde::de::value::UnitDeserializer::<ProtocolError>::new())
            .map(Response::Success)
            .map_err(|_| bad_envelope("result is null and there is no error"))?,
        None => return Err(bad_envelope("response has neither result nor error")),
    };
    Ok((response, None))
}

#[derive(Deserialize)]
struct RawCall {
    #[serde(default)]
    jsonrpc: Option<serde_json::Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<Value>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// Decodes a 1.0 or 2.0 request as a server.
pub(crate) fn decode_call(body: &[u8], limits: &Limits) -> Result<Call> {
    check_size(body, limits)?;
    // Envelope object and params array do not count towards the depth limit.
    let raw: RawCall = decode_with(body, limits.max_depth.saturating_add(2), |de| {
        RawCall::deserialize(de)
    })?;
    let version = match &raw.jsonrpc {
        None => JsonVersion::V1,
        Some(serde_json::Value::String(v)) if v == "2.0" => JsonVersion::V2,
        Some(other) => {
            return Err(ProtocolError::new(
                ProtocolErrorKind::Malformed,
                format!("unsupported jsonrpc version {other}"),
            ));
        }
    };
    let method = raw
        .method
        .ok_or_else(|| bad_envelope("request has no method"))?;
    let id = match raw.id {
        // Notifications are refused, as xapi does (HTTP 500).
        None | Some(serde_json::Value::Null) => return Err(bad_envelope("request has no id")),
        Some(id) => id,
    };
    let params = match (version, raw.params) {
        (_, Some(Value::Array(items))) => items,
        // 2.0 only: an object is one struct param; absent or null means none.
        (JsonVersion::V2, Some(s @ Value::Struct(_))) => vec![s],
        (JsonVersion::V2, None | Some(Value::Nil)) => Vec::new(),
        (JsonVersion::V1, _) => return Err(bad_envelope("JSON-RPC 1.0 params must be an array")),
        (JsonVersion::V2, Some(_)) => {
            return Err(bad_envelope("params must be an array or an object"));
        }
    };
    Ok(Call {
        method,
        params,
        format: Format::JsonRpc(version),
        id: Some(id),
    })
}

// ---------------------------------------------------------------------------------------
// Encoding.

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Writes `v` as JSON, with non-finite doubles as bare `NaN`/`Infinity`/`-Infinity` as
/// xapi writes them (docs/wire-protocol.md#envelopes).
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) | Value::DateTime(s) => write_str(out, s),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Int32(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Double(d) if d.is_finite() => {
            let _ = serde_json::to_writer(&mut *out, d);
        }
        Value::Double(d) => write_double(out, *d, "NaN", "Infinity", "-Infinity"),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Struct(members) => {
            out.push(b'{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
        Value::Nil => out.extend_from_slice(b"null"),
    }
}

pub(crate) fn encode_call(
    version: JsonVersion,
    method: &str,
    params: &[Value],
    id: u64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + params.len() * 48);
    out.push(b'{');
    if version == JsonVersion::V2 {
        out.extend_from_slice(b"\"jsonrpc\":\"2.0\",");
    }
    out.extend_from_slice(b"\"method\":");
    write_str(&mut out, method);
    out.extend_from_slice(b",\"params\":[");
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(&mut out, p);
    }
    let _ = write!(out, "],\"id\":{id}}}");
    out
}

fn write_id(out: &mut Vec<u8>, id: Option<&serde_json::Value>) {
    match id {
        Some(id) => {
            let _ = serde_json::to_writer(&mut *out, id);
        }
        None => out.extend_from_slice(b"null"),
    }
}

pub(crate) fn encode_response(
    version: JsonVersion,
    id: Option<&serde_json::Value>,
    result: Result<&Value, &[String]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    match (version, result) {
        (JsonVersion::V1, Ok(v)) => {
            out.extend_from_slice(b"{\"result\":");
            write_value(&mut out, v);
            out.extend_from_slice(b",\"error\":null,\"id\":");
        }
        (JsonVersion::V1, Err(description)) => {
            out.extend_from_slice(b"{\"result\":null,\"error\":[");
            for (i, d) in description.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(&mut out, d);
            }
            out.extend_from_slice(b"],\"id\":");
        }
        (JsonVersion::V2, Ok(v)) => {
            out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"result\":");
            write_value(&mut out, v);
            out.extend_from_slice(b",\"id\":");
        }
        (JsonVersion::V2, Err(description)) => {
            // `code` is always 1; the XenAPI code is the message (docs/wire-protocol.md#envelopes).
            out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":");
            write_str(&mut out, description.first().map_or("", String::as_str));
            out.extend_from_slice(b",\"data\":[");
            for (i, d) in description.iter().skip(1).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(&mut out, d);
            }
            out.extend_from_slice(b"]},\"id\":");
        }
    }
    write_id(&mut out, id);
    out.push(b'}');
    out
}
