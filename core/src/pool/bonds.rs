//! Pool-wide bonds: creating one on every host, and finding and repairing the members'
//! bonds a join copied onto the wrong NICs.

use serde::Serialize;

use super::connection::PoolConnection;
use super::outcome::Outcome;
use super::plan::{OpOptions, Plan, Progress, refused};
use super::views::PoolSnapshot;
use crate::error::{Error, Refusal, Result};
use crate::generated::{Bond, BondCreateOptions, BondMode, Host, Network, NetworkRecord, Pif};
use crate::types::Ref;

/// A bond created on one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostBond {
    /// Host name.
    pub host: String,
    /// The bond.
    pub bond: String,
    /// Member devices.
    pub members: Vec<String>,
}

/// What [`create_bond`] did.
pub type BondOutcome = Outcome<BondCreated>;

/// [`create_bond`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct BondCreated {
    /// The bond network.
    pub network: String,
    /// Bonds per host.
    pub bonds: Vec<HostBond>,
}

/// A bond mode as a user types it, in any case (`LACP`, `balance-slb`); a name xapi does
/// not know stays `Unknown`, which [`create_bond`] refuses.
pub fn bond_mode(text: &str) -> BondMode {
    BondMode::from_wire(&text.trim().to_ascii_lowercase())
}

/// Creates a bond over the NICs named `devices` on every host of the pool, all carrying
/// one new network — what XenCenter does for a pool-wide bond.
pub async fn create_bond(
    pool: &PoolConnection,
    devices: &[&str],
    mode: BondMode,
    network_name: &str,
    options: &OpOptions,
) -> Result<BondOutcome> {
    if let BondMode::Unknown(m) = &mode {
        return Err(Error::invalid_argument(
            "mode",
            format!(
                "bond mode must be one of {}, not {m:?}",
                BondMode::WIRE_VALUES.join(", ")
            ),
        ));
    }
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let operation = format!("bond {} as {network_name}", devices.join("+"));
        let mut problems = Vec::new();
        let mut members: Vec<(String, Ref<Host>, Vec<Ref<Pif>>)> = Vec::new();
        for host in snap.hosts() {
            let mut pifs = Vec::new();
            for d in devices {
                match host.nic(d) {
                    Some(p) if p.bond().is_some() => problems.push(Refusal::new(
                        "nic_free",
                        format!("{} {d} is already in a bond", host.name()),
                    )),
                    Some(p) => pifs.push(p.r.clone()),
                    None => problems.push(Refusal::new(
                        "nic_present",
                        format!("{} has no NIC {d}", host.name()),
                    )),
                }
            }
            members.push((host.name().to_string(), host.r.clone(), pifs));
        }
        if devices.is_empty() {
            problems.push(Refusal::new("devices", "a bond needs at least one NIC"));
        }
        if !problems.is_empty() {
            return Err(refused(&operation, problems));
        }
        let coordinator = snap.coordinator_name();
        let mut plan = Plan::new(&operation);
        plan.call(
            &coordinator,
            "network.create",
            &[network_name],
            "the network the bonds carry",
        );
        for (host, _, _) in &members {
            plan.call(
                &coordinator,
                "Bond.create",
                &[&format!("{host}: {}", devices.join("+")), mode.wire()],
                format!("bond on {host}"),
            );
        }
        if options.dry_run {
            return Ok(Outcome::dry_run(
                plan,
                BondCreated {
                    network: network_name.into(),
                    bonds: vec![],
                },
            ));
        }
        let mut progress = Progress::new(options, plan.calls.len());
        progress.step(format!("creating network {network_name}"));
        let network = Network::create(
            pool,
            &NetworkRecord {
                name_label: network_name.into(),
                ..Default::default()
            },
        )
        .await?;
        let mut bonds = Vec::new();
        for (host, _, pifs) in members {
            progress.step(format!("bonding {} on {host}", devices.join("+")));
            let optional = BondCreateOptions {
                mode: Some(mode.clone()),
                properties: None,
            };
            let bond = Bond::create_with(pool, &network, &pifs, "", &optional).await?;
            bonds.push(HostBond {
                host,
                bond: bond.into_string(),
                members: devices.iter().map(|d| d.to_string()).collect(),
            });
        }
        Ok(Outcome::done(
            plan,
            BondCreated {
                network: network_name.into(),
                bonds,
            },
        ))
    })
    .await
}

/// A member's bond that does not match the coordinator's bond on the same network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BondProblem {
    /// Host name.
    pub host: String,
    /// The bond network's name.
    pub network: String,
    /// The member's bond, if it has one.
    pub bond: Option<String>,
    /// Devices now in the bond.
    pub members: Vec<String>,
    /// Devices that should be, judged by the coordinator's bond (link speeds).
    pub expected: Vec<String>,
    /// What is wrong.
    pub reason: String,
}

