//! XML-RPC and JSON-RPC exactly as xapi speaks them, in both directions.
//!
//! Client side: [`encode_call`] and [`decode_response`] (typed, straight from bytes).
//! Server side (the simulator): [`decode_call`] and [`encode_response`].
//! Facts: `docs/wire-protocol.md#envelopes` and `docs/wire-protocol.md#types`.

mod convert;
pub mod exact_vec;
pub mod jsonrpc;
mod seed;
mod value;
mod xml_ser;
pub mod xmlrpc;

pub use seed::ResultSeed;
pub use value::Value;
pub(crate) use value::parse_float;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Which encoding a message uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// XML-RPC at `/` (what every xapi speaks).
    XmlRpc,
    /// JSON-RPC at `/jsonrpc`.
    JsonRpc(JsonVersion),
}

/// JSON-RPC dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonVersion {
    /// 1.0: `{"method","params","id"}` / `{"result","error","id"}`.
    V1,
    /// 2.0: `"jsonrpc": "2.0"` and an error object `{code: 1, message: CODE, data: [...]}`.
    V2,
}

/// Bounds applied while decoding untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Deepest nesting of arrays/structs accepted.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // 1 GiB holds get_all_records of a very large pool; depth 64 is far beyond any
        // XenAPI type (the deepest is a map of maps of sets).
        Limits {
            max_body_bytes: 1 << 30,
            max_depth: 64,
        }
    }
}

/// A decoded response: the value, or xapi's failure list `[code, params…]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Response<T> {
    /// `Status: Success` / JSON `result`.
    Success(T),
    /// `Status: Failure` / JSON `error`: `[code, params…]`, all strings.
    Failure(Vec<String>),
}

/// A decoded request, as a server sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Wire method name, e.g. `VM.start` or `Async.VM.start`.
    pub method: String,
    /// Positional parameters.
    pub params: Vec<Value>,
    /// How the request was encoded, so the reply can match it.
    pub format: Format,
    /// JSON-RPC request id (absent for XML-RPC).
    pub id: Option<serde_json::Value>,
}

/// What kind of protocol error occurred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// Not well-formed XML/JSON, or truncated.
    Malformed,
    /// Well-formed but not a XenAPI message (missing Status, wrong envelope, …).
    BadEnvelope,
    /// A value did not fit the expected type.
    WrongType,
    /// The body exceeded [`Limits::max_body_bytes`].
    TooLarge,
    /// Nesting exceeded [`Limits::max_depth`].
    TooDeep,
    /// A DOCTYPE or entity declaration (refused: entity-expansion attacks).
    Forbidden,
}

/// A message that could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProtocolError {
    /// The category, for programs.
    pub kind: ProtocolErrorKind,
    /// What went wrong and where, for people.
    pub message: String,
}

impl ProtocolError {
    /// Builds an error of `kind`.
    pub fn new(kind: ProtocolErrorKind, message: impl Into<String>) -> Self {
        ProtocolError {
            kind,
            message: message.into(),
        }
    }
}

/// Encodes a client call. `id` is used by JSON-RPC only.
pub fn encode_call(format: Format, method: &str, params: &[Value], id: u64) -> Vec<u8> {
    match format {
        Format::XmlRpc => xmlrpc::encode_call(method, params),
        Format::JsonRpc(version) => jsonrpc::encode_call(version, method, params, id),
    }
}

/// Decodes a host's response straight into `T`.
pub fn decode_response<T: DeserializeOwned>(
    format: Format,
    body: &[u8],
    limits: &Limits,
) -> Result<Response<T>, ProtocolError> {
    match format {
        Format::XmlRpc => xmlrpc::decode_response(body, limits),
        Format::JsonRpc(_) => jsonrpc::decode_response(body, limits),
    }
}

/// [`decode_response`], with the integer `code` of a JSON-RPC 2.0 error object when the
/// response is one (`None` for XML-RPC, JSON-RPC 1.0 and successes).
pub fn decode_response_with_rpc_code<T: DeserializeOwned>(
    format: Format,
    body: &[u8],
    limits: &Limits,
) -> Result<(Response<T>, Option<i64>), ProtocolError> {
    decode_response_seeded(format, body, limits, std::marker::PhantomData::<T>)
}

/// [`decode_response_with_rpc_code`], the result decoded by `seed`.
pub fn decode_response_seeded<S: ResultSeed>(
    format: Format,
    body: &[u8],
    limits: &Limits,
    seed: S,
) -> Result<(Response<S::Value>, Option<i64>), ProtocolError> {
    match format {
        Format::XmlRpc => xmlrpc::decode_response_seeded(body, limits, seed).map(|r| (r, None)),
        Format::JsonRpc(_) => jsonrpc::decode_response_seeded(body, limits, seed),
    }
}

/// Decodes a request body as a server. `json` selects JSON-RPC (path `/jsonrpc`) over XML-RPC.
pub fn decode_call(json: bool, body: &[u8], limits: &Limits) -> Result<Call, ProtocolError> {
    if json {
        jsonrpc::decode_call(body, limits)
    } else {
        xmlrpc::decode_call(body, limits)
    }
}

/// Encodes a server's reply to `call`.
pub fn encode_response(
    call_format: Format,
    id: Option<&serde_json::Value>,
    result: Result<&Value, &[String]>,
) -> Vec<u8> {
    match call_format {
        Format::XmlRpc => xmlrpc::encode_response(result),
        Format::JsonRpc(version) => jsonrpc::encode_response(version, id, result),
    }
}

/// Converts any serialisable value to a [`Value`].
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ProtocolError> {
    convert::to_value(value)
}

/// Converts a [`Value`] into a typed value (lenient the way xapi is: ints from digit
/// strings, case-insensitive enums).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ProtocolError> {
    convert::from_value(value)
}

/// Decodes an XML-RPC `<value>` fragment into `T`: how xapi stores `task.result`, even for
/// JSON-RPC users (docs/wire-protocol.md#tasks). An empty result (void) decodes as `""`.
pub fn decode_value_fragment<T: DeserializeOwned>(fragment: &str) -> Result<T, ProtocolError> {
    if fragment.trim().is_empty() {
        return from_value(Value::String(String::new()));
    }
    from_value(xmlrpc::decode_value(
        fragment.as_bytes(),
        &Limits::default(),
    )?)
}

/// Encodes a value as the XML-RPC `<value>` fragment xapi stores in `task.result`.
pub fn encode_value_fragment(value: &Value) -> String {
    let mut out = Vec::with_capacity(64);
    xmlrpc::write_value(&mut out, value, xmlrpc::IntStyle::Response);
    String::from_utf8(out).unwrap_or_default()
}

pub use xmlrpc::encode_bare_response;
