//! XenAPI and workflow failures as Rhai values: `try { … } catch (e) { e.code }`.

use rhai::{Dynamic, Engine, EvalAltResult, Position};

/// A failure a script can catch and inspect.
#[derive(Debug, Clone)]
pub struct XenError {
    /// The XenAPI error code (`HOSTS_NOT_HOMOGENEOUS`), or for other failures the core's
    /// code (`xenpool::error::codes`: `TRANSPORT`, `NOT_FOUND`, `WRONG_TYPE`, …) or the
    /// shell's own `ASSERTION`. (Ctrl-C is not catchable.)
    pub code: String,
    /// The error's parameters as sent (for `REFUSED`: every reason).
    pub params: Vec<String>,
    /// The XenAPI method or workflow it belongs to (`Error::method`), else empty.
    pub method: String,
    /// The host that answered, where it is not the session's own, else empty.
    pub host: String,
    /// Whether the host may have acted on the request.
    pub may_have_reached_host: bool,
    /// A sentence for people.
    pub message: String,
}

impl XenError {
    /// A failure raised by the shell itself.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        XenError {
            code: code.into(),
            params: Vec::new(),
            method: String::new(),
            host: String::new(),
            may_have_reached_host: false,
            message: message.into(),
        }
    }

    /// `INVALID_ARGUMENT` naming `parameter`, as core words it.
    pub fn invalid(parameter: &str, message: impl Into<String>) -> Self {
        xenpool::Error::invalid_argument(parameter, message).into()
    }

    /// Wraps the error as a Rhai runtime error carrying this value.
    pub fn into_rhai(self) -> Box<EvalAltResult> {
        Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(self),
            Position::NONE,
        ))
    }
}

impl From<xenpool::Error> for XenError {
    /// Core's description of the error, field for field.
    fn from(e: xenpool::Error) -> Self {
        let d = e.describe();
        XenError {
            code: d.code,
            params: d.params,
            method: d.method.unwrap_or_default(),
            host: d.host.unwrap_or_default(),
            may_have_reached_host: d.may_have_reached_host,
            message: d.message,
        }
    }
}

impl std::fmt::Display for XenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Shorthand for native functions.
pub type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// Converts a library error into a catchable script error.
pub fn raise(e: impl Into<XenError>) -> Box<EvalAltResult> {
    e.into().into_rhai()
}

/// Registers `XenError` and its getters.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<XenError>("XenError")
        .register_get("code", |e: &mut XenError| e.code.clone())
        .register_get("params", |e: &mut XenError| {
            e.params
                .iter()
                .map(|p| Dynamic::from(p.clone()))
                .collect::<rhai::Array>()
        })
        .register_get("method", |e: &mut XenError| e.method.clone())
        .register_get("host", |e: &mut XenError| e.host.clone())
        .register_get("may_have_reached_host", |e: &mut XenError| {
            e.may_have_reached_host
        })
        .register_get("message", |e: &mut XenError| e.message.clone())
        .register_fn("to_string", |e: &mut XenError| e.message.clone())
        .register_fn("to_debug", |e: &mut XenError| {
            format!("XenError({}: {})", e.code, e.message)
        });
}
