//! Every pool workflow on a [`super::PoolConnection`] under one name, as front ends call
//! them (`ops::eject`, `ops::migrate`): each lives in the module of its workflow. Each has a
//! dry run returning its [`super::Plan`], reports progress, and returns an
//! [`super::Outcome`].

pub use super::bonds::{
    BondCreated, BondOutcome, BondProblem, BondsRepaired, HostBond, RepairOutcome, bond_mode,
    check_bonds, create_bond, repair_bonds,
};
pub use super::eject::{EjectOptions, EjectOutcome, Ejected, eject};
pub use super::ha::{
    HaEnabled, HaOutcome, Recovered, RecoveryOptions, RecoveryOutcome, disable_ha, enable_ha,
    recover_lost_coordinator,
};
pub use super::placement::{MoveOutcome, Moved, disable_host, enable_host, evacuate, migrate};
pub use super::storage::{SrCreated, SrOutcome, create_nfs_sr};
pub use super::vm::{VmCreated, VmOutcome, VmSpec, create_vm};
