//! Core errors as JS errors: the message is a marker followed by a JSON description
//! (`code`, `params`, `method`, `message`, `mayHaveReachedHost`) that the JS layer turns
//! into `XenAPIError` (or `TypeError` for `WRONG_TYPE`).

use serde_json::json;
use xenpool::Error;

/// Prefix of an error message that carries a JSON description.
pub const MARKER: &str = "\u{1}xenpool:";

/// A core error as a napi error.
pub fn to_napi(e: Error) -> napi::Error {
    let method = match &e {
        Error::Api(a) => a.method.clone(),
        Error::Timeout { method, .. }
        | Error::Cancelled { method, .. }
        | Error::Indeterminate { method, .. }
        | Error::UnknownMethod { method, .. } => method.clone(),
        Error::Refused { operation, .. } | Error::PartialPool { operation, .. } => {
            operation.clone()
        }
        _ => String::new(),
    };
    let description = json!({
        "code": e.code(),
        "params": e.params(),
        "method": method,
        "message": e.to_string(),
        "mayHaveReachedHost": e.may_have_reached_host(),
    });
    napi::Error::from_reason(format!("{MARKER}{description}"))
}

/// An `INVALID_ARGUMENT` error.
pub fn invalid(message: impl Into<String>) -> napi::Error {
    to_napi(Error::InvalidArgument(message.into()))
}
