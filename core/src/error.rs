//! The one hand-written error type of the crate.
//!
//! Every variant documents whether the call may have reached the host, because a caller
//! deciding whether to retry a non-idempotent call (say `pool.join`) needs to know.

use std::time::Duration;

use crate::generated::ErrorCode;

/// The underlying cause kept on transport and TLS errors.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to a XenAPI host.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host answered with a XenAPI failure. The call reached the host and was refused
    /// (or failed) there.
    #[error(transparent)]
    Api(#[from] ApiError),

    /// The HTTP exchange failed (connection refused or reset, DNS, unexpected HTTP status).
    /// `may_have_reached_host` is false only when the request certainly was not sent
    /// (for example the connection could not be opened).
    #[error("cannot talk to {url}: {message}")]
    Transport {
        /// The endpoint that was being called.
        url: String,
        /// What went wrong, in words.
        message: String,
        /// Whether the host may have received (and acted on) the request.
        may_have_reached_host: bool,
        /// The underlying failure (reqwest, hyper, io), when there is one: what
        /// `std::error::Error::source` returns (Python's `__cause__`).
        source: Option<BoxError>,
    },

    /// No answer within the configured time. The request may have reached the host unless
    /// the timeout hit while connecting.
    #[error("{method} on {url} timed out after {after:?}")]
    Timeout {
        /// The endpoint that was being called.
        url: String,
        /// The XenAPI method, e.g. `VM.start`.
        method: String,
        /// The limit that expired.
        after: Duration,
        /// Whether the host may have received (and acted on) the request.
        may_have_reached_host: bool,
    },

    /// The bytes on the wire were not a valid XML-RPC / JSON-RPC message, were too large or
    /// too deeply nested, or did not fit the expected type. The host did receive the call.
    #[error("protocol error: {0}")]
    Protocol(#[from] crate::wire::ProtocolError),

    /// The TLS handshake failed: unknown issuer, pinned fingerprint mismatch, bad name.
    /// The request was not sent.
    #[error("TLS error with {url}: {message}")]
    Tls {
        /// The endpoint that was being called.
        url: String,
        /// What went wrong, in words.
        message: String,
        /// The underlying failure (the reqwest / rustls error), when there is one.
        source: Option<BoxError>,
    },

    /// The caller passed something unusable (a malformed URL, a wrong number of arguments,
    /// an enum value the datamodel does not list, no password anywhere). Nothing was sent.
    #[error("{message}")]
    InvalidArgument {
        /// The option or parameter at fault (`url`, `password`, `protocol`, `arguments`…).
        parameter: String,
        /// What is wrong with it, in words.
        message: String,
    },

    /// An argument of a dynamic call has the wrong type for its parameter (a string where
    /// the datamodel says `int`). Nothing was sent.
    #[error("{method}: {parameter} must be {expected}, not {}", article(got))]
    WrongType {
        /// The method called.
        method: String,
        /// The parameter (or member path, `args.name_label`).
        parameter: String,
        /// What the datamodel expects, in words.
        expected: String,
        /// The kind of value given.
        got: String,
    },

    /// The XenAPI has no such message (in this crate's datamodel). Nothing was sent.
    #[error("no XenAPI method {method}{}", did_you_mean(suggestions))]
    UnknownMethod {
        /// The name as given.
        method: String,
        /// The closest known names.
        suggestions: Vec<String>,
    },

    /// No object of `class` has that uuid or name.
    #[error("no {class} with uuid or name {key:?}")]
    NotFound {
        /// The class's wire name.
        class: String,
        /// The uuid or name looked up.
        key: String,
    },

    /// Several objects of `class` have that name: use a uuid or reference.
    #[error("{count} {class} objects are named {key:?}; use a uuid or reference")]
    Ambiguous {
        /// The class's wire name.
        class: String,
        /// The name looked up.
        key: String,
        /// How many objects have it.
        count: usize,
    },

    /// The connection was closed (logged out) before this call. Nothing was sent.
    #[error("the session was closed")]
    SessionClosed,

    /// The caller cancelled the call (Ctrl-C, `KeyboardInterrupt`, an `AbortSignal`). The
    /// request may have reached the host if it was already on its way.
    #[error("{method} was cancelled")]
    Cancelled {
        /// The call or operation that was cancelled.
        method: String,
        /// Whether the request had been sent.
        may_have_reached_host: bool,
    },

    /// A pool operation over several members stopped part-way: some members are done,
    /// others failed, each with its own error.
    #[error(
        "{operation} completed for {} and failed for {}; not attempted: {}",
        list(done),
        failed_list(failed),
        list(not_attempted)
    )]
    PartialPool {
        /// The operation, e.g. `create pool lab`.
        operation: String,
        /// Members for which it completed.
        done: Vec<String>,
        /// Members for which it failed, with why.
        failed: Vec<MemberError>,
        /// Members it did not get to.
        not_attempted: Vec<String>,
    },

    /// A bug or broken invariant inside xenpool (a poisoned lock). Please report it.
    #[error("internal error: {0}")]
    Internal(String),

    /// A pool workflow's pre-checks refused the operation before anything was changed
    /// (the master cannot be ejected, the target host lacks the VM's storage, …). Its
    /// params are the ids of the refusing checks, one per problem; the words are in the
    /// message.
    #[error("{operation} refused: {}", messages(problems))]
    Refused {
        /// The workflow, e.g. `eject`.
        operation: String,
        /// Every reason, with the id of the check that found it.
        problems: Vec<Refusal>,
    },

    /// The coordinator stopped answering after a call that changes state was sent: it may
    /// or may not have happened, so it was not retried. Check the pool's state (the
    /// connection has moved to the new coordinator) before trying again.
    #[error("{method} may or may not have happened: {reason}")]
    Indeterminate {
        /// The XenAPI method.
        method: String,
        /// What was lost, in words.
        reason: String,
    },
}

