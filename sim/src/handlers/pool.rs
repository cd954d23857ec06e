//! Pool membership and coordination: `pool.join`/`join_force` with xapi's pre-join checks
//! in order, the merge and the member's start-up (docs/pool-operations.md#join); `pool.eject`
//! (docs/pool-operations.md#eject); coordinator changes and emergency recovery
//! (docs/pool-operations.md#coordinator-changes); HA (docs/pool-operations.md#ha).

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::FutureExt;
use indexmap::IndexMap;
use xenpool::wire::Value;
use xenpool::{Caller as _, ConnectOptions, Connection, Credentials, ErrorCode, Protocol, Tls};

use crate::call::{Ctx, Handler, Registry};
use crate::db::{Db, Record};
use crate::failure::{Failure, Outcome};
use crate::model::membership::{
    make_coordinator, merge_into_pool, recompute_pool_cpu_info, remove_host_objects,
};
use crate::model::placement::{host_live, needed_memory};
use crate::model::storage::forget_records;
use crate::profile::map_get;
use crate::sim::{Caller, Sim};
use crate::values::{flag, refs, s, str_of, text, truthy, void};
use crate::world::{World, record};

/// Registers the pool messages.
pub fn register(r: &mut Registry) {
    r.insert(
        "pool.join",
        Handler::Async(|sim, caller, args| join(sim, caller, args, false).boxed()),
    );
    r.insert(
        "pool.join_force",
        Handler::Async(|sim, caller, args| join(sim, caller, args, true).boxed()),
    );
    r.insert(
        "pool.eject",
        Handler::Async(|sim, caller, args| eject(sim, caller, args).boxed()),
    );
    r.insert(
        "pool.designate_new_master",
        Handler::Sync(designate_new_master),
    );
    r.insert(
        "pool.emergency_transition_to_master",
        Handler::Sync(emergency_transition_to_master),
    );
    r.insert(
        "pool.emergency_reset_master",
        Handler::Sync(emergency_reset_master),
    );
    r.insert("pool.recover_slaves", Handler::Sync(recover_slaves));
    // Every host shares the pool's one database here, so there is nothing to flush
    // (`xapi_pool.ml` `sync_database` copies it to the members).
    r.insert("pool.sync_database", Handler::Sync(|_, _| void()));
    r.insert("pool.enable_ha", Handler::Sync(enable_ha));
    r.insert("pool.disable_ha", Handler::Sync(disable_ha));
    r.insert(
        "pool.ha_compute_max_host_failures_to_tolerate",
        Handler::Sync(|ctx, _| Ok(Value::Int(max_failures(ctx.db())))),
    );
    r.insert(
        "pool.set_ha_host_failures_to_tolerate",
        Handler::Sync(set_failures_to_tolerate),
    );
}

/// One side of a join, as records: the joiner's own database, or the remote pool read over
/// the API.
#[derive(Debug, Default)]
pub struct Side {
    pools: IndexMap<String, Record>,
    hosts: IndexMap<String, Record>,
    table: IndexMap<&'static str, IndexMap<String, Record>>,
}

/// The classes the checks read.
const CLASSES: &[&str] = &[
    "PIF",
    "VM",
    "SR",
    "Bond",
    "tunnel",
    "network_sriov",
    "VLAN",
    "network",
    "pool_update",
    "Certificate",
    "SM",
    "Cluster_host",
];

impl Side {
    fn of_db(db: &Db) -> Side {
        let grab = |class: &str| {
            db.all(class)
                .map(|(k, r)| (k.clone(), r.clone()))
                .collect::<IndexMap<_, _>>()
        };
        Side {
            pools: grab("pool"),
            hosts: grab("host"),
            table: CLASSES.iter().map(|c| (*c, grab(c))).collect(),
        }
    }

    async fn of_remote(conn: &Connection) -> Result<Side, xenpool::Error> {
        async fn all(
            conn: &Connection,
            class: &str,
        ) -> Result<IndexMap<String, Record>, xenpool::Error> {
            let v: Value = conn
                .call(&format!("{class}.get_all_records"), true, vec![])
                .await?;
            Ok(match v {
                Value::Struct(m) => m
                    .into_iter()
                    .map(|(k, r)| {
                        (
                            k,
                            if let Value::Struct(r) = r {
                                r
                            } else {
                                Record::new()
                            },
                        )
                    })
                    .collect(),
                _ => IndexMap::new(),
            })
        }
        let mut table = IndexMap::new();
        for class in ["PIF", "network", "pool_update", "Certificate", "SM"] {
            table.insert(class, all(conn, class).await?);
        }
        Ok(Side {
            pools: all(conn, "pool").await?,
            hosts: all(conn, "host").await?,
            table,
        })
    }

