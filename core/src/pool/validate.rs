//! The join pre-flight: reads the pool and a standalone candidate host with a handful of
//! `get_all_records` calls each, then runs xapi's pre-join checks in xapi's order with
//! the exact codes and parameters (pool-operations.md §(a)) and the pooling
//! documentation's extra demands, without changing anything on either side.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::features;
use super::report::{
    CallCounts, Check, CheckSource, CheckStatus, Evidence, FeatureBit, HeterogeneousAnalysis,
    HostIdentity, JoinReport, PoolIdentity, XapiError,
};
use crate::call::Caller;
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::generated::{
    Bond, BondRecord, Certificate, CertificateRecord, CertificateType, Cluster, ClusterHost,
    ClusterHostRecord, ClusterRecord, ErrorCode, Host, HostRecord, IpConfigurationMode, Network,
    NetworkPurpose, NetworkRecord, NetworkSriov, NetworkSriovRecord, Pif, PifRecord, Pool,
    PoolAllowedOperations, PoolRecord, PoolUpdate, PoolUpdateRecord, SdnController,
    SdnControllerRecord, Sm, SmRecord, Sr, SrRecord, Tunnel, TunnelRecord, Vlan, VlanRecord, Vm,
    VmPowerState, VmRecord,
};
use crate::secret::Credentials;
use crate::transport::ConnectOptions;
use crate::types::{DateTime, Ref};
use crate::wire::Value;

/// The clock difference above which xapi's coordinator raises the `HOST_CLOCK_SKEW_DETECTED`
/// alert for a member (`xapi_globs.ml` `max_clock_skew`, pool-operations.md §(a)).
pub const XAPI_MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// How [`validate_join`] reaches the candidate and how strict it is.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Connection options for the candidate (TLS policy, timeouts, encoding).
    pub connect: ConnectOptions,
    /// Clock skew against the coordinator above which the report warns (default 60 s).
    /// Above [`XAPI_MAX_CLOCK_SKEW`] (300 s) it fails: xapi would alert right after the join.
    pub clock_skew_threshold: Duration,
    /// Pool size above which the report warns (default 16, a vendor support statement;
    /// xapi enforces no limit, pool-operations.md §(h)).
    pub supported_pool_size: usize,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            connect: ConnectOptions::default(),
            // 60 s: well under xapi's 300 s alert, so an NTP problem shows before xapi
            // complains, yet far above the 1 s resolution of host.get_servertime.
            clock_skew_threshold: Duration::from_secs(60),
            supported_pool_size: 16,
        }
    }
}

/// Checks whether the host at `candidate_url` can join the pool behind `pool` (a session on
/// its coordinator), without changing either side.
///
/// Logs into the candidate with its own `candidate` credentials and logs out afterwards.
/// Errors: the candidate is unreachable (`Error::Transport`/`Error::Timeout`/`Error::Tls`),
/// refuses the credentials (`Error::Api` with `SESSION_AUTHENTICATION_FAILED`), or a call
/// on either side fails. A candidate that is a member of a pool — this one included — is
/// not an error: the report's `not_pool_member` check fails with `HOST_IS_SLAVE`.
pub async fn validate_join(
    pool: &impl Caller,
    candidate_url: &str,
    candidate: &Credentials,
    options: &ValidateOptions,
) -> Result<JoinReport> {
    // Boxed so callers' futures stay small (deep workflows overflow debug stacks).
    Box::pin(async move {
        let requested = normalise_url(candidate_url)?;
        let conn =
            Connection::login(candidate_url, candidate.clone(), options.connect.clone()).await?;
        let result = run(pool, &conn, &requested, options).await;
        let logout = conn.logout().await;
        let mut report = result?;
        logout?;
        // session.login_with_password and session.logout.
        report.calls.candidate += 2;
        Ok(report)
    })
    .await
}

async fn run(
    pool: &impl Caller,
    conn: &Connection,
    requested: &reqwest::Url,
    options: &ValidateOptions,
) -> Result<JoinReport> {
    let (pool_calls, candidate_calls) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let remote_caller = Counting {
        inner: pool,
        calls: &pool_calls,
    };
    let local_caller = Counting {
        inner: conn,
        calls: &candidate_calls,
    };
    let (remote, local) = futures::try_join!(
        Side::read_pool(&remote_caller),
        Side::read_candidate(&local_caller)
    )?;

    // The client follows HOST_IS_SLAVE at login; a changed URL means the candidate is a
    // member and `local` is its pool's database (which is also what xapi checks on a member).
    let redirected = conn.url() != requested.as_str();
    let me = if redirected {
        let address = requested
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        local.hosts.iter().find(|(_, h)| h.address == address).map(|(r, _)| r.clone()).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{requested} redirected to its coordinator {}, which knows no host with address {address}",
                conn.url()
            ))
        })?
    } else {
        local.pool.master.clone()
    };
    let coordinator_ref = remote.pool.master.clone();
    let (their_time, my_time) = futures::try_join!(
        Host::get_servertime(&remote_caller, &coordinator_ref),
        Host::get_servertime(&local_caller, &me)
    )?;
    let skew = (!their_time.is_unset() && !my_time.is_unset())
        .then(|| (my_time.0 - their_time.0).num_seconds());

    let ctx = Ctx::new(
        &local,
        &remote,
        me,
        redirected,
        options,
        skew,
        (&my_time, &their_time),
    );
    let checks = ctx.checks();
    let heterogeneous = ctx.heterogeneous(&checks);
    Ok(JoinReport {
        candidate: identity(ctx.my_host),
        pool: PoolIdentity {
            name: remote.pool.name_label.clone(),
            uuid: remote.pool.uuid.clone(),
            coordinator: identity(ctx.coord),
            hosts: remote.hosts.len(),
        },
        checks,
        heterogeneous,
        clock_skew_secs: skew,
        calls: CallCounts {
            pool: pool_calls.load(Ordering::Relaxed),
            candidate: candidate_calls.load(Ordering::Relaxed),
        },
    })
}

/// The URL as the transport spells it, to notice a `HOST_IS_SLAVE` redirect at login.
fn normalise_url(url: &str) -> Result<reqwest::Url> {
    let with_scheme = if url.contains("://") {
        url.to_string()
    } else {
        format!("https://{url}")
    };
    let mut parsed = reqwest::Url::parse(&with_scheme)
        .map_err(|e| Error::InvalidArgument(format!("not a URL: {url:?} ({e})")))?;
    parsed.set_path("/");
    parsed.set_query(None);
    Ok(parsed)
}

fn identity(h: &HostRecord) -> HostIdentity {
    HostIdentity {
        name: h.name_label.clone(),
        uuid: h.uuid.clone(),
        address: h.address.clone(),
    }
}

/// Counts the calls made through a [`Caller`].
struct Counting<'a, C> {
    inner: &'a C,
    calls: &'a AtomicUsize,
}

impl<C: Caller> Caller for Counting<'_, C> {
    async fn call_with_timeout<T>(
        &self,
        method: &str,
        with_session: bool,
        params: Vec<Value>,
        timeout: Option<Duration>,
    ) -> Result<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner
            .call_with_timeout(method, with_session, params, timeout)
            .await
    }
}