/// An error as data: what every front end shows, one to one (Python's exception
/// attributes, Node's `XenAPIError` properties, the shell's error object).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ErrorDescription {
    /// [`Error::code`].
    pub code: String,
    /// [`Error::params`].
    pub params: Vec<String>,
    /// [`Error::method`].
    pub method: Option<String>,
    /// [`Error::host`].
    pub host: Option<String>,
    /// [`Error::may_have_reached_host`].
    pub may_have_reached_host: bool,
    /// The error in words (its `Display`).
    pub message: String,
    /// For `POOL_PARTIAL`: which members are done, failed (each with its own error) and
    /// not attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<PartialDescription>,
}

/// How far a pool operation over several members got.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartialDescription {
    /// Members for which it completed.
    pub done: Vec<String>,
    /// Members for which it failed.
    pub failed: Vec<MemberDescription>,
    /// Members it did not get to.
    pub not_attempted: Vec<String>,
}

/// One member's failure, described.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemberDescription {
    /// The member (host name or address).
    pub member: String,
    /// Its error.
    pub error: ErrorDescription,
}

/// One reason a workflow refused: the id of the check that found it (a join pre-flight
/// row id such as `cpu_vendor`, or a workflow's own such as `coordinator`) and the words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The check's machine-readable id.
    pub check: String,
    /// What it found, in words.
    pub message: String,
}

impl Refusal {
    /// A reason found by `check`.
    pub fn new(check: impl Into<String>, message: impl Into<String>) -> Self {
        Refusal {
            check: check.into(),
            message: message.into(),
        }
    }
}

fn messages(problems: &[Refusal]) -> String {
    let words: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    words.join("; ")
}

/// One member's failure in a [`Error::PartialPool`].
#[derive(Debug)]
pub struct MemberError {
    /// The member (host name or address).
    pub member: String,
    /// Its error.
    pub error: Box<Error>,
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        s => format!(" (did you mean {}?)", s.join(", ")),
    }
}

