//! A XenAPI failure as the simulator raises it: `[code, params…]`.

use xenpool::ErrorCode;

/// A failure reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub Vec<String>);

impl Failure {
    /// `code` with `params`.
    pub fn new<P: Into<String>>(code: ErrorCode, params: impl IntoIterator<Item = P>) -> Self {
        let mut v = vec![code.wire().to_string()];
        v.extend(params.into_iter().map(Into::into));
        Failure(v)
    }

    /// A code that errors.json does not list (built at run time, like
    /// `SR_BACKEND_FAILURE_<n>`), with parameters.
    pub fn raw<P: Into<String>>(code: &str, params: impl IntoIterator<Item = P>) -> Self {
        let mut v = vec![code.to_string()];
        v.extend(params.into_iter().map(Into::into));
        Failure(v)
    }

    /// An SM back-end failure, `SR_BACKEND_FAILURE_<n> ["", reason, stderr]` (sm_exec.ml).
    pub fn sm(number: u32, reason: &str) -> Self {
        Failure::raw(&format!("SR_BACKEND_FAILURE_{number}"), ["", reason, ""])
    }

    /// `code` without parameters.
    pub fn code(code: ErrorCode) -> Self {
        Failure(vec![code.wire().to_string()])
    }

    /// `INTERNAL_ERROR [message]`.
    pub fn internal(message: impl Into<String>) -> Self {
        Failure::new(ErrorCode::InternalError, [message.into()])
    }

    /// `HANDLE_INVALID [class, ref]`.
    pub fn handle_invalid(class: &str, reference: &str) -> Self {
        Failure::new(ErrorCode::HandleInvalid, [class, reference])
    }

    /// `OPERATION_NOT_ALLOWED [reason]`.
    pub fn not_allowed(reason: impl Into<String>) -> Self {
        Failure::new(ErrorCode::OperationNotAllowed, [reason.into()])
    }

    /// The wire code.
    pub fn wire_code(&self) -> &str {
        self.0.first().map(String::as_str).unwrap_or_default()
    }
}

impl From<xenpool::ApiError> for Failure {
    fn from(e: xenpool::ApiError) -> Self {
        Failure(e.description())
    }
}

/// Result of a handler.
pub type Outcome<T = xenpool::wire::Value> = Result<T, Failure>;