/// One side's database, as far as the checks need it.
#[derive(Default)]
struct Side {
    pool: PoolRecord,
    hosts: HashMap<Ref<Host>, HostRecord>,
    pifs: HashMap<Ref<Pif>, PifRecord>,
    networks: HashMap<Ref<Network>, NetworkRecord>,
    updates: HashMap<Ref<PoolUpdate>, PoolUpdateRecord>,
    certificates: HashMap<Ref<Certificate>, CertificateRecord>,
    sms: HashMap<Ref<Sm>, SmRecord>,
    cluster_hosts: HashMap<Ref<ClusterHost>, ClusterHostRecord>,
    sdn_controllers: HashMap<Ref<SdnController>, SdnControllerRecord>,
    // Pool side only.
    clusters: HashMap<Ref<Cluster>, ClusterRecord>,
    // Candidate side only.
    vms: HashMap<Ref<Vm>, VmRecord>,
    srs: HashMap<Ref<Sr>, SrRecord>,
    bonds: HashMap<Ref<Bond>, BondRecord>,
    vlans: HashMap<Ref<Vlan>, VlanRecord>,
    tunnels: HashMap<Ref<Tunnel>, TunnelRecord>,
    sriovs: HashMap<Ref<NetworkSriov>, NetworkSriovRecord>,
}

fn only_pool(pools: HashMap<Ref<Pool>, PoolRecord>) -> Result<PoolRecord> {
    // xapi's P3 (`INTERNAL_ERROR`) on the remote; a database always has exactly one.
    match pools.len() {
        1 => Ok(pools.into_values().next().unwrap_or_default()),
        n => Err(Error::InvalidArgument(format!(
            "expected exactly one pool object, found {n}"
        ))),
    }
}

impl Side {
    /// 10 calls, concurrently.
    async fn read_pool(c: &impl Caller) -> Result<Side> {
        let (
            pools,
            hosts,
            pifs,
            networks,
            updates,
            certificates,
            sms,
            cluster_hosts,
            sdn_controllers,
            clusters,
        ) = futures::try_join!(
            Pool::get_all_records(c),
            Host::get_all_records(c),
            Pif::get_all_records(c),
            Network::get_all_records(c),
            PoolUpdate::get_all_records(c),
            Certificate::get_all_records(c),
            Sm::get_all_records(c),
            ClusterHost::get_all_records(c),
            SdnController::get_all_records(c),
            Cluster::get_all_records(c),
        )?;
        Ok(Side {
            pool: only_pool(pools)?,
            hosts,
            pifs,
            networks,
            updates,
            certificates,
            sms,
            cluster_hosts,
            sdn_controllers,
            clusters,
            ..Side::default()
        })
    }

    /// 15 calls, concurrently.
    async fn read_candidate(c: &impl Caller) -> Result<Side> {
        let (
            pools,
            hosts,
            pifs,
            networks,
            updates,
            certificates,
            sms,
            cluster_hosts,
            sdn_controllers,
        ) = futures::try_join!(
            Pool::get_all_records(c),
            Host::get_all_records(c),
            Pif::get_all_records(c),
            Network::get_all_records(c),
            PoolUpdate::get_all_records(c),
            Certificate::get_all_records(c),
            Sm::get_all_records(c),
            ClusterHost::get_all_records(c),
            SdnController::get_all_records(c),
        )?;
        let (vms, srs, bonds, vlans, tunnels, sriovs) = futures::try_join!(
            Vm::get_all_records(c),
            Sr::get_all_records(c),
            Bond::get_all_records(c),
            Vlan::get_all_records(c),
            Tunnel::get_all_records(c),
            NetworkSriov::get_all_records(c),
        )?;
        Ok(Side {
            pool: only_pool(pools)?,
            hosts,
            pifs,
            networks,
            updates,
            certificates,
            sms,
            cluster_hosts,
            sdn_controllers,
            clusters: HashMap::new(),
            vms,
            srs,
            bonds,
            vlans,
            tunnels,
            sriovs,
        })
    }

    fn management_pif(&self, host: &Ref<Host>) -> Option<(&Ref<Pif>, &PifRecord)> {
        self.pifs
            .iter()
            .find(|(_, p)| &p.host == host && p.management)
    }

    fn bridge(&self, network: &Ref<Network>) -> &str {
        self.networks
            .get(network)
            .map(|n| n.bridge.as_str())
            .unwrap_or_default()
    }

    /// uuids of the homogeneity-enforcing updates applied on `host` (xapi #25).
    fn enforced_updates(&self, host: &Ref<Host>) -> BTreeSet<&str> {
        self.updates
            .values()
            .filter(|u| u.enforce_homogeneity && u.hosts.contains(host))
            .map(|u| u.uuid.as_str())
            .collect()
    }

    /// Names of all updates applied on `host`.
    fn update_names(&self, host: &Ref<Host>) -> BTreeSet<&str> {
        self.updates
            .values()
            .filter(|u| u.hosts.contains(host))
            .map(|u| u.name_label.as_str())
            .collect()
    }

    fn updating(&self) -> bool {
        self.pool
            .current_operations
            .values()
            .any(|op| *op == PoolAllowedOperations::ApplyUpdates)
    }

    fn nbd_purposes(&self) -> BTreeSet<&'static str> {
        let mut out = BTreeSet::new();
        for p in self.networks.values().flat_map(|n| n.purpose.iter()) {
            match p {
                NetworkPurpose::Nbd => out.insert("nbd"),
                NetworkPurpose::InsecureNbd => out.insert("insecure_nbd"),
                NetworkPurpose::Unknown(_) => false,
            };
        }
        out
    }
}

/// Everything the checks compare, resolved once.
struct Ctx<'a> {
    l: &'a Side,
    r: &'a Side,
    me: Ref<Host>,
    my_host: &'a HostRecord,
    coord_ref: Ref<Host>,
    coord: &'a HostRecord,
    my_mgmt: Option<(&'a Ref<Pif>, &'a PifRecord)>,
    their_mgmt: Option<(&'a Ref<Pif>, &'a PifRecord)>,
    redirected: bool,
    options: &'a ValidateOptions,
    skew: Option<i64>,
    times: (String, String),
}

static NO_HOST: std::sync::LazyLock<HostRecord> = std::sync::LazyLock::new(HostRecord::default);

fn sv(h: &HostRecord, key: &str) -> String {
    // xapi omits empty values; an absent key compares as "none" (#12, #13).
    match h.software_version.get(key) {
        Some(v) if !v.is_empty() => v.clone(),
        _ => "none".into(),
    }
}

fn compat_name(h: &HostRecord) -> String {
    match h.software_version.get("product_brand") {
        Some(b) if !b.is_empty() => b.clone(),
        _ => sv(h, "platform_name"),
    }
}

fn cpu<'h>(h: &'h HostRecord, key: &str) -> &'h str {
    h.cpu_info.get(key).map(String::as_str).unwrap_or_default()
}

fn cpu_model(h: &HostRecord) -> String {
    format!(
        "{} (family {}, model {}, stepping {})",
        cpu(h, "modelname"),
        cpu(h, "family"),
        cpu(h, "model"),
        cpu(h, "stepping")
    )
}