fn article(kind: &str) -> String {
    match kind.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {kind}"),
        _ => format!("a {kind}"),
    }
}

fn failed_list(failed: &[MemberError]) -> String {
    let items: Vec<String> = failed
        .iter()
        .map(|m| format!("{} ({})", m.member, m.error))
        .collect();
    items.join(", ")
}

fn list(items: &[String]) -> String {
    match items {
        [] => "none".into(),
        items => items.join(", "),
    }
}

/// The stable machine codes of errors that are not XenAPI failures (those carry the
/// XenAPI code itself, e.g. `HOST_IS_SLAVE`). Every front end exposes the same code.
pub mod codes {
    /// [`super::Error::Transport`].
    pub const TRANSPORT: &str = "TRANSPORT";
    /// [`super::Error::Timeout`].
    pub const TIMEOUT: &str = "TIMEOUT";
    /// [`super::Error::Protocol`].
    pub const PROTOCOL: &str = "PROTOCOL";
    /// [`super::Error::Tls`].
    pub const TLS: &str = "TLS";
    /// [`super::Error::InvalidArgument`].
    pub const INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";
    /// [`super::Error::WrongType`].
    pub const WRONG_TYPE: &str = "WRONG_TYPE";
    /// [`super::Error::UnknownMethod`].
    pub const UNKNOWN_METHOD: &str = "UNKNOWN_METHOD";
    /// [`super::Error::NotFound`].
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// [`super::Error::Ambiguous`].
    pub const AMBIGUOUS_NAME: &str = "AMBIGUOUS_NAME";
    /// [`super::Error::SessionClosed`].
    pub const SESSION_CLOSED: &str = "SESSION_CLOSED";
    /// [`super::Error::Cancelled`].
    pub const CANCELLED: &str = "CANCELLED";
    /// [`super::Error::Refused`].
    pub const REFUSED: &str = "REFUSED";
    /// [`super::Error::Indeterminate`].
    pub const INDETERMINATE: &str = "INDETERMINATE";
    /// [`super::Error::PartialPool`].
    pub const POOL_PARTIAL: &str = "POOL_PARTIAL";
    /// [`super::Error::Internal`].
    pub const INTERNAL: &str = "INTERNAL";
    /// Every code above.
    pub const ALL: &[&str] = &[
        TRANSPORT,
        TIMEOUT,
        PROTOCOL,
        TLS,
        INVALID_ARGUMENT,
        WRONG_TYPE,
        UNKNOWN_METHOD,
        NOT_FOUND,
        AMBIGUOUS_NAME,
        SESSION_CLOSED,
        CANCELLED,
        REFUSED,
        INDETERMINATE,
        POOL_PARTIAL,
        INTERNAL,
    ];
}

