//! Pool behaviour that several message areas share (placement, bonds, membership,
//! alerts, migration), and that scenario building and HA reuse. The handlers call into
//! this layer; nothing here knows about handlers or dispatch.

pub mod membership;
pub mod messages;
pub mod migration;
pub mod network;
pub mod placement;
pub mod storage;
