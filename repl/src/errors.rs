//! XenAPI and workflow failures as Rhai values: `try { … } catch (e) { e.code }`.

use rhai::{Dynamic, Engine, EvalAltResult, Position};
use xenpool::ErrorDescription;

/// A failure a script can catch and inspect: core's description of the error (code,
/// params, method, host, may_have_reached_host, message), boxed to keep results small.
/// The code is the XenAPI error code (`HOSTS_NOT_HOMOGENEOUS`), or core's
/// (`xenpool::error::codes`: `TRANSPORT`, `NOT_FOUND`, `WRONG_TYPE`, …), or the shell's own
/// `ASSERTION`. (Ctrl-C is not catchable.)
#[derive(Debug, Clone)]
pub struct XenError(Box<ErrorDescription>);

impl std::ops::Deref for XenError {
    type Target = ErrorDescription;
    fn deref(&self) -> &ErrorDescription {
        &self.0
    }
}

impl std::ops::DerefMut for XenError {
    fn deref_mut(&mut self) -> &mut ErrorDescription {
        &mut self.0
    }
}

impl XenError {
    /// A failure raised by the shell itself.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        XenError(Box::new(ErrorDescription {
            code: code.into(),
            params: Vec::new(),
            method: None,
            host: None,
            may_have_reached_host: false,
            message: message.into(),
            partial: None,
        }))
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
    /// Core's description of the error, as it is.
    fn from(e: xenpool::Error) -> Self {
        XenError(Box::new(e.describe()))
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
        .register_get("method", |e: &mut XenError| {
            e.method.clone().unwrap_or_default()
        })
        .register_get("host", |e: &mut XenError| {
            e.host.clone().unwrap_or_default()
        })
        .register_get("may_have_reached_host", |e: &mut XenError| {
            e.may_have_reached_host
        })
        .register_get("message", |e: &mut XenError| e.message.clone())
        .register_fn("to_string", |e: &mut XenError| e.message.clone())
        .register_fn("to_debug", |e: &mut XenError| {
            format!("XenError({}: {})", e.code, e.message)
        });
}
