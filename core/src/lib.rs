//! xenpool: a typed, pool-aware client for the XenAPI of XenServer / XCP-ng pools.
#![warn(missing_docs)]

extern crate self as xenpool;

pub mod call;
pub mod error;
pub mod generated;
pub mod meta;
pub mod types;
pub mod wire;

pub use call::Caller;
pub use error::{ApiError, Error, Result};
pub use generated::ErrorCode;
pub use types::{DateTime, Ref, XenClass};