/// Names for evidence, sorted so reports read the same however the records were hashed.
fn list<'s>(items: impl IntoIterator<Item = &'s str>) -> String {
    let mut v: Vec<&str> = items.into_iter().collect();
    v.sort_unstable();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn xapi(order: u8, id: &str, title: &str) -> Check {
    Check {
        id: id.into(),
        title: title.into(),
        status: CheckStatus::Pass,
        source: CheckSource::Xapi { order },
        xapi_error: None,
        evidence: Evidence::default(),
        remedy: String::new(),
        bypassed_by_force: false,
    }
}

fn docs(id: &str, title: &str) -> Check {
    Check {
        source: CheckSource::Documentation,
        ..xapi(0, id, title)
    }
}

impl Check {
    fn ev(mut self, candidate: impl Into<String>, pool: impl Into<String>) -> Self {
        self.evidence = Evidence {
            candidate: candidate.into(),
            pool: pool.into(),
        };
        self
    }

    fn remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = remedy.into();
        self
    }

    /// Marks an xapi check failed with the error xapi raises.
    fn fail_with<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        failed: bool,
        code: ErrorCode,
        params: I,
    ) -> Self {
        if failed {
            self.status = CheckStatus::Fail;
            self.xapi_error = Some(XapiError {
                code: code.wire().to_string(),
                params: params.into_iter().map(Into::into).collect(),
            });
        }
        self
    }

    fn status(mut self, status: CheckStatus) -> Self {
        self.status = status;
        self
    }

    fn not_applicable(self, why: &str) -> Self {
        let pool = self.evidence.pool.clone();
        self.status(CheckStatus::NotApplicable).ev(why, pool)
    }
}

/// Bits set in `pool` but not in `candidate` (the shorter vector is zero-extended).
fn features_lost(pool: &[u32], candidate: &[u32]) -> Vec<FeatureBit> {
    let mut out = Vec::new();
    for (word, p) in pool.iter().enumerate() {
        let lost = p & !candidate.get(word).copied().unwrap_or(0);
        out.extend(
            (0..32u8)
                .filter(|b| lost & (1 << b) != 0)
                .map(|bit| FeatureBit { word, bit }),
        );
    }
    out
}

fn bits(v: &[FeatureBit]) -> String {
    const SHOWN: usize = 12;
    let mut s = v
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    if v.len() > SHOWN {
        s.push_str(&format!(" … (+{})", v.len() - SHOWN));
    }
    s
}

impl<'a> Ctx<'a> {
    fn new(
        l: &'a Side,
        r: &'a Side,
        me: Ref<Host>,
        redirected: bool,
        options: &'a ValidateOptions,
        skew: Option<i64>,
        times: (&DateTime, &DateTime),
    ) -> Self {
        let coord_ref = r.pool.master.clone();
        Ctx {
            l,
            r,
            my_host: l.hosts.get(&me).unwrap_or(&NO_HOST),
            coord: r.hosts.get(&coord_ref).unwrap_or(&NO_HOST),
            my_mgmt: l.management_pif(&me),
            their_mgmt: r.management_pif(&coord_ref),
            me,
            coord_ref,
            redirected,
            options,
            skew,
            times: (times.0.to_string(), times.1.to_string()),
        }
    }

    fn checks(&self) -> Vec<Check> {
        let mut c = self.xapi_checks();
        c.extend(self.documentation_checks());
        c
    }