    fn pool(&self) -> &Record {
        self.pools.values().next().expect("one pool object")
    }

    fn coordinator_ref(&self) -> String {
        str_of(self.pool(), "master")
    }

    fn coordinator(&self) -> Record {
        self.hosts
            .get(&self.coordinator_ref())
            .cloned()
            .unwrap_or_default()
    }

    fn of(&self, class: &str) -> impl Iterator<Item = (&String, &Record)> {
        self.table.get(class).into_iter().flat_map(|t| t.iter())
    }

    fn management_pif(&self, host: &str) -> Option<Record> {
        self.of("PIF")
            .map(|(_, r)| r)
            .find(|r| str_of(r, "host") == host && truthy(r, "management"))
            .cloned()
    }
}

fn int_of(r: &Record, k: &str) -> i64 {
    match r.get(k) {
        Some(Value::Int(i)) => *i,
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn non_empty(r: &Record, k: &str) -> bool {
    match r.get(k) {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Struct(m)) => !m.is_empty(),
        _ => false,
    }
}

fn compat_name(host: &Record) -> String {
    let brand = map_get(host, "software_version", "product_brand");
    if !brand.is_empty() {
        brand
    } else {
        map_get(host, "software_version", "platform_name")
    }
}

fn sv(host: &Record, key: &str) -> String {
    let v = map_get(host, "software_version", key);
    if v.is_empty() { "none".into() } else { v }
}

fn has_key(host: &Record, field: &str, key: &str) -> bool {
    matches!(host.get(field), Some(Value::Struct(m)) if m.contains_key(key))
}

fn current_ops_contain(pool: &Record, op: &str) -> bool {
    matches!(pool.get("current_operations"), Some(Value::Struct(m)) if m.values().any(|v| v.as_str() == Some(op)))
}

/// v6d's edition order (lowest first); editions it does not know are reported as such.
const EDITIONS: &[&str] = &[
    "free",
    "xcp-ng",
    "trial",
    "standard",
    "per-socket",
    "enterprise-per-socket",
    "premium",
    "enterprise",
];

/// Runs xapi's pre-join checks (`xapi_pool.ml` `pre_join_checks`) in execution order and
/// returns the first failure. `me` is the joiner's host reference.
pub fn pre_join_checks(local: &Side, remote: &Side, me: &str, force: bool) -> Result<(), Failure> {
    let my_pool = local.pool();
    let my_host = local.hosts.get(me).cloned().unwrap_or_default();
    let remote_pool = remote.pool();
    let coordinator = remote.coordinator();
    let coordinator_ref = remote.coordinator_ref();

    // 1. Pool_size licence: a restricted joiner may not make a pool of more than 3.
    if map_get(my_pool, "restrictions", "restrict_pool_size") == "true" && remote.hosts.len() >= 3 {
        return Err(Failure::new(ErrorCode::LicenceRestriction, ["Pool_size"]));
    }
    // 2. A management interface must exist.
    let my_mgmt = local
        .management_pif(me)
        .ok_or_else(|| Failure::code(ErrorCode::HostStillBooting))?;
    // 3. HA must be off here.
    if truthy(my_pool, "ha_enabled") {
        return Err(Failure::code(ErrorCode::HaIsEnabled));
    }
    // 4. No clustering here.
    if let Some((r, _)) = local.of("Cluster_host").find(|(_, r)| truthy(r, "enabled")) {
        return Err(Failure::new(ErrorCode::ClusteringEnabled, [r.clone()]));
    }
    // 5. (clustering networks of the remote: the simulator has no clusters.)
    // 6. HA must be off there.
    if truthy(remote_pool, "ha_enabled") {
        return Err(Failure::code(ErrorCode::HaIsEnabled));
    }
    // 7. Not joining myself.
    if str_of(&coordinator, "uuid") == str_of(&my_host, "uuid") {
        let why = if local.hosts.len() > 1 {
            "Host is already part of a pool"
        } else {
            "Host cannot become slave of itself"
        };
        return Err(Failure::not_allowed(why));
    }
    // 8. Not the coordinator of other hosts.
    if local.hosts.len() > 1 {
        return Err(Failure::code(
            ErrorCode::JoiningHostCannotBeMasterOfOtherHosts,
        ));
    }
    // 9. No running guests (Paused and Suspended are not checked).
    if local
        .of("VM")
        .any(|(_, r)| !truthy(r, "is_control_domain") && str_of(r, "power_state") == "Running")
    {
        return Err(Failure::code(ErrorCode::JoiningHostCannotHaveRunningVms));
    }
    // 10. No VM (dom0 included) with an operation in progress.
    if local
        .of("VM")
        .any(|(_, r)| non_empty(r, "current_operations"))
    {
        return Err(Failure::code(
            ErrorCode::JoiningHostCannotHaveVmsWithCurrentOperations,
        ));
    }
    // 11. No pending mandatory update guidance on either side.
    if non_empty(&my_host, "pending_guidances") {
        return Err(Failure::new(
            ErrorCode::HostPendingMandatoryGuidanceNotEmpty,
            [me],
        ));
    }
    if non_empty(&coordinator, "pending_guidances") {
        return Err(Failure::new(
            ErrorCode::HostPendingMandatoryGuidanceNotEmpty,
            [coordinator_ref.as_str()],
        ));
    }
    // 12. Same platform version and product: not even join_force bypasses this.
    if (sv(&my_host, "platform_version"), compat_name(&my_host))
        != (
            sv(&coordinator, "platform_version"),
            compat_name(&coordinator),
        )
    {
        return Err(Failure::code(ErrorCode::HostsNotCompatible));
    }
    // 13. Homogeneity — the only check join_force skips.
    if !force {
        let software = |h: &Record| {
            (
                sv(h, "xapi"),
                compat_name(h),
                sv(h, "git_id"),
                has_key(h, "software_version", "xs:linux"),
            )
        };
        if software(&my_host) != software(&coordinator) {
            return Err(Failure::new(
                ErrorCode::HostsNotHomogeneous,
                ["Software version differs"],
            ));
        }
        if map_get(&my_host, "cpu_info", "vendor") != map_get(remote_pool, "cpu_info", "vendor") {
            return Err(Failure::new(
                ErrorCode::HostsNotHomogeneous,
                ["CPUs differ"],
            ));
        }
    }
    // 14. No shared SRs (other than the tools SR).
    if local
        .of("SR")
        .any(|(_, r)| truthy(r, "shared") && !truthy(r, "is_tools_sr"))
    {
        return Err(Failure::code(ErrorCode::JoiningHostCannotContainSharedSrs));
    }
    // 15–17. No bonds, tunnels or SR-IOV networks.
    if local.of("Bond").next().is_some() {
        return Err(Failure::code(ErrorCode::PoolJoiningHostHasBonds));
    }
    if local.of("tunnel").next().is_some() {
        return Err(Failure::code(ErrorCode::PoolJoiningHostHasTunnels));
    }
    if local.of("network_sriov").next().is_some() {
        return Err(Failure::code(ErrorCode::PoolJoiningHostHasNetworkSriovs));
    }
    // 18. Only a management VLAN.
    let my_mgmt_ref = local
        .of("PIF")
        .find(|(_, r)| str_of(r, "host") == me && truthy(r, "management"))
        .map(|(k, _)| k.clone())
        .unwrap_or_default();
    if local
        .of("VLAN")
        .any(|(_, r)| str_of(r, "untagged_PIF") != my_mgmt_ref)
    {
        return Err(Failure::code(
            ErrorCode::PoolJoiningHostHasNonManagementVlans,
        ));
    }
    // 19. Management VLAN tags match.
    let remote_mgmt = remote.management_pif(&coordinator_ref).unwrap_or_default();
    let (mine, theirs) = (int_of(&my_mgmt, "VLAN"), int_of(&remote_mgmt, "VLAN"));
    if mine != theirs {
        return Err(Failure::new(
            ErrorCode::PoolJoiningHostManagementVlanDoesNotMatch,
            [mine.to_string(), theirs.to_string()],
        ));
    }
    // 20. External authentication matches.
    if str_of(&my_host, "external_auth_type") != str_of(&coordinator, "external_auth_type")
        || !str_of(&my_host, "external_auth_service_name")
            .eq_ignore_ascii_case(&str_of(&coordinator, "external_auth_service_name"))
    {
        return Err(Failure::code(ErrorCode::PoolJoiningExternalAuthMismatch));
    }
    // 21. Licence editions.
    let my_edition = str_of(&my_host, "edition");
    if !remote
        .hosts
        .values()
        .all(|h| str_of(h, "edition") == my_edition)
    {
        let rank = |e: &str| EDITIONS.iter().position(|x| *x == e);
        let pool_edition = remote
            .hosts
            .values()
            .map(|h| str_of(h, "edition"))
            .min_by_key(|e| rank(e).unwrap_or(usize::MAX))
            .unwrap_or_default();
        if rank(&pool_edition).is_none() {
            return Err(Failure::new(
                ErrorCode::LicenseHostPoolMismatch,
                [format!(
                    "Edition \"{pool_edition}\" from pool is not known to v6d."
                )],
            ));
        }
        if rank(&my_edition) != rank(&pool_edition) {
            return Err(Failure::new(
                ErrorCode::LicenseHostPoolMismatch,
                [
                    format!("host edition = \"{my_edition}\""),
                    format!("pool edition = \"{pool_edition}\""),
                ],
            ));
        }
    }
    // 22. Same network back-end.
    let backend = |h: &Record| {
        let b = map_get(h, "software_version", "network_backend");
        if b.is_empty() {
            "bridge".to_string()
        } else {
            b
        }
    };
    if backend(&my_host) != backend(&coordinator) {
        return Err(Failure::not_allowed("Network backends differ"));
    }
    // 23. Same API version.
    let api = |h: &Record| {
        format!(
            "{}.{}",
            int_of(h, "API_version_major"),
            int_of(h, "API_version_minor")
        )
    };
    if api(&my_host) != api(&coordinator) {
        return Err(Failure::new(
            ErrorCode::PoolJoiningHostMustHaveSameApiVersion,
            [api(&my_host), api(&coordinator)],
        ));
    }
    // 24. Same database schema.
    let (my_schema, their_schema) = (
        map_get(&my_host, "software_version", "db_schema"),
        map_get(&coordinator, "software_version", "db_schema"),
    );
    if my_schema.is_empty() || their_schema.is_empty() || my_schema != their_schema {
        return Err(Failure::new(
            ErrorCode::PoolJoiningHostMustHaveSameDbSchema,
            [my_schema, their_schema],
        ));
    }
    // 25. Same homogeneity-enforcing updates: not bypassed by join_force.
    let updates = |side: &Side, host: &str| -> BTreeSet<String> {
        side.of("pool_update")
            .filter(|(_, u)| {
                truthy(u, "enforce_homogeneity")
                    && refs(u.get("hosts").unwrap_or(&Value::Nil))
                        .iter()
                        .any(|h| h == host)
            })
            .map(|(_, u)| str_of(u, "uuid"))
            .collect()
    };
    if updates(local, me) != updates(remote, &coordinator_ref) {
        return Err(Failure::new(
            ErrorCode::HostsNotHomogeneous,
            [format!(
                "Updates on local host {} and pool host {} differ",
                str_of(&my_host, "name_label"),
                str_of(&coordinator, "name_label")
            )],
        ));
    }
    // 26. Same primary address type.
    if str_of(&my_mgmt, "primary_address_type") != str_of(&remote_mgmt, "primary_address_type") {
        return Err(Failure::not_allowed("Primary address type differs"));
    }
    // 27. Compatible NBD purposes.
    let purpose = |side: &Side| {
        side.of("network").find_map(|(_, n)| {
            refs(n.get("purpose").unwrap_or(&Value::Nil))
                .into_iter()
                .find(|p| p == "nbd" || p == "insecure_nbd")
        })
    };
    if let (Some(a), Some(b)) = (purpose(local), purpose(remote))
        && a != b
    {
        return Err(Failure::not_allowed(
            "Incompatible network purposes: nbd and insecure_nbd",
        ));
    }
    // 28. Same TLS verification setting.
    if truthy(my_pool, "tls_verification_enabled")
        != truthy(remote_pool, "tls_verification_enabled")
    {
        return Err(Failure::code(
            ErrorCode::PoolJoiningHostTlsVerificationMismatch,
        ));
    }
    // 29. No CA certificate name clash with another fingerprint.
    for (_, mine) in local
        .of("Certificate")
        .filter(|(_, c)| str_of(c, "type") == "ca" && !str_of(c, "name").is_empty())
    {
        if remote.of("Certificate").any(|(_, c)| {
            str_of(c, "type") == "ca"
                && str_of(c, "name") == str_of(mine, "name")
                && str_of(c, "fingerprint") != str_of(mine, "fingerprint")
        }) {
            return Err(Failure::new(
                ErrorCode::PoolJoiningHostCaCertificatesConflict,
                [str_of(mine, "name")],
            ));
        }
    }
    // 30. (trusted-certificate purposes: the simulator has no purposes to conflict.)
    // 31–32. No rolling update in progress on either side.
    if current_ops_contain(my_pool, "apply_updates")
        || current_ops_contain(remote_pool, "apply_updates")
    {
        return Err(Failure::code(ErrorCode::NotSupportedDuringUpgrade));
    }
    // 33. The joiner has every SM driver of the pool, with no fewer features.
    for (pool_sm, sm) in remote.of("SM") {
        let kind = str_of(sm, "type");
        let mine: Vec<(&String, &Record)> = local
            .of("SM")
            .filter(|(_, m)| str_of(m, "type") == kind)
            .collect();
        if mine.len() != 1 {
            return Err(Failure::new(
                ErrorCode::PoolJoiningSmFeaturesIncompatible,
                [pool_sm.clone(), String::new()],
            ));
        }
        let features = |r: &Record| match r.get("features") {
            Some(Value::Struct(m)) => m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        match v {
                            Value::Int(i) => *i,
                            Value::String(s) => s.parse().unwrap_or(0),
                            _ => 0,
                        },
                    )
                })
                .collect::<IndexMap<_, _>>(),
            _ => IndexMap::new(),
        };
        let (theirs, ours) = (features(sm), features(mine[0].1));
        if theirs
            .iter()
            .any(|(k, v)| ours.get(k).is_none_or(|o| o < v))
        {
            return Err(Failure::new(
                ErrorCode::PoolJoiningSmFeaturesIncompatible,
                [pool_sm.clone(), mine[0].0.clone()],
            ));
        }
    }
    Ok(())
}