impl Error {
    /// `INVALID_ARGUMENT`: `parameter` (an option or argument name) is unusable.
    pub fn invalid_argument(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            parameter: parameter.into(),
            message: message.into(),
        }
    }

    /// The XenAPI method or the workflow the error belongs to (`pool.join`, `eject`), where
    /// one was under way: a XenAPI failure, a timeout, a cancellation, a call of a wrong
    /// type or unknown name, an indeterminate call, a refused or partial workflow. `None`
    /// for errors that arise before or apart from any one call (a bad option, a closed
    /// session, a name not found, a transport, TLS or protocol failure).
    pub fn method(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(&e.method),
            Error::Timeout { method, .. }
            | Error::WrongType { method, .. }
            | Error::UnknownMethod { method, .. }
            | Error::Cancelled { method, .. }
            | Error::Indeterminate { method, .. } => Some(method),
            Error::Refused { operation, .. } | Error::PartialPool { operation, .. } => {
                Some(operation)
            }
            Error::Transport { .. }
            | Error::Protocol(_)
            | Error::Tls { .. }
            | Error::InvalidArgument { .. }
            | Error::NotFound { .. }
            | Error::Ambiguous { .. }
            | Error::SessionClosed
            | Error::Internal(_) => None,
        }
    }

    /// The host that answered, where it is not the session's own (the join candidate
    /// that refused its password, say).
    pub fn host(&self) -> Option<&str> {
        self.api().and_then(|e| e.host.as_deref())
    }

    /// The error as data every front end maps one to one onto its own error type.
    pub fn describe(&self) -> ErrorDescription {
        let partial = match self {
            Error::PartialPool {
                done,
                failed,
                not_attempted,
                ..
            } => Some(PartialDescription {
                done: done.clone(),
                failed: failed
                    .iter()
                    .map(|m| MemberDescription {
                        member: m.member.clone(),
                        error: m.error.describe(),
                    })
                    .collect(),
                not_attempted: not_attempted.clone(),
            }),
            _ => None,
        };
        ErrorDescription {
            code: self.code().to_string(),
            params: self.params(),
            method: self.method().map(str::to_string),
            host: self.host().map(str::to_string),
            may_have_reached_host: self.may_have_reached_host(),
            message: self.to_string(),
            partial,
        }
    }

    /// The stable machine code: the XenAPI code for [`Error::Api`], one of [`codes`] else.
    pub fn code(&self) -> &str {
        match self {
            Error::Api(e) => e.code.wire(),
            Error::Transport { .. } => codes::TRANSPORT,
            Error::Timeout { .. } => codes::TIMEOUT,
            Error::Protocol(_) => codes::PROTOCOL,
            Error::Tls { .. } => codes::TLS,
            Error::InvalidArgument { .. } => codes::INVALID_ARGUMENT,
            Error::WrongType { .. } => codes::WRONG_TYPE,
            Error::UnknownMethod { .. } => codes::UNKNOWN_METHOD,
            Error::NotFound { .. } => codes::NOT_FOUND,
            Error::Ambiguous { .. } => codes::AMBIGUOUS_NAME,
            Error::SessionClosed => codes::SESSION_CLOSED,
            Error::Cancelled { .. } => codes::CANCELLED,
            Error::Refused { .. } => codes::REFUSED,
            Error::Indeterminate { .. } => codes::INDETERMINATE,
            Error::PartialPool { .. } => codes::POOL_PARTIAL,
            Error::Internal(_) => codes::INTERNAL,
        }
    }

    /// The error's parameters, as strings, in a fixed order per code: the XenAPI failure's
    /// own; `[url]` (transport, TLS); `[method, seconds]` (timeout); `[parameter, message]`
    /// (invalid argument); `[parameter, expected, got]` (wrong type); `[method,
    /// suggestions…]`; `[class, key]` (not found); `[class, key, count]` (ambiguous);
    /// `[method]` (cancelled); the refusing checks' ids (refused); `[method, reason]`
    /// (indeterminate); `[operation, failed members…]` (partial pool); `[message]` else.
    pub fn params(&self) -> Vec<String> {
        match self {
            Error::Api(e) => e.params.clone(),
            Error::Transport { url, .. } | Error::Tls { url, .. } => vec![url.clone()],
            Error::Timeout { method, after, .. } => {
                vec![method.clone(), after.as_secs_f64().to_string()]
            }
            Error::Protocol(e) => vec![e.to_string()],
            Error::InvalidArgument { parameter, message } => {
                vec![parameter.clone(), message.clone()]
            }
            Error::Internal(m) => vec![m.clone()],
            Error::WrongType {
                parameter,
                expected,
                got,
                ..
            } => vec![parameter.clone(), expected.clone(), got.clone()],
            Error::UnknownMethod {
                method,
                suggestions,
            } => std::iter::once(method.clone())
                .chain(suggestions.iter().cloned())
                .collect(),
            Error::NotFound { class, key } => vec![class.clone(), key.clone()],
            Error::Ambiguous { class, key, count } => {
                vec![class.clone(), key.clone(), count.to_string()]
            }
            Error::SessionClosed => vec![],
            Error::Cancelled { method, .. } => vec![method.clone()],
            Error::Refused { problems, .. } => problems.iter().map(|p| p.check.clone()).collect(),
            Error::Indeterminate { method, reason } => vec![method.clone(), reason.clone()],
            Error::PartialPool {
                operation, failed, ..
            } => std::iter::once(operation.clone())
                .chain(failed.iter().map(|m| m.member.clone()))
                .collect(),
        }
    }

    /// The XenAPI failure, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// True when this is the XenAPI failure `code`.
    pub fn is_code(&self, code: &ErrorCode) -> bool {
        self.api().is_some_and(|e| &e.code == code)
    }

    /// Whether the host may have received the request (and so may have acted on it).
    pub fn may_have_reached_host(&self) -> bool {
        match self {
            Error::Api(_)
            | Error::Protocol(_)
            | Error::Indeterminate { .. }
            | Error::PartialPool { .. }
            | Error::Internal(_) => true,
            Error::Transport {
                may_have_reached_host,
                ..
            }
            | Error::Timeout {
                may_have_reached_host,
                ..
            }
            | Error::Cancelled {
                may_have_reached_host,
                ..
            } => *may_have_reached_host,
            Error::Tls { .. }
            | Error::InvalidArgument { .. }
            | Error::WrongType { .. }
            | Error::UnknownMethod { .. }
            | Error::NotFound { .. }
            | Error::Ambiguous { .. }
            | Error::SessionClosed
            | Error::Refused { .. } => false,
        }
    }
}