/// Finds members whose bonds sit on the wrong NICs. After a join, xapi copies each of the
/// coordinator's bonds onto the NICs at the same positions (the N of `xenbrN`,
/// docs/pool-operations.md#bonds-after-a-join), which are the wrong NICs when hosts are cabled
/// differently.
/// The coordinator's bond is the reference: a member's bond should use as many NICs of the
/// same link speeds, none of them carrying management.
pub fn check_bonds(snap: &PoolSnapshot) -> Vec<BondProblem> {
    let Some(master) = snap.pool().master() else {
        return vec![];
    };
    let mut problems = Vec::new();
    for reference in master.pifs().into_iter().filter_map(|p| p.bond_master_of()) {
        let Some(network) = reference.network() else {
            continue;
        };
        let mut wanted: Vec<i64> = reference.members().iter().map(|m| m.speed_mbps()).collect();
        wanted.sort_unstable();
        for host in snap.hosts().into_iter().filter(|h| !h.is_coordinator()) {
            let bond = host
                .pifs()
                .into_iter()
                .filter(|p| p.record.network == network.r)
                .find_map(|p| p.bond_master_of());
            let members: Vec<String> = bond
                .as_ref()
                .map(|b| {
                    b.members()
                        .iter()
                        .map(|m| m.record.device.clone())
                        .collect()
                })
                .unwrap_or_default();
            let mut speeds: Vec<i64> = bond
                .as_ref()
                .map(|b| b.members().iter().map(|m| m.speed_mbps()).collect())
                .unwrap_or_default();
            speeds.sort_unstable();
            let mut expected = Vec::new();
            // The right NICs: physical ones, free or in this bond, never the one that
            // carries (or, once the bond is gone, gets back) management.
            let bond_ref = bond.as_ref().map(|b| b.r.clone());
            let management_member = bond
                .as_ref()
                .filter(|b| b.master().is_some_and(|m| m.record.management))
                .map(|b| b.record.primary_slave.clone());
            let mut free: Vec<_> = host
                .pifs()
                .into_iter()
                .filter(|p| p.record.physical && !p.record.management)
                .filter(|p| p.bond().map(|b| b.r) == bond_ref || p.bond().is_none())
                .filter(|p| management_member.as_ref() != Some(&p.r))
                .collect();
            free.sort_by(|a, b| a.record.device.cmp(&b.record.device));
            for speed in &wanted {
                if let Some(i) = free.iter().position(|p| p.speed_mbps() == *speed) {
                    expected.push(free.remove(i).record.device.clone());
                }
            }
            let reason = match &bond {
                None => Some("no bond on this network".to_string()),
                Some(_) if speeds != wanted => Some(format!(
                    "bonded NICs run at {speeds:?} Mbit/s; the coordinator's bond uses {wanted:?}"
                )),
                Some(b)
                    if b.master().is_some_and(|m| m.record.management)
                        && !reference.master().is_some_and(|m| m.record.management) =>
                {
                    Some("the bond took over the management interface".to_string())
                }
                _ => None,
            };
            if let Some(reason) = reason {
                problems.push(BondProblem {
                    host: host.name().to_string(),
                    network: network.record.name_label.clone(),
                    bond: bond.map(|b| b.r.into_string()),
                    members,
                    expected,
                    reason,
                });
            }
        }
    }
    problems
}

/// What [`repair_bonds`] did.
pub type RepairOutcome = Outcome<BondsRepaired>;

/// [`repair_bonds`]'s own part of its outcome (serialised beside `plan`, `executed` and
/// `complete`).
#[derive(Debug, Clone, Serialize)]
pub struct BondsRepaired {
    /// The problems found (and, unless a dry run, repaired).
    pub problems: Vec<BondProblem>,
}

/// Repairs the bonds [`check_bonds`] finds: destroys each wrong bond and creates it again
/// on the proper NICs and network, with the coordinator's mode and properties.
pub async fn repair_bonds(pool: &PoolConnection, options: &OpOptions) -> Result<RepairOutcome> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let snap = PoolSnapshot::fetch(pool).await?;
        let problems = check_bonds(&snap);
        let coordinator = snap.coordinator_name();
        let mut plan = Plan::new("repair bonds");
        let mut actions = Vec::new();
        for problem in &problems {
            if problem.expected.is_empty() {
                plan.warn(format!(
                    "{}: no free NICs match the coordinator's bond on {}; fix the cabling",
                    problem.host, problem.network
                ));
                continue;
            }
            let host = snap.find_host(&problem.host)?;
            let network = snap
                .networks
                .iter()
                .find(|(_, n)| n.name_label == problem.network)
                .map(|(r, _)| r.clone());
            let reference = snap.pool().master().and_then(|m| {
                m.pifs()
                    .into_iter()
                    .filter_map(|p| p.bond_master_of())
                    .find(|b| b.network().map(|n| n.r) == network)
            });
            let (Some(network), Some(reference)) = (network, reference) else {
                continue;
            };
            if let Some(bond) = &problem.bond {
                plan.call(
                    &coordinator,
                    "Bond.destroy",
                    &[bond],
                    format!(
                        "remove {}'s bond over {}",
                        problem.host,
                        problem.members.join("+")
                    ),
                );
            }
            plan.call(
                &coordinator,
                "Bond.create",
                &[
                    &format!("{}: {}", problem.host, problem.expected.join("+")),
                    reference.record.mode.wire(),
                ],
                format!("bond the right NICs of {}", problem.host),
            );
            let pifs: Vec<Ref<Pif>> = problem
                .expected
                .iter()
                .filter_map(|d| host.nic(d))
                .map(|p| p.r.clone())
                .collect();
            actions.push((
                problem.bond.clone().map(Ref::<Bond>::new),
                network,
                pifs,
                reference.record.mode.clone(),
                reference.record.properties.clone(),
                problem.host.clone(),
            ));
        }
        if options.dry_run || actions.is_empty() {
            return Ok(Outcome::new(
                plan,
                !options.dry_run,
                BondsRepaired { problems },
            ));
        }
        let mut progress = Progress::new(options, plan.calls.len());
        for (bond, network, pifs, mode, properties, host) in actions {
            if let Some(bond) = bond {
                progress.step(format!("destroying the wrong bond on {host}"));
                Bond::destroy(pool, &bond).await?;
            }
            progress.step(format!("bonding the right NICs on {host}"));
            let optional = BondCreateOptions {
                mode: Some(mode),
                properties: Some(properties),
            };
            Bond::create_with(pool, &network, &pifs, "", &optional).await?;
        }
        Ok(Outcome::done(plan, BondsRepaired { problems }))
    })
    .await
}