async fn join(sim: Sim, caller: Arc<Caller>, args: Vec<Value>, force: bool) -> Outcome {
    let (address, user, password) = (text(&args[0]), text(&args[1]), text(&args[2]));
    let (local, me, url) = {
        let world = sim.world();
        let host = &world.hosts[caller.host];
        let pool = world.pool(caller.host);
        // P1: pooling must be licensed here.
        let pool_rec = pool
            .db
            .get("pool", &World::pool_ref(&pool.db))
            .cloned()
            .unwrap_or_default();
        if map_get(&pool_rec, "restrictions", "restrict_pooling") == "true" {
            return Err(Failure::code(ErrorCode::LicenceRestriction));
        }
        // An address that names no simulated host is a name that does not resolve: the
        // connection fails (`xapi_pool.ml` `rpc`).
        let Some(target) = world.resolve(&address) else {
            return Err(Failure::code(ErrorCode::JoiningHostConnectionFailed));
        };
        (
            Side::of_db(&pool.db),
            host.host_ref.clone(),
            world.hosts[target].url.clone(),
        )
    };
    // P2: log into the pool over the network, without verifying TLS for this first
    // session (as xapi does). xapi's client does not follow HOST_IS_SLAVE: a member's
    // answer is the join's answer.
    let options = ConnectOptions {
        tls: Tls::Insecure,
        protocol: Protocol::JsonRpc,
        originator: Some("xapi".into()),
        ..Default::default()
    };
    first_login(&url, &user, &password, &options).await?;
    let credentials = Credentials::new(user, password);
    let conn = Connection::login(&url, credentials, options)
        .await
        .map_err(login_failure)?;
    let remote = Side::of_remote(&conn).await;
    let _ = conn.logout().await;
    let remote = remote.map_err(|e| match e {
        xenpool::Error::Api(e) => Failure::from(e),
        other => Failure::internal(other.to_string()),
    })?;
    // P3: exactly one pool object.
    if remote.pools.len() != 1 {
        return Err(Failure::internal(format!(
            "expected one pool object, found {}",
            remote.pools.len()
        )));
    }
    pre_join_checks(&local, &remote, &me, force)?;

    let delay = {
        let mut world = sim.world();
        let Some(master) = world.resolve(&address) else {
            return Err(Failure::code(ErrorCode::JoiningHostConnectionFailed));
        };
        merge_into_pool(&mut world, caller.host, master);
        let pool = world.hosts[master].pool;
        world.check_clock_skew(pool);
        world.config.xapi_restart_delay
    };
    // The joiner's xapi restarts as a member.
    tokio::time::sleep(delay).await;
    void()
}

