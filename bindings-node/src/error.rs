//! Core errors as JS errors: the message is a marker followed by core's description of
//! the error (`ErrorDescription` as JSON) that the JS layer turns into `XenAPIError` (or
//! `TypeError` for `WRONG_TYPE`).

use xenpool::Error;

/// Prefix of an error message that carries a JSON description.
pub const MARKER: &str = "\u{1}xenpool:";

/// A core error as a napi error carrying core's description of it.
pub fn to_napi(e: Error) -> napi::Error {
    let description = serde_json::to_string(&e.describe()).unwrap_or_default();
    napi::Error::from_reason(format!("{MARKER}{description}"))
}

/// An `INVALID_ARGUMENT` error naming `parameter`.
pub fn invalid(parameter: &str, message: impl Into<String>) -> napi::Error {
    to_napi(Error::invalid_argument(parameter, message))
}