    /// xapi's checks in execution order (pool-operations.md §(a)).
    fn xapi_checks(&self) -> Vec<Check> {
        let (l, r, me, my, coord) = (self.l, self.r, &self.me, self.my_host, self.coord);
        let mut out = Vec::new();

        // Session check: the join call is made on the candidate, and a member answers every
        // call (login included) with HOST_IS_SLAVE naming its coordinator.
        let lc = l.hosts.get(&l.pool.master).unwrap_or(&NO_HOST);
        out.push(
            xapi(0, "not_pool_member", "Candidate is not a member of a pool")
                .ev(
                    if self.redirected {
                        format!("member of pool {:?} (coordinator {} at {})", l.pool.name_label, lc.name_label, lc.address)
                    } else {
                        format!("coordinator of its own pool {:?}", l.pool.name_label)
                    },
                    format!("pool {:?}", r.pool.name_label),
                )
                .remedy(format!(
                    "Eject the host from its pool first (pool.eject on {}); it reboots as a standalone host",
                    lc.name_label
                ))
                .fail_with(self.redirected, ErrorCode::HostIsSlave, [lc.address.clone()]),
        );

        // P1: pooling must be licensed on the joiner.
        let restricted =
            |p: &PoolRecord, k: &str| p.restrictions.get(k).is_some_and(|v| v == "true");
        out.push(
            xapi(0, "pooling_licensed", "Candidate's licence allows pooling")
                .ev(
                    format!(
                        "restrict_pooling = {}",
                        restricted(&l.pool, "restrict_pooling")
                    ),
                    "",
                )
                .remedy("Apply a licence that includes the Pooling feature to the candidate")
                .fail_with(
                    restricted(&l.pool, "restrict_pooling"),
                    ErrorCode::LicenceRestriction,
                    Vec::<String>::new(),
                ),
        );

        // 1. Pool_size: a restricted joiner may not make a pool of more than 3.
        let size_restricted = restricted(&l.pool, "restrict_pool_size");
        out.push(
            xapi(1, "pool_size_licensed", "Licence allows this pool size")
                .ev(
                    format!("restrict_pool_size = {size_restricted}"),
                    format!("{} host(s)", r.hosts.len()),
                )
                .remedy(
                    "License the Pool_size feature on the candidate, or keep the pool at 3 hosts",
                )
                .fail_with(
                    size_restricted && r.hosts.len() >= 3,
                    ErrorCode::LicenceRestriction,
                    ["Pool_size"],
                ),
        );

        // 2. A management interface must exist.
        out.push(
            xapi(2, "management_interface_exists", "Candidate has a management interface")
                .ev(self.my_mgmt.map_or("none".into(), |(_, p)| format!("{} {}", p.device, p.ip)), "")
                .remedy("Wait for the host to finish booting, or configure a management interface (xe host-management-reconfigure)")
                .fail_with(self.my_mgmt.is_none(), ErrorCode::HostStillBooting, Vec::<String>::new()),
        );

        // 3. HA off on the candidate.
        out.push(
            xapi(
                3,
                "ha_disabled_on_candidate",
                "HA is disabled on the candidate",
            )
            .ev(format!("ha_enabled = {}", l.pool.ha_enabled), "")
            .remedy("Disable HA on the candidate (pool.disable_ha)")
            .fail_with(
                l.pool.ha_enabled,
                ErrorCode::HaIsEnabled,
                Vec::<String>::new(),
            ),
        );

        // 4. No enabled clustering on the candidate.
        let mut clustered: Vec<&Ref<ClusterHost>> = l
            .cluster_hosts
            .iter()
            .filter(|(_, c)| c.enabled)
            .map(|(r, _)| r)
            .collect();
        clustered.sort();
        out.push(
            xapi(
                4,
                "clustering_disabled_on_candidate",
                "Clustering is disabled on the candidate",
            )
            .ev(format!("{} enabled Cluster_host(s)", clustered.len()), "")
            .remedy("Leave the cluster on the candidate (Cluster_host.destroy) first")
            .fail_with(
                !clustered.is_empty(),
                ErrorCode::ClusteringEnabled,
                clustered.first().map(|r| r.to_string()),
            ),
        );

        out.push(self.clustering_network());

        // 6. HA off on the pool.
        out.push(
            xapi(6, "ha_disabled_on_pool", "HA is disabled on the pool")
                .ev("", format!("ha_enabled = {}", r.pool.ha_enabled))
                .remedy("Disable HA on the pool for the join (pool.disable_ha) and re-enable it afterwards")
                .fail_with(r.pool.ha_enabled, ErrorCode::HaIsEnabled, Vec::<String>::new()),
        );

        // 7. Not joining myself.
        let myself = coord.uuid == my.uuid;
        let why = if l.hosts.len() > 1 {
            "Host is already part of a pool"
        } else {
            "Host cannot become slave of itself"
        };
        out.push(
            xapi(
                7,
                "not_joining_itself",
                "Candidate is not the pool's coordinator",
            )
            .ev(
                format!("uuid {}", my.uuid),
                format!("coordinator uuid {}", coord.uuid),
            )
            .remedy("The candidate is this pool's coordinator: nothing to join")
            .fail_with(myself, ErrorCode::OperationNotAllowed, [why]),
        );

        // 8. Not the coordinator of other hosts.
        let others: Vec<&str> = l
            .hosts
            .iter()
            .filter(|(r, _)| *r != me)
            .map(|(_, h)| h.name_label.as_str())
            .collect();
        out.push(
            xapi(8, "no_other_hosts", "Candidate is not the coordinator of other hosts")
                .ev(format!("its pool has {} host(s); others: {}", l.hosts.len(), list(others.iter().copied())), "")
                .remedy("Eject the other hosts from the candidate's pool (or join them one by one after ejecting)")
                .fail_with(l.hosts.len() > 1, ErrorCode::JoiningHostCannotBeMasterOfOtherHosts, Vec::<String>::new()),
        );

        // 9. No running guests (Paused and Suspended are not checked by xapi).
        let running: Vec<&str> = l
            .vms
            .values()
            .filter(|v| !v.is_control_domain && v.power_state == VmPowerState::Running)
            .map(|v| v.name_label.as_str())
            .collect();
        out.push(
            xapi(9, "no_running_vms", "No running VMs on the candidate")
                .ev(format!("running: {}", list(running.iter().copied())), "")
                .remedy("Shut down (or migrate away) the running VMs on the candidate")
                .fail_with(
                    !running.is_empty(),
                    ErrorCode::JoiningHostCannotHaveRunningVms,
                    Vec::<String>::new(),
                ),
        );

        // 10. No VM (dom0 included) with an operation in progress.
        let busy: Vec<String> = l
            .vms
            .values()
            .filter(|v| !v.current_operations.is_empty())
            .map(|v| {
                format!(
                    "{} ({})",
                    v.name_label,
                    v.current_operations
                        .values()
                        .map(|o| o.wire())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        out.push(
            xapi(
                10,
                "no_vm_operations",
                "No VM operations in progress on the candidate",
            )
            .ev(
                format!("in progress: {}", list(busy.iter().map(String::as_str))),
                "",
            )
            .remedy("Wait for the VM operations to finish (or cancel their tasks)")
            .fail_with(
                !busy.is_empty(),
                ErrorCode::JoiningHostCannotHaveVmsWithCurrentOperations,
                Vec::<String>::new(),
            ),
        );

        // 11. No pending mandatory update guidance, candidate first, then the coordinator.
        let guidance = |h: &HostRecord| list(h.pending_guidances.iter().map(|g| g.wire()));
        let pending = if !my.pending_guidances.is_empty() {
            Some(me.to_string())
        } else if !coord.pending_guidances.is_empty() {
            Some(self.coord_ref.to_string())
        } else {
            None
        };
        out.push(
            xapi(11, "no_pending_guidance", "No pending mandatory update guidance")
                .ev(guidance(my), guidance(coord))
                .remedy("Carry out the pending update guidance (reboot host / restart toolstack) on the host named")
                .fail_with(pending.is_some(), ErrorCode::HostPendingMandatoryGuidanceNotEmpty, pending),
        );

        // 12. Same platform version and product: join_force does NOT bypass this.
        let compat = |h: &HostRecord| (sv(h, "platform_version"), compat_name(h));
        let (mc, tc) = (compat(my), compat(coord));
        out.push(
            xapi(12, "hosts_compatible", "Same platform version and product")
                .ev(format!("{} platform {}", mc.1, mc.0), format!("{} platform {}", tc.1, tc.0))
                .remedy("Upgrade (or reinstall) the candidate to the pool's exact product and platform version")
                .fail_with(mc != tc, ErrorCode::HostsNotCompatible, Vec::<String>::new()),
        );

        // 13. Homogeneity, the only check join_force skips: (i) software, (ii) CPU vendor
        // against pool.cpu_info (not the coordinator's host record).
        let software = |h: &HostRecord| {
            (
                sv(h, "xapi"),
                compat_name(h),
                sv(h, "git_id"),
                h.software_version.contains_key("xs:linux"),
            )
        };
        let (ms, ts) = (software(my), software(coord));
        let show = |s: &(String, String, String, bool)| {
            format!(
                "xapi {}, {}, git {}, Linux Pack {}",
                s.0,
                s.1,
                s.2,
                if s.3 { "yes" } else { "no" }
            )
        };
        let mut c13 = xapi(13, "hosts_homogeneous_software", "Same xapi build and supplemental packs")
            .ev(show(&ms), show(&ts))
            .remedy("Install the same xapi build and the same supplemental packs (e.g. the Linux Pack) as the pool")
            .fail_with(ms != ts, ErrorCode::HostsNotHomogeneous, ["Software version differs"]);
        c13.bypassed_by_force = true;
        out.push(c13);
        let (mv, pv) = (
            cpu(my, "vendor"),
            r.pool
                .cpu_info
                .get("vendor")
                .map(String::as_str)
                .unwrap_or_default(),
        );
        let mut c13 = xapi(13, "hosts_homogeneous_cpu", "Same CPU vendor as the pool")
            .ev(format!("vendor {mv}"), format!("pool vendor {pv}"))
            .remedy(format!(
                "Use a host with a {pv} CPU; join_force would accept it, but VMs could never migrate between vendors"
            ))
            .fail_with(mv != pv, ErrorCode::HostsNotHomogeneous, ["CPUs differ"]);
        c13.bypassed_by_force = true;
        out.push(c13);

        // 14. No shared SRs other than the tools SR.
        let shared: Vec<&str> = l
            .srs
            .values()
            .filter(|s| s.shared && !s.is_tools_sr)
            .map(|s| s.name_label.as_str())
            .collect();
        out.push(
            xapi(14, "no_shared_srs", "No shared storage on the candidate")
                .ev(format!("shared SRs: {}", list(shared.iter().copied())), "")
                .remedy("Detach and forget the shared SRs on the candidate (move VMs off them first); after the join the pool's shared SRs are plugged automatically")
                .fail_with(!shared.is_empty(), ErrorCode::JoiningHostCannotContainSharedSrs, Vec::<String>::new()),
        );

        // 15–17. No bonds, tunnels or SR-IOV networks.
        let device = |p: &Ref<Pif>| {
            l.pifs
                .get(p)
                .map(|p| p.device.clone())
                .unwrap_or_else(|| p.to_string())
        };
        let bonds: Vec<String> = l.bonds.values().map(|b| device(&b.master)).collect();
        out.push(
            xapi(15, "no_bonds", "No bonds on the candidate")
                .ev(format!("bonds: {}", list(bonds.iter().map(String::as_str))), "")
                .remedy("Destroy the bonds on the candidate (Bond.destroy); the pool's bonds are copied to it after the join")
                .fail_with(!l.bonds.is_empty(), ErrorCode::PoolJoiningHostHasBonds, Vec::<String>::new()),
        );
        out.push(
            xapi(16, "no_tunnels", "No tunnels on the candidate")
                .ev(format!("{} tunnel(s)", l.tunnels.len()), "")
                .remedy("Destroy the tunnels on the candidate (tunnel.destroy)")
                .fail_with(
                    !l.tunnels.is_empty(),
                    ErrorCode::PoolJoiningHostHasTunnels,
                    Vec::<String>::new(),
                ),
        );
        out.push(
            xapi(
                17,
                "no_network_sriovs",
                "No SR-IOV networks on the candidate",
            )
            .ev(format!("{} network_sriov(s)", l.sriovs.len()), "")
            .remedy("Destroy the SR-IOV networks on the candidate (network_sriov.destroy)")
            .fail_with(
                !l.sriovs.is_empty(),
                ErrorCode::PoolJoiningHostHasNetworkSriovs,
                Vec::<String>::new(),
            ),
        );

        // 18. Only the management VLAN may exist.
        let null = Ref::null();
        let mgmt_ref = self.my_mgmt.map_or(&null, |(r, _)| r);
        let vlans: Vec<String> = l
            .vlans
            .values()
            .filter(|v| &v.untagged_pif != mgmt_ref)
            .map(|v| format!("VLAN {}", v.tag))
            .collect();
        out.push(
            xapi(18, "no_non_management_vlans", "No VLANs other than the management VLAN")
                .ev(format!("other VLANs: {}", list(vlans.iter().map(String::as_str))), "")
                .remedy("Destroy the non-management VLANs on the candidate (VLAN.destroy); recreate them pool-wide afterwards")
                .fail_with(!vlans.is_empty(), ErrorCode::PoolJoiningHostHasNonManagementVlans, Vec::<String>::new()),
        );

        // 19. Same management VLAN tag (-1 = untagged).
        let c19 = xapi(
            19,
            "management_vlan_matches",
            "Management VLAN tag matches the coordinator's",
        )
        .remedy("Put the candidate's management interface on the same VLAN as the coordinator's");
        out.push(match (self.my_mgmt, self.their_mgmt) {
            (Some((_, m)), Some((_, t))) => c19
                .ev(format!("VLAN {}", m.vlan), format!("VLAN {}", t.vlan))
                .fail_with(
                    m.vlan != t.vlan,
                    ErrorCode::PoolJoiningHostManagementVlanDoesNotMatch,
                    [m.vlan.to_string(), t.vlan.to_string()],
                ),
            _ => c19.not_applicable("a management interface is missing (see check 2)"),
        });

        // 20. External authentication: type exact, service name case-insensitive.
        let auth = |h: &HostRecord| {
            format!(
                "{:?} {:?}",
                h.external_auth_type, h.external_auth_service_name
            )
        };
        let auth_differs = my.external_auth_type != coord.external_auth_type
            || !my
                .external_auth_service_name
                .eq_ignore_ascii_case(&coord.external_auth_service_name);
        out.push(
            xapi(
                20,
                "external_auth_matches",
                "Same external authentication as the coordinator",
            )
            .ev(auth(my), auth(coord))
            .remedy("Enable (or disable) the same AD/LDAP domain on the candidate as on the pool")
            .fail_with(
                auth_differs,
                ErrorCode::PoolJoiningExternalAuthMismatch,
                Vec::<String>::new(),
            ),
        );

        out.push(self.editions());

        // 22. Same network back-end; with openvswitch, the same SDN controller.
        let backend = |h: &HostRecord| match h.software_version.get("network_backend") {
            Some(b) if !b.is_empty() => b.clone(),
            _ => "bridge".to_string(),
        };
        let (mb, tb) = (backend(my), backend(coord));
        let sdn = |s: &Side| {
            s.sdn_controllers
                .values()
                .next()
                .map(|c| (c.protocol.wire().to_string(), c.address.clone(), c.port))
        };
        let sdn_differs = mb == tb
            && mb == "openvswitch"
            && l.sdn_controllers.values().next().is_some()
            && sdn(l) != sdn(r);
        let c22 = xapi(22, "network_backend_matches", "Same network back-end (and SDN controller)")
            .ev(format!("{mb}, SDN {:?}", sdn(l)), format!("{tb}, SDN {:?}", sdn(r)))
            .remedy("Switch the candidate to the pool's network back-end (xe-switch-network-backend) and SDN controller");
        out.push(if mb != tb {
            c22.fail_with(
                true,
                ErrorCode::OperationNotAllowed,
                ["Network backends differ"],
            )
        } else {
            c22.fail_with(
                sdn_differs,
                ErrorCode::OperationNotAllowed,
                ["SDN controller differs"],
            )
        });

        // 23. Same API version.
        let api = |h: &HostRecord| format!("{}.{}", h.api_version_major, h.api_version_minor);
        out.push(
            xapi(
                23,
                "api_version_matches",
                "Same XenAPI version as the coordinator",
            )
            .ev(api(my), api(coord))
            .remedy("Update the candidate (or the pool) so that both run the same xapi")
            .fail_with(
                api(my) != api(coord),
                ErrorCode::PoolJoiningHostMustHaveSameApiVersion,
                [api(my), api(coord)],
            ),
        );

        // 24. Same database schema (a missing value also fails).
        let schema = |h: &HostRecord| {
            h.software_version
                .get("db_schema")
                .cloned()
                .unwrap_or_default()
        };
        let (ms, ts) = (schema(my), schema(coord));
        out.push(
            xapi(
                24,
                "db_schema_matches",
                "Same database schema as the coordinator",
            )
            .ev(format!("db_schema {ms:?}"), format!("db_schema {ts:?}"))
            .remedy("Update the candidate (or the pool) so that both run the same xapi")
            .fail_with(
                ms.is_empty() || ts.is_empty() || ms != ts,
                ErrorCode::PoolJoiningHostMustHaveSameDbSchema,
                [ms, ts],
            ),
        );

        // 25. Same homogeneity-enforcing updates: join_force does NOT bypass this.
        let (mu, tu) = (l.enforced_updates(me), r.enforced_updates(&self.coord_ref));
        let names = |s: &Side, h: &Ref<Host>| list(s.update_names(h));
        out.push(
            xapi(25, "updates_homogeneous", "Same hotfixes as the coordinator")
                .ev(names(l, me), names(r, &self.coord_ref))
                .remedy("Apply exactly the pool's updates to the candidate (and nothing newer), then reboot if asked")
                .fail_with(
                    mu != tu,
                    ErrorCode::HostsNotHomogeneous,
                    [format!("Updates on local host {} and pool host {} differ", my.name_label, coord.name_label)],
                ),
        );

        // 26. Same primary address type of the management interfaces.
        let c26 = xapi(
            26,
            "primary_address_type_matches",
            "Same management address family (IPv4/IPv6)",
        )
        .remedy("Configure the candidate's management interface with the pool's address family");
        out.push(match (self.my_mgmt, self.their_mgmt) {
            (Some((_, m)), Some((_, t))) => c26
                .ev(m.primary_address_type.wire(), t.primary_address_type.wire())
                .fail_with(
                    m.primary_address_type != t.primary_address_type,
                    ErrorCode::OperationNotAllowed,
                    ["Primary address type differs"],
                ),
            _ => c26.not_applicable("a management interface is missing (see check 2)"),
        });

        // 27. NBD purposes: xapi compares the first nbd/insecure_nbd network found on each
        // side; with one kind per side (the usual case) comparing the sets is the same.
        let (mp, tp) = (l.nbd_purposes(), r.nbd_purposes());
        out.push(
            xapi(27, "network_purposes_compatible", "Compatible NBD network purposes")
                .ev(list(mp.iter().copied()), list(tp.iter().copied()))
                .remedy("Use the same NBD purpose (nbd or insecure_nbd) on the candidate's networks as in the pool")
                .fail_with(
                    !mp.is_empty() && !tp.is_empty() && mp != tp,
                    ErrorCode::OperationNotAllowed,
                    ["Incompatible network purposes: nbd and insecure_nbd"],
                ),
        );

        // 28. Same TLS verification setting.
        out.push(
            xapi(28, "tls_verification_matches", "Same TLS verification setting")
                .ev(format!("tls_verification_enabled = {}", l.pool.tls_verification_enabled), format!("tls_verification_enabled = {}", r.pool.tls_verification_enabled))
                .remedy("Enable TLS verification on the candidate (pool.enable_tls_verification) or match the pool's setting")
                .fail_with(
                    l.pool.tls_verification_enabled != r.pool.tls_verification_enabled,
                    ErrorCode::PoolJoiningHostTlsVerificationMismatch,
                    Vec::<String>::new(),
                ),
        );

        // 29. CA certificates with the same name must have the same fingerprint.
        let cas = |s: &'a Side| {
            s.certificates
                .values()
                .filter(|c| c.type_ == CertificateType::Ca && !c.name.is_empty())
        };
        let conflicts: BTreeSet<&str> = cas(l)
            .filter(|m| cas(r).any(|t| t.name == m.name && t.fingerprint != m.fingerprint))
            .map(|m| m.name.as_str())
            .collect();
        out.push(
            xapi(29, "ca_certificates_compatible", "No conflicting CA certificate names")
                .ev(format!("{} named CA certificate(s)", cas(l).count()), format!("{} named CA certificate(s)", cas(r).count()))
                .remedy("Remove or rename the conflicting CA certificates on the candidate (pool.uninstall_ca_certificate)")
                .fail_with(!conflicts.is_empty(), ErrorCode::PoolJoiningHostCaCertificatesConflict, conflicts.iter().copied()),
        );

        // 30. Trusted-certificate purposes: not in this API's Certificate class.
        out.push(
            xapi(
                30,
                "trusted_certificates_compatible",
                "No conflicting trusted-certificate purposes",
            )
            .not_applicable("this datamodel's Certificate class has no purposes to compare"),
        );

        // 31–32. No rolling update in progress on either side.
        out.push(
            xapi(
                31,
                "not_updating_candidate",
                "No update in progress on the candidate",
            )
            .ev(format!("apply_updates running: {}", l.updating()), "")
            .remedy("Wait for the update on the candidate to finish")
            .fail_with(
                l.updating(),
                ErrorCode::NotSupportedDuringUpgrade,
                Vec::<String>::new(),
            ),
        );
        out.push(
            xapi(32, "not_updating_pool", "No update in progress on the pool")
                .ev("", format!("apply_updates running: {}", r.updating()))
                .remedy("Wait for the pool's update to finish")
                .fail_with(
                    r.updating(),
                    ErrorCode::NotSupportedDuringUpgrade,
                    Vec::<String>::new(),
                ),
        );

        out.push(self.sm_features());
        out
    }

    /// xapi #5: joining a pool whose cluster auto-joins new hosts [HEAD only].
    fn clustering_network(&self) -> Check {
        let (l, r) = (self.l, self.r);
        let c = xapi(5, "clustering_network_ready", "One IP on the pool's clustering network").remedy(
            "Give the candidate exactly one IP address on the pool's clustering network (and not on a VLAN)",
        );
        let mut auto: Vec<&Ref<Cluster>> = r
            .clusters
            .iter()
            .filter(|(_, c)| c.pool_auto_join)
            .map(|(r, _)| r)
            .collect();
        auto.sort();
        let Some(cluster) = auto.first() else {
            return c.not_applicable("the pool has no cluster that new hosts auto-join");
        };
        let pif = r
            .cluster_hosts
            .values()
            .find(|h| &h.cluster == *cluster && h.host == self.coord_ref)
            .and_then(|h| r.pifs.get(&h.pif));
        let Some(pif) = pif else {
            return c.not_applicable("the coordinator's cluster PIF is not visible");
        };
        if pif.vlan > 0 && !pif.management {
            return c
                .ev(
                    "",
                    format!("cluster PIF {} on VLAN {}", pif.device, pif.vlan),
                )
                .fail_with(
                    true,
                    ErrorCode::PoolJoiningPoolCannotEnableClusteringOnVlanNetwork,
                    [pif.vlan.to_string()],
                );
        }
        // xapi also accepts the bridges of the cluster bond's members; the pool side's bonds
        // are not read, so only the cluster PIF's own bridge is compared.
        let bridge = r.bridge(&pif.network);
        let ips = l
            .pifs
            .values()
            .filter(|p| !p.ip.is_empty() && l.bridge(&p.network) == bridge)
            .count();
        c.ev(
            format!("{ips} IP(s) on {bridge}"),
            format!("cluster network bridge {bridge}"),
        )
        .fail_with(
            ips != 1,
            ErrorCode::PoolJoiningHostMustHaveOnlyOneIpOnClusteringNetwork,
            Vec::<String>::new(),
        )
    }

    /// xapi #21, licence editions. The edition order is v6d's; this client cannot ask v6d, so it
    /// uses the candidate's `host.editions` (the editions its licensing daemon lists, lowest
    /// first) and says so.
    fn editions(&self) -> Check {
        let (my, r) = (self.my_host, self.r);
        let mine = my.edition.as_str();
        let pool_editions: BTreeSet<&str> = r.hosts.values().map(|h| h.edition.as_str()).collect();
        let c = xapi(
            21,
            "licence_editions_match",
            "Same licence edition as the pool",
        )
        .ev(
            format!("edition {mine:?}"),
            format!("edition(s) {}", list(pool_editions.iter().copied())),
        )
        .remedy("License the candidate with the pool's edition");
        if pool_editions.iter().all(|e| *e == mine) {
            return c;
        }
        let rank = |e: &str| my.editions.iter().position(|x| x == e);
        let pool_edition = pool_editions
            .iter()
            .copied()
            .min_by_key(|e| rank(e).unwrap_or(usize::MAX))
            .unwrap_or_default();
        if rank(pool_edition).is_none() {
            return c.fail_with(
                true,
                ErrorCode::LicenseHostPoolMismatch,
                [format!(
                    "Edition \"{pool_edition}\" from pool is not known to v6d."
                )],
            );
        }
        c.fail_with(
            rank(mine) != rank(pool_edition),
            ErrorCode::LicenseHostPoolMismatch,
            [
                format!("host edition = \"{mine}\""),
                format!("pool edition = \"{pool_edition}\""),
            ],
        )
    }

    /// xapi #33: the candidate has every SM driver of the pool, with no fewer features [HEAD only].
    /// xapi walks the pool's SMs in database order; refs are sorted here for a stable answer.
    fn sm_features(&self) -> Check {
        let (l, r) = (self.l, self.r);
        let c = xapi(
            33,
            "sm_features_compatible",
            "Storage drivers support the pool's features",
        )
        .ev(
            format!("{} SM driver(s)", l.sms.len()),
            format!("{} SM driver(s)", r.sms.len()),
        )
        .remedy(
            "Install/update the candidate's storage drivers to the pool's version (same updates)",
        );
        let mut pool_sms: Vec<(&Ref<Sm>, &SmRecord)> = r.sms.iter().collect();
        pool_sms.sort_by(|a, b| a.0.cmp(b.0));
        for (pool_ref, sm) in pool_sms {
            let mine: Vec<(&Ref<Sm>, &SmRecord)> =
                l.sms.iter().filter(|(_, m)| m.type_ == sm.type_).collect();
            if mine.len() != 1 {
                return c.fail_with(
                    true,
                    ErrorCode::PoolJoiningSmFeaturesIncompatible,
                    [pool_ref.to_string(), String::new()],
                );
            }
            let (my_ref, my_sm) = mine[0];
            if sm
                .features
                .iter()
                .any(|(k, v)| my_sm.features.get(k).is_none_or(|o| o < v))
            {
                return c.fail_with(
                    true,
                    ErrorCode::PoolJoiningSmFeaturesIncompatible,
                    [pool_ref.to_string(), my_ref.to_string()],
                );
            }
        }
        c
    }

    /// What the pooling documentation demands beyond xapi.
    fn documentation_checks(&self) -> Vec<Check> {
        let (l, r, me, my, coord) = (self.l, self.r, &self.me, self.my_host, self.coord);
        let mut out = Vec::new();
        let pool_vendor = r
            .pool
            .cpu_info
            .get("vendor")
            .map(String::as_str)
            .unwrap_or_default();

        out.push(
            docs("cpu_vendor", "Same CPU vendor as the pool")
                .ev(cpu(my, "vendor"), pool_vendor)
                .remedy("Use a host with the pool's CPU vendor: VMs cannot live-migrate between vendors, even after join_force")
                .status(if cpu(my, "vendor") == pool_vendor { CheckStatus::Pass } else { CheckStatus::Fail }),
        );

        // Family and model, stepping aside, against every pool host.
        let key = |h: &HostRecord| {
            (
                cpu(h, "vendor").to_string(),
                cpu(h, "family").to_string(),
                cpu(h, "model").to_string(),
            )
        };
        let differing: Vec<&str> = r
            .hosts
            .values()
            .filter(|h| key(h) != key(my))
            .map(|h| h.name_label.as_str())
            .collect();
        out.push(
            docs("cpu_model", "Same CPU family and model as the pool's hosts")
                .ev(cpu_model(my), format!("{}; differing hosts: {}", cpu_model(coord), list(differing.iter().copied())))
                .remedy("The pooling documentation asks for identical CPUs; join with force to make a heterogeneous pool that runs with the common subset of CPU features (levelling)")
                // A deliberate choice, not an accident: the documentation wants identical
                // CPUs, so a different model refuses the join unless forced.
                .status(if differing.is_empty() { CheckStatus::Pass } else { CheckStatus::Fail }),
        );

        let (lost_hvm, lost_pv, known) = self.features_lost();
        let features = docs("cpu_features", "Joining costs the pool no CPU features")
            .remedy("Joining levels the pool down: VMs started afterwards see fewer CPU features. Use a CPU with at least the pool's features, or accept the loss");
        out.push(if !known {
            features.not_applicable("a feature vector is unknown (empty)")
        } else if lost_hvm.is_empty() && lost_pv.is_empty() {
            features.ev("has every pool feature", "nothing lost")
        } else {
            features
                .ev(
                    format!(
                        "lacks {} HVM and {} PV feature bit(s)",
                        lost_hvm.len(),
                        lost_pv.len()
                    ),
                    format!(
                        "HVM bits lost: {}; PV bits lost: {}",
                        bits(&lost_hvm),
                        bits(&lost_pv)
                    ),
                )
                .status(CheckStatus::Warn)
        });

        // Same product version and build (xapi compares neither).
        let version = |h: &HostRecord| {
            format!(
                "{} {} build {}",
                compat_name(h),
                sv(h, "product_version"),
                sv(h, "build_number")
            )
        };
        out.push(
            docs(
                "product_version",
                "Same product version and build as the coordinator",
            )
            .ev(version(my), version(coord))
            .remedy("Install the pool's exact product version and build on the candidate")
            .status(if version(my) == version(coord) {
                CheckStatus::Pass
            } else {
                CheckStatus::Fail
            }),
        );

        // Every update, not only the homogeneity-enforcing ones.
        let (mu, tu) = (l.update_names(me), r.update_names(&self.coord_ref));
        let missing: Vec<&str> = tu.difference(&mu).copied().collect();
        let extra: Vec<&str> = mu.difference(&tu).copied().collect();
        out.push(
            docs("same_hotfixes", "Same hotfixes (all updates) as the coordinator")
                .ev(format!("missing: {}; extra: {}", list(missing.iter().copied()), list(extra.iter().copied())), list(tu.iter().copied()))
                .remedy("Apply the missing updates to the candidate (and remove or apply pool-wide the extra ones)")
                .status(if mu == tu { CheckStatus::Pass } else { CheckStatus::Fail }),
        );

        // Linux Pack (`xs:linux`) on every host or none.
        let with: usize = r
            .hosts
            .values()
            .filter(|h| h.software_version.contains_key("xs:linux"))
            .count();
        let mine = my.software_version.contains_key("xs:linux");
        let consistent = if mine {
            with == r.hosts.len()
        } else {
            with == 0
        };
        out.push(
            docs("linux_pack", "Linux Pack on all hosts or none")
                .ev(
                    if mine { "installed" } else { "not installed" },
                    format!("installed on {with} of {} host(s)", r.hosts.len()),
                )
                .remedy(if mine {
                    "Remove the Linux Pack from the candidate, or install it on every pool host"
                } else {
                    "Install the Linux Pack on the candidate (same version as the pool)"
                })
                .status(if consistent {
                    CheckStatus::Pass
                } else {
                    CheckStatus::Fail
                }),
        );

        // Static management address: members find the coordinator by IP.
        let ip = docs("static_management_ip", "Static management IP address")
            .remedy("Configure a static IP on the candidate's management interface (PIF.reconfigure_ip mode=Static) before joining");
        out.push(match self.my_mgmt {
            None => ip.not_applicable("no management interface (see check 2)"),
            Some((_, p)) => {
                let mode = p.ip_configuration_mode.wire().to_string();
                let status = match p.ip_configuration_mode {
                    IpConfigurationMode::Static => CheckStatus::Pass,
                    IpConfigurationMode::None => CheckStatus::Fail,
                    _ if p.primary_address_type.wire() == "IPv6"
                        && p.ipv6_configuration_mode.wire() == "Static" =>
                    {
                        CheckStatus::Pass
                    }
                    _ => CheckStatus::Warn,
                };
                let coord_mode = self.their_mgmt.map_or(String::new(), |(_, t)| {
                    format!("{} {}", t.ip_configuration_mode.wire(), t.ip)
                });
                ip.ev(format!("{mode} {} on {}", p.ip, p.device), coord_mode)
                    .status(status)
            }
        });

        // Clock skew against the coordinator; xapi only alerts (after the join) above 300 s.
        let limit = self.options.clock_skew_threshold.as_secs() as i64;
        let clock = docs("clock_skew", "Clock in step with the coordinator").remedy(
            "Synchronise the candidate's clock with the pool's (configure the same NTP servers) before joining",
        );
        out.push(match self.skew {
            None => clock.not_applicable("a server time is unknown"),
            Some(s) => {
                let status = if s.unsigned_abs() > XAPI_MAX_CLOCK_SKEW.as_secs() {
                    CheckStatus::Fail
                } else if s.abs() > limit {
                    CheckStatus::Warn
                } else {
                    CheckStatus::Pass
                };
                clock
                    .ev(
                        format!("{} (skew {s:+} s)", self.times.0),
                        format!(
                            "{} (threshold {limit} s, xapi alerts above 300 s)",
                            self.times.1
                        ),
                    )
                    .status(status)
            }
        });

        // Running, paused or suspended guests (xapi only refuses running ones).
        let live: Vec<String> = l
            .vms
            .values()
            .filter(|v| !v.is_control_domain && !v.is_a_template && !v.is_a_snapshot)
            .filter(|v| {
                matches!(
                    v.power_state,
                    VmPowerState::Running | VmPowerState::Paused | VmPowerState::Suspended
                )
            })
            .map(|v| format!("{} ({})", v.name_label, v.power_state.wire()))
            .collect();
        out.push(
            docs("no_running_or_suspended_vms", "No running, paused or suspended VMs")
                .ev(list(live.iter().map(String::as_str)), "")
                .remedy("Shut down the candidate's VMs (a suspended VM's memory image may not resume on other hosts)")
                .status(if live.is_empty() { CheckStatus::Pass } else { CheckStatus::Fail }),
        );

        // Management NIC not bonded (xapi refuses any bond, #15).
        let bonded = self
            .my_mgmt
            .is_some_and(|(_, p)| !p.bond_master_of.is_empty());
        out.push(
            docs("management_not_bonded", "Management interface not on a bond")
                .ev(self.my_mgmt.map_or("none".into(), |(_, p)| p.device.clone()), "")
                .remedy("Destroy the management bond on the candidate; join; then bond at pool level (members get the pool's bonds)")
                .status(if bonded { CheckStatus::Fail } else { CheckStatus::Pass }),
        );

        // MTU of the management network.
        let mtu = docs("management_mtu", "Management MTU matches the coordinator's")
            .remedy("Set the candidate's management MTU to the pool's before joining");
        out.push(match (self.my_mgmt, self.their_mgmt) {
            (Some((_, m)), Some((_, t))) => {
                let (mn, tn) = (
                    l.networks.get(&m.network).map_or(0, |n| n.mtu),
                    r.networks.get(&t.network).map_or(0, |n| n.mtu),
                );
                mtu.ev(
                    format!("PIF MTU {}, network MTU {mn}", m.mtu),
                    format!("PIF MTU {}, network MTU {tn}", t.mtu),
                )
                .status(if m.mtu == t.mtu && mn == tn {
                    CheckStatus::Pass
                } else {
                    CheckStatus::Warn
                })
            }
            _ => mtu.not_applicable("a management interface is missing"),
        });

        // Licence: same edition, not expired.
        let expiry = my
            .license_params
            .get("expiry")
            .and_then(|e| DateTime::parse(e));
        let expired = expiry
            .as_ref()
            .is_some_and(|e| !e.is_unset() && e.0 < chrono::Utc::now());
        let same = r.hosts.values().all(|h| h.edition == my.edition);
        out.push(
            docs("licence", "Licence matches the pool and is valid")
                .ev(
                    format!(
                        "{} (expiry {})",
                        my.edition,
                        expiry.map_or("none".into(), |e| e.to_string())
                    ),
                    format!("{} on the coordinator", coord.edition),
                )
                .remedy(
                    "License the candidate with the pool's edition (and renew an expired licence)",
                )
                .status(if same && !expired {
                    CheckStatus::Pass
                } else {
                    CheckStatus::Warn
                }),
        );

        // Pool size: a support statement only; xapi has no limit (§(h)).
        let after = r.hosts.len() + 1;
        let limit = self.options.supported_pool_size;
        out.push(
            docs("supported_pool_size", "Pool stays within the supported size")
                .ev("", format!("{after} host(s) after the join; supported: {limit}"))
                .remedy("Split the hosts into several pools: xapi accepts more, but the vendor does not support it")
                .status(if after > limit { CheckStatus::Warn } else { CheckStatus::Pass }),
        );
        out
    }

    /// HVM and PV bits the pool would lose, and whether both vectors are known.
    fn features_lost(&self) -> (Vec<FeatureBit>, Vec<FeatureBit>, bool) {
        let pool = |k: &str| {
            features::parse(
                self.r
                    .pool
                    .cpu_info
                    .get(k)
                    .map(String::as_str)
                    .unwrap_or_default(),
            )
        };
        let mine = |k: &str| features::parse(cpu(self.my_host, k));
        match (
            pool("features_hvm_host"),
            mine("features_hvm_host"),
            pool("features_pv_host"),
            mine("features_pv_host"),
        ) {
            (Some(ph), Some(mh), pp, mp) => {
                let pv = match (pp, mp) {
                    (Some(pp), Some(mp)) => features_lost(&pp, &mp),
                    _ => Vec::new(),
                };
                (features_lost(&ph, &mh), pv, true)
            }
            _ => (Vec::new(), Vec::new(), false),
        }
    }

    fn heterogeneous(&self, checks: &[Check]) -> HeterogeneousAnalysis {
        let my = self.my_host;
        let pool_vendor = self
            .r
            .pool
            .cpu_info
            .get("vendor")
            .cloned()
            .unwrap_or_default();
        let same_vendor = cpu(my, "vendor") == pool_vendor;
        let key = |h: &HostRecord| (cpu(h, "family").to_string(), cpu(h, "model").to_string());
        let same_model = same_vendor && key(my) == key(self.coord);
        let (hvm_lost, pv_lost, known) = self.features_lost();
        let levelled = match (
            features::parse(
                self.r
                    .pool
                    .cpu_info
                    .get("features_hvm_host")
                    .map(String::as_str)
                    .unwrap_or_default(),
            ),
            features::parse(cpu(my, "features_hvm_host")),
        ) {
            (Some(p), Some(m)) => Some(features::render(&features::level(&p, &m))),
            _ => None,
        };
        let levelling_possible = same_vendor && known;
        let summary = if !same_vendor {
            format!(
                "different vendor ({} vs the pool's {pool_vendor}): no levelling across vendors; xapi refuses it unless forced, and VMs can never migrate between the two",
                cpu(my, "vendor")
            )
        } else if !known {
            "same vendor, but a feature vector is unknown: levelling cannot be predicted"
                .to_string()
        } else if hvm_lost.is_empty() && pv_lost.is_empty() {
            if same_model {
                "same vendor and model: homogeneous".to_string()
            } else {
                "same vendor, another model with every pool feature: the pool keeps its features"
                    .to_string()
            }
        } else {
            format!(
                "same vendor, levelling possible (CPUID masking, Intel FlexMigration / AMD Enhanced Migration): the pool would lose {} HVM and {} PV feature bit(s); running VMs keep theirs until restarted",
                hvm_lost.len(),
                pv_lost.len()
            )
        };
        let force_bypasses = checks
            .iter()
            .filter(|c| c.bypassed_by_force && c.status == CheckStatus::Fail)
            .map(|c| {
                format!(
                    "{} ({})",
                    c.title,
                    c.xapi_error
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            })
            .collect();
        HeterogeneousAnalysis {
            candidate_vendor: cpu(my, "vendor").to_string(),
            pool_vendor,
            candidate_model: cpu_model(my),
            pool_model: cpu_model(self.coord),
            same_vendor,
            same_model,
            hvm_features_lost: hvm_lost,
            pv_features_lost: pv_lost,
            levelled_hvm_features: levelled,
            levelling_possible,
            summary,
            force_bypasses,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_vectors_level_and_lose_bits() {
        let pool = features::parse("0000000f-80000000").unwrap();
        let mine = features::parse("00000005").unwrap();
        assert_eq!(
            features_lost(&pool, &mine),
            vec![
                FeatureBit { word: 0, bit: 1 },
                FeatureBit { word: 0, bit: 3 },
                FeatureBit { word: 1, bit: 31 }
            ]
        );
        assert_eq!(
            features::render(&features::level(&pool, &mine)),
            "00000005-00000000"
        );
        assert_eq!(features::parse(""), None);
        assert_eq!(features::parse("zz"), None);
    }
}