/// The joiner's first login, as a plain call that does not follow redirects: a member
/// answers `HOST_IS_SLAVE [its coordinator]`, a wrong password `SESSION_AUTHENTICATION_FAILED`.
async fn first_login(
    url: &str,
    user: &str,
    password: &str,
    options: &ConnectOptions,
) -> Result<(), Failure> {
    let transport = xenpool::transport::Transport::new(url, Arc::new(options.clone()))
        .map_err(login_failure)?;
    let params = [s(user), s(password), s("2.23"), s("xapi")];
    let reply = transport
        .call::<String>("session.login_with_password", &params, None)
        .await
        .map_err(login_failure)?;
    match reply.response {
        xenpool::wire::Response::Success(session) => {
            let _ = transport
                .call::<Value>("session.logout", &[s(session)], None)
                .await;
            Ok(())
        }
        xenpool::wire::Response::Failure(description) => Err(Failure(description)),
    }
}

/// xapi's mapping of the joiner's login failures (`xapi_pool.ml` `join_common`).
fn login_failure(e: xenpool::Error) -> Failure {
    match e {
        xenpool::Error::Api(e) => Failure::from(e),
        xenpool::Error::Transport {
            may_have_reached_host: false,
            ..
        }
        | xenpool::Error::Timeout { .. } => Failure::code(ErrorCode::JoiningHostConnectionFailed),
        _ => Failure::code(ErrorCode::JoiningHostServiceFailed),
    }
}

