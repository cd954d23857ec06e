//! xenpool: a typed, pool-aware client for the XenAPI of XenServer / XCP-ng pools.
#![warn(missing_docs)]

extern crate self as xenpool;

pub mod blocking;
pub mod call;
pub mod cancel;
pub mod connect_spec;
pub mod connection;
pub mod dynamic;
pub mod error;
pub mod event;
pub mod generated;
pub mod meta;
pub mod pool;
pub mod secret;
pub mod task;
pub mod tls;
pub mod transport;
pub mod types;
pub mod wire;

pub use call::{CallRequest, Caller};
pub use cancel::CancelToken;
pub use connect_spec::{ConnectSpec, ResolvedSpec};
pub use connection::{Connection, LoginKind};
pub use error::{ApiError, BoxError, Error, ErrorDescription, Refusal, Result};
pub use generated::ErrorCode;
pub use secret::{Credentials, Secret};
pub use tls::{Fingerprint, Tls, fetch_fingerprint};
pub use transport::{ConnectOptions, Protocol};
pub use types::{DateTime, Ref, XenClass};
