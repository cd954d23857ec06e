//! The one hand-written error type of the crate.
//!
//! Every variant documents whether the call may have reached the host, because a caller
//! deciding whether to retry a non-idempotent call (say `pool.join`) needs to know.

use std::time::Duration;

use crate::generated::ErrorCode;

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
    },

    /// The caller passed something unusable (a malformed URL, an empty name). Nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A pool workflow's pre-checks refused the operation before anything was changed
    /// (the master cannot be ejected, the target host lacks the VM's storage, …).
    #[error("{operation} refused: {}", problems.join("; "))]
    Refused {
        /// The workflow, e.g. `eject`.
        operation: String,
        /// Every reason, in words.
        problems: Vec<String>,
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

impl Error {
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
            Error::Api(_) | Error::Protocol(_) | Error::Indeterminate { .. } => true,
            Error::Transport {
                may_have_reached_host,
                ..
            }
            | Error::Timeout {
                may_have_reached_host,
                ..
            } => *may_have_reached_host,
            Error::Tls { .. } | Error::InvalidArgument(_) | Error::Refused { .. } => false,
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
        }
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
        write!(f, "{} failed: {}", self.method, self.code.wire())?;
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