async fn eject(sim: Sim, caller: Arc<Caller>, args: Vec<Value>) -> Outcome {
    let host_ref = text(&args[0]);
    let (index, delay) = {
        let mut world = sim.world();
        let pool = world.hosts[caller.host].pool;
        let index = world
            .host_by_ref(pool, &host_ref)
            .ok_or_else(|| Failure::handle_invalid("host", &host_ref))?;
        let master_ref = world
            .coordinator(pool)
            .map(|m| world.hosts[m].host_ref.clone())
            .unwrap_or_default();
        let db = world.db(caller.host);
        let pool_ref = World::pool_ref(db);
        let pool_rec = db.get("pool", &pool_ref).cloned().unwrap_or_default();
        if truthy(&pool_rec, "ha_enabled") {
            return Err(Failure::code(ErrorCode::HaIsEnabled));
        }
        if current_ops_contain(&pool_rec, "apply_updates") {
            return Err(Failure::code(ErrorCode::NotSupportedDuringUpgrade));
        }
        // There is no dedicated code: xapi's exception escapes as an internal error.
        if host_ref == master_ref {
            return Err(Failure::internal("Xapi_pool.Cannot_eject_master"));
        }
        let busy = db.find("VM", |r| {
            str_of(r, "resident_on") == host_ref
                && !truthy(r, "is_control_domain")
                && str_of(r, "power_state") != "Halted"
        });
        if !busy.is_empty() {
            return Err(Failure::not_allowed("VM resident on host"));
        }
        // Unplug its PBDs; SRs whose only PBD was this one are forgotten.
        for pbd in db.find("PBD", |r| str_of(r, "host") == host_ref) {
            let sr = db.str_field("PBD", &pbd, "SR");
            db.delete("PBD", &pbd);
            if db.find("PBD", |r| str_of(r, "SR") == sr).is_empty() {
                forget_records(db, &sr);
            }
        }
        remove_host_objects(db, &host_ref);
        recompute_pool_cpu_info(db);
        (index, world.config.xapi_restart_delay)
    };
    // The host resets itself and reboots into a fresh standalone install, keeping its
    // management IP configuration and the pool's root password.
    let sim2 = sim.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        sim2.reset_to_standalone(index);
    });
    void()
}