/// A XenAPI failure as sent by the host: `[code, params…]`, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The typed error code (`ErrorCode::Unknown` for codes newer than this crate).
    pub code: ErrorCode,
    /// The parameters exactly as sent (always strings on the wire).
    pub params: Vec<String>,
    /// The method that failed, e.g. `pool.join`.
    pub method: String,
    /// The integer `code` of the JSON-RPC 2.0 error object it came in (xapi sends 1;
    /// something in front of xapi may send JSON-RPC's -32xxx codes). `None` over XML-RPC
    /// and JSON-RPC 1.0.
    pub rpc_code: Option<i64>,
    /// The host that answered, where it is not the one the session is on: e.g. the join
    /// candidate that refused its password.
    pub host: Option<String>,
}

impl ApiError {
    /// Builds an error from the wire description `[code, params…]`.
    pub fn from_description(method: impl Into<String>, mut description: Vec<String>) -> Self {
        let code = if description.is_empty() {
            ErrorCode::Unknown(String::new())
        } else {
            ErrorCode::from_wire(&description.remove(0))
        };
        ApiError {
            code,
            params: description,
            method: method.into(),
            rpc_code: None,
            host: None,
        }
    }

    /// The same error, naming the host that answered.
    pub fn on_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The same error, noting the JSON-RPC 2.0 error object's integer `code`.
    pub fn with_rpc_code(mut self, rpc_code: Option<i64>) -> Self {
        self.rpc_code = rpc_code;
        self
    }

    /// The parameter declared under `name` for this code in errors.json, if sent.
    pub fn param(&self, name: &str) -> Option<&str> {
        let index = self.code.param_names().iter().position(|p| *p == name)?;
        self.params.get(index).map(String::as_str)
    }

    /// The wire form `[code, params…]`, as the official Python client's `details`.
    pub fn description(&self) -> Vec<String> {
        let mut v = Vec::with_capacity(self.params.len() + 1);
        v.push(self.code.wire().to_string());
        v.extend(self.params.iter().cloned());
        v
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            Some(host) => write!(f, "{} on {host} failed: {}", self.method, self.code.wire())?,
            None => write!(f, "{} failed: {}", self.method, self.code.wire())?,
        }
        let names = self.code.param_names();
        if !self.params.is_empty() {
            f.write_str(" (")?;
            for (i, value) in self.params.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                match names.get(i) {
                    Some(name) => write!(f, "{name}: {value}")?,
                    None => write!(f, "{value}")?,
                }
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
