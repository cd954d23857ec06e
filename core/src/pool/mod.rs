//! Pool workflows, hand-written on the generated API (facts: `docs/pool-operations.md`):
//! a failover-aware pool connection (and a session on either a host or a pool), typed
//! views, the join pre-flight, pool operations with dry runs and progress, and an
//! event-fed object cache.

pub mod any_connection;
mod bonds;
pub mod cache;
pub mod connection;
mod eject;
pub mod features;
mod ha;
pub mod membership;
pub mod ops;
pub mod outcome;
mod placement;
pub mod plan;
pub mod report;
mod storage;
pub mod summary;
pub mod validate;
pub mod views;
mod vm;

pub use any_connection::AnyConnection;
pub use cache::ObjectCache;
pub use connection::{Member, PoolConnection};
pub use membership::{
    CreatePoolOutcome, HostAccess, JoinOutcome, Joined, PoolCreated, create_pool, join,
};
pub use outcome::Outcome;
pub use plan::{OpOptions, Plan, ProgressEvent};
pub use report::{
    CallCounts, Check, CheckSource, CheckStatus, Evidence, FeatureBit, HeterogeneousAnalysis,
    HostIdentity, JoinPolicy, JoinReport, PoolIdentity, Waiver, XapiError,
};
pub use summary::{
    CheckSummary, HostSummary, JoinSummary, OutcomeSummary, PoolSummary, SrSummary, VmSummary,
};
pub use validate::{ValidateOptions, XAPI_MAX_CLOCK_SKEW, validate_join};
pub use views::PoolSnapshot;