fn designate_new_master(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let host = ctx.existing("host", &args[0])?;
    let pool = ctx.pool_id();
    let pool_ref = World::pool_ref(ctx.db());
    if flag(
        ctx.db()
            .get_field("pool", &pool_ref, "ha_enabled")
            .unwrap_or(&Value::Nil),
    ) {
        return Err(Failure::code(ErrorCode::HaIsEnabled));
    }
    let Some(index) = ctx.world.host_by_ref(pool, &host) else {
        return Err(Failure::handle_invalid("host", &host));
    };
    make_coordinator(ctx.world, pool, index);
    void()
}

fn emergency_transition_to_master(ctx: &mut Ctx<'_>, _args: Vec<Value>) -> Outcome {
    let pool_ref = World::pool_ref(ctx.db());
    if flag(
        ctx.db()
            .get_field("pool", &pool_ref, "ha_enabled")
            .unwrap_or(&Value::Nil),
    ) {
        return Err(Failure::code(ErrorCode::HaIsEnabled));
    }
    let host = ctx.caller.host;
    let me = ctx.host_ref();
    ctx.world.hosts[host].master_address = None;
    ctx.db().set_field("pool", &pool_ref, "master", s(me));
    void()
}

fn emergency_reset_master(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let address = text(&args[0]);
    let host = ctx.caller.host;
    ctx.world.hosts[host].master_address = if address == ctx.world.hosts[host].address {
        None
    } else {
        Some(address)
    };
    void()
}

fn recover_slaves(ctx: &mut Ctx<'_>, _args: Vec<Value>) -> Outcome {
    let pool = ctx.pool_id();
    let me = ctx.caller.host;
    let address = ctx.world.hosts[me].address.clone();
    let mut recovered = Vec::new();
    let mut unreachable = Vec::new();
    for i in ctx.world.members(pool) {
        if i == me {
            continue;
        }
        if ctx.world.hosts[i].alive {
            ctx.world.hosts[i].master_address = Some(address.clone());
            recovered.push(s(ctx.world.hosts[i].host_ref.clone()));
        } else {
            unreachable.push(ctx.world.hosts[i].host_ref.clone());
        }
    }
    // The new coordinator hears no heartbeat from members that are down: not live.
    let db = ctx.db();
    for host in unreachable {
        let metrics = db.str_field("host", &host, "metrics");
        db.update("host_metrics", &metrics, |r| {
            r.insert("live".into(), Value::Bool(false));
        });
    }
    Ok(Value::Array(recovered))
}

fn enable_ha(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let wanted = refs(&args[0]);
    let configuration = args[1].clone();
    let db = ctx.db();
    let pool_ref = World::pool_ref(db);
    let pool_rec = db.get("pool", &pool_ref).cloned().unwrap_or_default();
    if truthy(&pool_rec, "ha_enabled") {
        return Err(Failure::code(ErrorCode::HaIsEnabled));
    }
    if map_get(&pool_rec, "restrictions", "enable_xha") != "true" {
        return Err(Failure::new(ErrorCode::LicenceRestriction, ["HA"]));
    }
    let unplugged: Vec<String> = db.find("PIF", |r| {
        truthy(r, "disallow_unplug") && !truthy(r, "currently_attached")
    });
    if !unplugged.is_empty() {
        return Err(Failure::new(ErrorCode::RequiredPifIsUnplugged, unplugged));
    }
    let hosts: Vec<String> = db.all("host").map(|(k, _)| k.clone()).collect();
    if let Some(dead) = hosts.iter().find(|h| !host_live(db, h)) {
        return Err(Failure::new(ErrorCode::HostOffline, [dead.clone()]));
    }
    // The heartbeat SR needs a plugged PBD on every host.
    let qualifies = |db: &Db, sr: &str| -> Result<(), Failure> {
        for h in &hosts {
            let plugged = db
                .find("PBD", |r| str_of(r, "SR") == sr && str_of(r, "host") == *h)
                .iter()
                .any(|p| {
                    flag(
                        db.get_field("PBD", p, "currently_attached")
                            .unwrap_or(&Value::Nil),
                    )
                });
            if !plugged {
                return Err(Failure::raw("SR_NO_PBDS", [sr]));
            }
        }
        Ok(())
    };
    let sr = match wanted.first() {
        Some(sr) => {
            if !db.exists("SR", sr) {
                return Err(Failure::handle_invalid("SR", sr));
            }
            qualifies(db, sr)?;
            sr.clone()
        }
        None => db
            .all("SR")
            .map(|(k, _)| k.clone())
            .find(|sr| qualifies(db, sr).is_ok())
            .ok_or_else(|| Failure::code(ErrorCode::CannotCreateStateFile))?,
    };
    let statefile = db.create(
        "VDI",
        record([
            ("name_label", s("Statefile for HA")),
            ("SR", s(sr.clone())),
            ("virtual_size", Value::Int(4096 + 64 * 4096)),
            ("type", s("ha_statefile")),
        ]),
    );
    db.create(
        "VDI",
        record([
            ("name_label", s("Metadata for HA")),
            ("SR", s(sr)),
            ("virtual_size", Value::Int(256 << 20)),
            ("type", s("redo_log")),
        ]),
    );
    db.update("pool", &pool_ref, |r| {
        r.insert("ha_enabled".into(), Value::Bool(true));
        r.insert("ha_statefiles".into(), Value::Array(vec![s(statefile)]));
        r.insert("ha_configuration".into(), configuration);
        r.insert("ha_plan_exists_for".into(), Value::Int(0));
        r.insert("ha_cluster_stack".into(), s("xhad"));
    });
    let n = max_failures(db);
    db.update("pool", &pool_ref, |r| {
        r.insert("ha_plan_exists_for".into(), Value::Int(n));
    });
    void()
}

fn disable_ha(ctx: &mut Ctx<'_>, _args: Vec<Value>) -> Outcome {
    let db = ctx.db();
    let pool_ref = World::pool_ref(db);
    if !flag(
        db.get_field("pool", &pool_ref, "ha_enabled")
            .unwrap_or(&Value::Nil),
    ) {
        return Err(Failure::code(ErrorCode::HaNotEnabled));
    }
    for vdi in db.find("VDI", |r| {
        matches!(str_of(r, "type").as_str(), "ha_statefile" | "redo_log")
    }) {
        db.delete("VDI", &vdi);
    }
    db.update("pool", &pool_ref, |r| {
        r.insert("ha_enabled".into(), Value::Bool(false));
        r.insert("ha_statefiles".into(), Value::Array(vec![]));
        r.insert("ha_plan_exists_for".into(), Value::Int(0));
        r.insert("ha_cluster_stack".into(), s(""));
    });
    void()
}

/// The largest number of host failures after which every protected VM can still run:
/// protected memory is packed onto the smallest surviving hosts.
pub fn max_failures(db: &Db) -> i64 {
    let mut capacity: Vec<i64> = db
        .all("host")
        .filter(|(h, _)| host_live(db, h))
        .map(|(h, _)| {
            let metrics = db.str_field("host", h, "metrics");
            match db.get_field("host_metrics", &metrics, "memory_total") {
                Some(Value::Int(t)) => *t - (4 << 30),
                _ => 0,
            }
        })
        .collect();
    capacity.sort();
    let protected: i64 = db
        .find("VM", |r| {
            str_of(r, "ha_restart_priority") == "restart"
                && truthy(r, "ha_always_run")
                && !truthy(r, "is_a_template")
        })
        .iter()
        .map(|v| needed_memory(db, v))
        .sum();
    let hosts = capacity.len() as i64;
    (0..hosts)
        .rev()
        .find(|&n| capacity[..(hosts - n) as usize].iter().sum::<i64>() >= protected)
        .unwrap_or(0)
}

fn set_failures_to_tolerate(ctx: &mut Ctx<'_>, args: Vec<Value>) -> Outcome {
    let pool = ctx.existing("pool", &args[0])?;
    let value = if let Value::Int(v) = args[1] { v } else { -1 };
    if value < 0 {
        return Err(Failure::new(
            ErrorCode::InvalidValue,
            [
                "ha_host_failures_to_tolerate".to_string(),
                value.to_string(),
            ],
        ));
    }
    let db = ctx.db();
    let max = max_failures(db);
    let plan_exists =
        matches!(db.get_field("pool", &pool, "ha_plan_exists_for"), Some(Value::Int(n)) if *n > 0);
    if plan_exists && value > max {
        return Err(Failure::code(ErrorCode::HaOperationWouldBreakFailoverPlan));
    }
    db.update("pool", &pool, |r| {
        r.insert("ha_host_failures_to_tolerate".into(), Value::Int(value));
        r.insert("ha_overcommitted".into(), Value::Bool(value > max));
    });
    void()
}
