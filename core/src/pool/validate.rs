//! The join pre-flight: reads the pool and a standalone candidate host with a handful of
//! `get_all_records` calls each, then runs xapi's pre-join checks in xapi's order with
//! the exact codes and parameters (docs/pool-operations.md#pre-join-checks) and the pooling
//! documentation's extra demands, without changing anything on either side.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::features;
use super::report::{
    CallCounts, Check, CheckSource, CheckStatus, Evidence, FeatureBit, HeterogeneousAnalysis,
    HostIdentity, JoinReport, PoolIdentity, Waiver, XapiError, plural,
};
use crate::call::{CallRequest, Caller};
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
use crate::wire::ResultSeed;

/// The clock difference above which xapi's coordinator raises the `HOST_CLOCK_SKEW_DETECTED`
/// alert for a member (`xapi_globs.ml` `max_clock_skew`, docs/pool-operations.md#clock-skew).
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
    /// xapi enforces no limit, docs/pool-operations.md#pool-size).
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
        let conn = Connection::login(candidate_url, candidate.clone(), options.connect.clone())
            .await
            .map_err(|e| refused_by(e, requested.host_str().unwrap_or(candidate_url)))?;
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
    let me =
        if redirected {
            let address = requested
                .host_str()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']');
            local
            .hosts
            .iter()
            .find(|(_, h)| h.address == address)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| {
                Error::invalid_argument("url", format!(
                    "{requested} redirected to its coordinator {}, which knows no host with \
                 address {address}",
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

/// A XenAPI failure at the candidate's login (a wrong password), naming the candidate: the
/// caller holds sessions on two hosts and must know which one refused.
pub(crate) fn refused_by(e: Error, candidate: &str) -> Error {
    match e {
        Error::Api(api) => Error::Api(api.on_host(candidate)),
        other => other,
    }
}

/// The URL as the transport spells it, to notice a `HOST_IS_SLAVE` redirect at login.
fn normalise_url(url: &str) -> Result<reqwest::Url> {
    let with_scheme = if url.contains("://") {
        url.to_string()
    } else {
        format!("https://{url}")
    };
    let mut parsed = reqwest::Url::parse(&with_scheme)
        .map_err(|e| Error::invalid_argument("url", format!("not a URL: {url:?} ({e})")))?;
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
    async fn call_seeded<S>(&self, request: CallRequest<'_>, seed: S) -> Result<S::Value>
    where
        S: ResultSeed + Send + 'static,
        S::Value: Send + 'static,
    {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.call_seeded(request, seed).await
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
        n => Err(Error::invalid_argument(
            "pool",
            format!("expected exactly one pool object, found {n}"),
        )),
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

/// Whether the pool's licence restricts `feature` (`restrict_pooling`, …).
fn restricted(p: &PoolRecord, feature: &str) -> bool {
    p.restrictions.get(feature).is_some_and(|v| v == "true")
}

/// `pool "name"`, or `the pool of <coordinator>` for a pool without a name.
fn pool_label(p: &PoolRecord, coordinator: &HostRecord) -> String {
    if p.name_label.is_empty() {
        format!("the pool of {}", coordinator.name_label)
    } else {
        format!("pool {:?}", p.name_label)
    }
}

/// The bits of either list, each once, in order.
fn union(a: &[FeatureBit], b: &[FeatureBit]) -> Vec<FeatureBit> {
    let set: BTreeSet<FeatureBit> = a.iter().chain(b).copied().collect();
    set.into_iter().collect()
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
        waiver: Waiver::None,
    }
}

/// A documentation demand: a forced join goes past it unless said otherwise.
fn docs(id: &str, title: &str) -> Check {
    Check {
        source: CheckSource::Documentation,
        waiver: Waiver::Force,
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
            self.waiver = Waiver::None;
            self.xapi_error = Some(XapiError {
                code: code.wire().to_string(),
                params: params.into_iter().map(Into::into).collect(),
            });
        }
        self
    }

    /// Marks the row failed for the documentation's stricter demand (no xapi error: xapi
    /// itself would accept it).
    fn documented(mut self, failed: bool) -> Self {
        if failed {
            self.status = CheckStatus::Fail;
            if self.xapi_error.is_none() {
                self.waiver = Waiver::Force;
            }
        }
        self
    }

    /// xapi's #13: `pool.join_force` skips it, and so does a forced join.
    fn skipped_by_join_force(mut self) -> Self {
        self.bypassed_by_force = true;
        self.waiver = Waiver::Force;
        self
    }

    fn waiver(mut self, waiver: Waiver) -> Self {
        self.waiver = waiver;
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

    /// Every requirement, one row each: xapi's checks in xapi's execution order
    /// (docs/pool-operations.md#pre-join-checks), each also carrying the documentation's stricter
    /// demand
    /// on the same subject, then the demands xapi does not check at all.
    fn checks(&self) -> Vec<Check> {
        vec![
            self.not_pool_member(),
            self.pooling_licensed(),
            self.pool_size_licensed(),
            self.management_interface_exists(),
            self.ha_disabled_on_candidate(),
            self.clustering_disabled_on_candidate(),
            self.clustering_network(),
            self.ha_disabled_on_pool(),
            self.not_joining_itself(),
            self.no_other_hosts(),
            self.no_running_vms(),
            self.no_vm_operations(),
            self.no_pending_guidance(),
            self.hosts_compatible(),
            self.hosts_homogeneous_software(),
            self.cpu_vendor(),
            self.no_shared_srs(),
            self.no_bonds(),
            self.no_tunnels(),
            self.no_network_sriovs(),
            self.no_non_management_vlans(),
            self.management_vlan_matches(),
            self.external_auth_matches(),
            self.editions(),
            self.network_backend_matches(),
            self.api_version_matches(),
            self.db_schema_matches(),
            self.updates_homogeneous(),
            self.primary_address_type_matches(),
            self.network_purposes_compatible(),
            self.tls_verification_matches(),
            self.ca_certificates_compatible(),
            self.trusted_certificates_compatible(),
            self.not_updating_candidate(),
            self.not_updating_pool(),
            self.sm_features(),
            // The documentation's demands that xapi does not check.
            self.cpu_homogeneous(),
            self.cpu_masking(),
            self.static_management_ip(),
            self.clock_skew(),
            self.management_mtu(),
            self.supported_pool_size(),
        ]
    }

    fn pool_vendor(&self) -> &str {
        self.r
            .pool
            .cpu_info
            .get("vendor")
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Session check, before xapi's numbered ones: the join call is made on the candidate,
    /// and a member answers every call (login included) with HOST_IS_SLAVE naming its
    /// coordinator.
    fn not_pool_member(&self) -> Check {
        let l = self.l;
        let lc = l.hosts.get(&l.pool.master).unwrap_or(&NO_HOST);
        let own_pool = pool_label(&l.pool, lc);
        xapi(
            0,
            "not_pool_member",
            "Candidate is not a member of another pool",
        )
        .ev(
            if self.redirected {
                format!(
                    "a member of {own_pool} (coordinator {} at {})",
                    lc.name_label, lc.address
                )
            } else {
                "not a member of any pool".to_string()
            },
            pool_label(&self.r.pool, self.coord),
        )
        .remedy(format!(
            "Eject the candidate from {own_pool} first (pool.eject on its coordinator {}); \
                 it comes back as a standalone host with a clean installation",
            lc.name_label
        ))
        .fail_with(
            self.redirected,
            ErrorCode::HostIsSlave,
            [lc.address.clone()],
        )
    }

    /// Before xapi's numbered checks (P1): pooling must be licensed on the joiner.
    fn pooling_licensed(&self) -> Check {
        let restricted = restricted(&self.l.pool, "restrict_pooling");
        xapi(0, "pooling_licensed", "Candidate's licence allows pooling")
            .ev(format!("restrict_pooling = {restricted}"), "")
            .remedy("Apply a licence that includes the Pooling feature to the candidate")
            .fail_with(
                restricted,
                ErrorCode::LicenceRestriction,
                Vec::<String>::new(),
            )
    }

    /// xapi #1, Pool_size: a restricted joiner may not make a pool of more than 3.
    fn pool_size_licensed(&self) -> Check {
        let size_restricted = restricted(&self.l.pool, "restrict_pool_size");
        let hosts = self.r.hosts.len();
        xapi(1, "pool_size_licensed", "Licence allows this pool size")
            .ev(
                format!("restrict_pool_size = {size_restricted}"),
                plural(hosts, "host"),
            )
            .remedy("License the Pool_size feature on the candidate, or keep the pool at 3 hosts")
            .fail_with(
                size_restricted && hosts >= 3,
                ErrorCode::LicenceRestriction,
                ["Pool_size"],
            )
    }

    /// xapi #2: a management interface must exist.
    fn management_interface_exists(&self) -> Check {
        xapi(
            2,
            "management_interface_exists",
            "Candidate has a management interface",
        )
        .ev(
            self.my_mgmt
                .map_or("none".into(), |(_, p)| format!("{} {}", p.device, p.ip)),
            "",
        )
        .remedy(
            "Wait for the host to finish booting, or configure a management interface \
             (xe host-management-reconfigure)",
        )
        .fail_with(
            self.my_mgmt.is_none(),
            ErrorCode::HostStillBooting,
            Vec::<String>::new(),
        )
    }

    /// xapi #3: HA off on the candidate.
    fn ha_disabled_on_candidate(&self) -> Check {
        let on = self.l.pool.ha_enabled;
        xapi(
            3,
            "ha_disabled_on_candidate",
            "HA is disabled on the candidate",
        )
        .ev(format!("ha_enabled = {on}"), "")
        .remedy("Disable HA on the candidate (pool.disable_ha)")
        .fail_with(on, ErrorCode::HaIsEnabled, Vec::<String>::new())
    }

    /// xapi #4: no enabled clustering on the candidate.
    fn clustering_disabled_on_candidate(&self) -> Check {
        let mut clustered: Vec<&Ref<ClusterHost>> = self
            .l
            .cluster_hosts
            .iter()
            .filter(|(_, c)| c.enabled)
            .map(|(r, _)| r)
            .collect();
        clustered.sort();
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
        )
    }

    /// xapi #6: HA off on the pool.
    fn ha_disabled_on_pool(&self) -> Check {
        let on = self.r.pool.ha_enabled;
        xapi(6, "ha_disabled_on_pool", "HA is disabled on the pool")
            .ev("", format!("ha_enabled = {on}"))
            .remedy(
                "Disable HA on the pool for the join (pool.disable_ha) and re-enable it afterwards",
            )
            .fail_with(on, ErrorCode::HaIsEnabled, Vec::<String>::new())
    }

    /// xapi #7: not joining myself.
    fn not_joining_itself(&self) -> Check {
        let (my, coord) = (self.my_host, self.coord);
        let why = if self.l.hosts.len() > 1 {
            "Host is already part of a pool"
        } else {
            "Host cannot become slave of itself"
        };
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
        .fail_with(coord.uuid == my.uuid, ErrorCode::OperationNotAllowed, [why])
    }

    /// xapi #8: not the coordinator of other hosts.
    fn no_other_hosts(&self) -> Check {
        let l = self.l;
        let c = xapi(8, "no_other_hosts", "Candidate coordinates no other hosts");
        if self.redirected {
            // A member never reaches this check (the session check stops it first); its
            // pool's host count says nothing about the candidate itself.
            return c.not_applicable("the candidate is a member, not a coordinator (first row)");
        }
        let others: Vec<&str> = l
            .hosts
            .iter()
            .filter(|(r, _)| **r != self.me)
            .map(|(_, h)| h.name_label.as_str())
            .collect();
        c.ev(
            format!(
                "coordinator of {}; others: {}",
                plural(l.hosts.len(), "host"),
                list(others.iter().copied())
            ),
            "",
        )
        .remedy(
            "Eject the other hosts from the candidate's pool first (pool.eject), then join \
             them one by one",
        )
        .fail_with(
            l.hosts.len() > 1,
            ErrorCode::JoiningHostCannotBeMasterOfOtherHosts,
            Vec::<String>::new(),
        )
    }

    /// xapi #9 refuses running guests; the documentation also wants paused and suspended
    /// ones shut down (a suspended VM's memory image may not resume on other hosts).
    fn no_running_vms(&self) -> Check {
        let guests = || {
            self.l
                .vms
                .values()
                .filter(|v| !v.is_control_domain && !v.is_a_template && !v.is_a_snapshot)
        };
        let running = guests().any(|v| v.power_state == VmPowerState::Running);
        let live: Vec<String> = guests()
            .filter(|v| {
                matches!(
                    v.power_state,
                    VmPowerState::Running | VmPowerState::Paused | VmPowerState::Suspended
                )
            })
            .map(|v| format!("{} ({})", v.name_label, v.power_state.wire()))
            .collect();
        xapi(
            9,
            "no_running_vms",
            "No running, paused or suspended VMs on the candidate",
        )
        .ev(list(live.iter().map(String::as_str)), "")
        .remedy("Shut down (or migrate away) the candidate's running, paused and suspended VMs")
        .documented(!live.is_empty())
        .fail_with(
            running,
            ErrorCode::JoiningHostCannotHaveRunningVms,
            Vec::<String>::new(),
        )
    }

    /// xapi #10: no VM (dom0 included) with an operation in progress.
    fn no_vm_operations(&self) -> Check {
        let busy: Vec<String> = self
            .l
            .vms
            .values()
            .filter(|v| !v.current_operations.is_empty())
            .map(|v| {
                let ops: Vec<&str> = v.current_operations.values().map(|o| o.wire()).collect();
                format!("{} ({})", v.name_label, ops.join(", "))
            })
            .collect();
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
        )
    }

    /// xapi #11: no pending mandatory update guidance, candidate first, then the coordinator.
    fn no_pending_guidance(&self) -> Check {
        let (my, coord) = (self.my_host, self.coord);
        let guidance = |h: &HostRecord| list(h.pending_guidances.iter().map(|g| g.wire()));
        let pending = if !my.pending_guidances.is_empty() {
            Some(self.me.to_string())
        } else if !coord.pending_guidances.is_empty() {
            Some(self.coord_ref.to_string())
        } else {
            None
        };
        xapi(
            11,
            "no_pending_guidance",
            "No pending mandatory update guidance",
        )
        .ev(guidance(my), guidance(coord))
        .remedy(
            "Carry out the pending update guidance (reboot host / restart toolstack) on the \
             host named",
        )
        .fail_with(
            pending.is_some(),
            ErrorCode::HostPendingMandatoryGuidanceNotEmpty,
            pending,
        )
    }

    /// xapi #12 compares platform version and product (join_force does NOT bypass it); the
    /// documentation also wants the same product version and build.
    fn hosts_compatible(&self) -> Check {
        let (my, coord) = (self.my_host, self.coord);
        let compat = |h: &HostRecord| (sv(h, "platform_version"), compat_name(h));
        let version = |h: &HostRecord| (sv(h, "product_version"), sv(h, "build_number"));
        let show = |h: &HostRecord| {
            format!(
                "{} {} build {} (platform {})",
                compat_name(h),
                sv(h, "product_version"),
                sv(h, "build_number"),
                sv(h, "platform_version")
            )
        };
        xapi(12, "hosts_compatible", "Same product version and build")
            .ev(show(my), show(coord))
            .remedy("Install the pool's exact product version and build on the candidate")
            .documented(version(my) != version(coord))
            .fail_with(
                compat(my) != compat(coord),
                ErrorCode::HostsNotCompatible,
                Vec::<String>::new(),
            )
    }

    /// xapi #13 (i), software homogeneity: xapi build and supplemental packs. The
    /// documentation asks for the Linux Pack on every host or none, so the pool's other
    /// hosts count too.
    fn hosts_homogeneous_software(&self) -> Check {
        let (my, coord, r) = (self.my_host, self.coord, self.r);
        let software = |h: &HostRecord| {
            (
                sv(h, "xapi"),
                compat_name(h),
                sv(h, "git_id"),
                h.software_version.contains_key("xs:linux"),
            )
        };
        let (ms, ts) = (software(my), software(coord));
        let with_pack = r
            .hosts
            .values()
            .filter(|h| h.software_version.contains_key("xs:linux"))
            .count();
        let pool_consistent = if ms.3 {
            with_pack == r.hosts.len()
        } else {
            with_pack == 0
        };
        let show = |s: &(String, String, String, bool)| {
            format!(
                "xapi {}, {}, git {}, Linux Pack {}",
                s.0,
                s.1,
                s.2,
                if s.3 { "yes" } else { "no" }
            )
        };
        xapi(
            13,
            "hosts_homogeneous_software",
            "Same xapi build and supplemental packs",
        )
        .ev(
            show(&ms),
            format!(
                "{}; Linux Pack on {} of {}",
                show(&ts),
                with_pack,
                plural(r.hosts.len(), "host")
            ),
        )
        .remedy(
            "Install the pool's xapi build and the same supplemental packs (e.g. the Linux \
             Pack, on every host or none)",
        )
        .documented(!pool_consistent)
        .fail_with(
            ms != ts,
            ErrorCode::HostsNotHomogeneous,
            ["Software version differs"],
        )
        .skipped_by_join_force()
    }

    /// xapi #13 (ii) compares the CPU vendor with `pool.cpu_info` (not the coordinator's
    /// record). pool.join_force skips it, but the documentation says hosts with CPUs from
    /// different vendors cannot be pooled: only an explicit override goes past it.
    fn cpu_vendor(&self) -> Check {
        let (mv, pv) = (cpu(self.my_host, "vendor"), self.pool_vendor());
        xapi(13, "cpu_vendor", "Same CPU vendor as the pool")
            .ev(format!("vendor {mv}"), format!("pool vendor {pv}"))
            .remedy(format!(
                "Use a host with a {pv} CPU. Hosts with CPUs from different vendors cannot be \
                 pooled: VMs can never migrate between them (pool.join_force lets it in \
                 all the same)"
            ))
            .fail_with(mv != pv, ErrorCode::HostsNotHomogeneous, ["CPUs differ"])
            .skipped_by_join_force()
            .waiver(Waiver::CrossVendorOverride)
    }

    /// xapi #14: no shared SRs other than the tools SR.
    fn no_shared_srs(&self) -> Check {
        let shared: Vec<&str> = self
            .l
            .srs
            .values()
            .filter(|s| s.shared && !s.is_tools_sr)
            .map(|s| s.name_label.as_str())
            .collect();
        xapi(14, "no_shared_srs", "No shared storage on the candidate")
            .ev(format!("shared SRs: {}", list(shared.iter().copied())), "")
            .remedy(
                "Detach and forget the shared SRs on the candidate (move VMs off them first); \
                 after the join the pool's shared SRs are plugged automatically",
            )
            .fail_with(
                !shared.is_empty(),
                ErrorCode::JoiningHostCannotContainSharedSrs,
                Vec::<String>::new(),
            )
    }

    /// xapi #15: no bonds at all (the documentation's "management not on a bond" is part
    /// of it).
    fn no_bonds(&self) -> Check {
        let l = self.l;
        let device = |p: &Ref<Pif>| {
            l.pifs
                .get(p)
                .map(|p| p.device.clone())
                .unwrap_or_else(|| p.to_string())
        };
        let mut bonds: Vec<String> = l.bonds.values().map(|b| device(&b.master)).collect();
        bonds.sort();
        let management_bonded = self
            .my_mgmt
            .is_some_and(|(_, p)| !p.bond_master_of.is_empty());
        let mut evidence = format!("bonds: {}", list(bonds.iter().map(String::as_str)));
        if management_bonded {
            evidence.push_str(" (management on a bond)");
        }
        xapi(15, "no_bonds", "No bonds on the candidate")
            .ev(evidence, "")
            .remedy(
                "Destroy the bonds on the candidate (Bond.destroy; move management off a bond \
                 first); the pool's bonds are copied to it after the join",
            )
            .fail_with(
                !l.bonds.is_empty(),
                ErrorCode::PoolJoiningHostHasBonds,
                Vec::<String>::new(),
            )
    }

    /// xapi #16: no tunnels.
    fn no_tunnels(&self) -> Check {
        let n = self.l.tunnels.len();
        xapi(16, "no_tunnels", "No tunnels on the candidate")
            .ev(format!("{n} tunnel(s)"), "")
            .remedy("Destroy the tunnels on the candidate (tunnel.destroy)")
            .fail_with(
                n > 0,
                ErrorCode::PoolJoiningHostHasTunnels,
                Vec::<String>::new(),
            )
    }

    /// xapi #17: no SR-IOV networks.
    fn no_network_sriovs(&self) -> Check {
        let n = self.l.sriovs.len();
        xapi(
            17,
            "no_network_sriovs",
            "No SR-IOV networks on the candidate",
        )
        .ev(format!("{n} network_sriov(s)"), "")
        .remedy("Destroy the SR-IOV networks on the candidate (network_sriov.destroy)")
        .fail_with(
            n > 0,
            ErrorCode::PoolJoiningHostHasNetworkSriovs,
            Vec::<String>::new(),
        )
    }

    /// xapi #18: only the management VLAN may exist.
    fn no_non_management_vlans(&self) -> Check {
        let null = Ref::null();
        let mgmt_ref = self.my_mgmt.map_or(&null, |(r, _)| r);
        let vlans: Vec<String> = self
            .l
            .vlans
            .values()
            .filter(|v| &v.untagged_pif != mgmt_ref)
            .map(|v| format!("VLAN {}", v.tag))
            .collect();
        xapi(
            18,
            "no_non_management_vlans",
            "No VLANs other than the management VLAN",
        )
        .ev(
            format!("other VLANs: {}", list(vlans.iter().map(String::as_str))),
            "",
        )
        .remedy(
            "Destroy the non-management VLANs on the candidate (VLAN.destroy); recreate them \
             pool-wide afterwards",
        )
        .fail_with(
            !vlans.is_empty(),
            ErrorCode::PoolJoiningHostHasNonManagementVlans,
            Vec::<String>::new(),
        )
    }

    /// xapi #19: same management VLAN tag (-1 = untagged).
    fn management_vlan_matches(&self) -> Check {
        let c = xapi(
            19,
            "management_vlan_matches",
            "Management VLAN tag matches the coordinator's",
        )
        .remedy("Put the candidate's management interface on the same VLAN as the coordinator's");
        match (self.my_mgmt, self.their_mgmt) {
            (Some((_, m)), Some((_, t))) => c
                .ev(format!("VLAN {}", m.vlan), format!("VLAN {}", t.vlan))
                .fail_with(
                    m.vlan != t.vlan,
                    ErrorCode::PoolJoiningHostManagementVlanDoesNotMatch,
                    [m.vlan.to_string(), t.vlan.to_string()],
                ),
            _ => c.not_applicable("a management interface is missing (see check 2)"),
        }
    }

    /// xapi #20: external authentication, type exact, service name case-insensitive.
    fn external_auth_matches(&self) -> Check {
        let (my, coord) = (self.my_host, self.coord);
        let auth = |h: &HostRecord| {
            format!(
                "{:?} {:?}",
                h.external_auth_type, h.external_auth_service_name
            )
        };
        let differs = my.external_auth_type != coord.external_auth_type
            || !my
                .external_auth_service_name
                .eq_ignore_ascii_case(&coord.external_auth_service_name);
        xapi(
            20,
            "external_auth_matches",
            "Same external authentication as the coordinator",
        )
        .ev(auth(my), auth(coord))
        .remedy("Enable (or disable) the same AD/LDAP domain on the candidate as on the pool")
        .fail_with(
            differs,
            ErrorCode::PoolJoiningExternalAuthMismatch,
            Vec::<String>::new(),
        )
    }

    /// xapi #22: same network back-end; with openvswitch, the same SDN controller.
    fn network_backend_matches(&self) -> Check {
        let (l, r) = (self.l, self.r);
        let backend = |h: &HostRecord| match h.software_version.get("network_backend") {
            Some(b) if !b.is_empty() => b.clone(),
            _ => "bridge".to_string(),
        };
        let (mb, tb) = (backend(self.my_host), backend(self.coord));
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
        let c = xapi(
            22,
            "network_backend_matches",
            "Same network back-end (and SDN controller)",
        )
        .ev(
            format!("{mb}, SDN {:?}", sdn(l)),
            format!("{tb}, SDN {:?}", sdn(r)),
        )
        .remedy(
            "Switch the candidate to the pool's network back-end (xe-switch-network-backend) \
             and SDN controller",
        );
        if mb != tb {
            c.fail_with(
                true,
                ErrorCode::OperationNotAllowed,
                ["Network backends differ"],
            )
        } else {
            c.fail_with(
                sdn_differs,
                ErrorCode::OperationNotAllowed,
                ["SDN controller differs"],
            )
        }
    }

    /// xapi #23: same API version.
    fn api_version_matches(&self) -> Check {
        let api = |h: &HostRecord| format!("{}.{}", h.api_version_major, h.api_version_minor);
        let (mine, theirs) = (api(self.my_host), api(self.coord));
        xapi(
            23,
            "api_version_matches",
            "Same XenAPI version as the coordinator",
        )
        .ev(mine.clone(), theirs.clone())
        .remedy("Update the candidate (or the pool) so that both run the same xapi")
        .fail_with(
            mine != theirs,
            ErrorCode::PoolJoiningHostMustHaveSameApiVersion,
            [mine, theirs],
        )
    }

    /// xapi #24: same database schema (a missing value also fails).
    fn db_schema_matches(&self) -> Check {
        let schema = |h: &HostRecord| {
            h.software_version
                .get("db_schema")
                .cloned()
                .unwrap_or_default()
        };
        let (ms, ts) = (schema(self.my_host), schema(self.coord));
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
        )
    }

    /// xapi #25 compares the homogeneity-enforcing updates (join_force does NOT bypass
    /// it); the documentation wants every hotfix the same.
    fn updates_homogeneous(&self) -> Check {
        let (l, r, me) = (self.l, self.r, &self.me);
        let (enforced_mine, enforced_theirs) =
            (l.enforced_updates(me), r.enforced_updates(&self.coord_ref));
        let (mine, theirs) = (l.update_names(me), r.update_names(&self.coord_ref));
        let missing: Vec<&str> = theirs.difference(&mine).copied().collect();
        let extra: Vec<&str> = mine.difference(&theirs).copied().collect();
        xapi(
            25,
            "updates_homogeneous",
            "Same hotfixes as the coordinator",
        )
        .ev(
            format!(
                "missing: {}; extra: {}",
                list(missing.iter().copied()),
                list(extra.iter().copied())
            ),
            list(theirs.iter().copied()),
        )
        .remedy(
            "Apply the missing updates to the candidate (and remove, or apply pool-wide, the \
             extra ones), then reboot if asked",
        )
        .documented(mine != theirs)
        .fail_with(
            enforced_mine != enforced_theirs,
            ErrorCode::HostsNotHomogeneous,
            [format!(
                "Updates on local host {} and pool host {} differ",
                self.my_host.name_label, self.coord.name_label
            )],
        )
    }

    /// xapi #26: same primary address type of the management interfaces.
    fn primary_address_type_matches(&self) -> Check {
        let c = xapi(
            26,
            "primary_address_type_matches",
            "Same management address family (IPv4/IPv6)",
        )
        .remedy("Configure the candidate's management interface with the pool's address family");
        match (self.my_mgmt, self.their_mgmt) {
            (Some((_, m)), Some((_, t))) => c
                .ev(m.primary_address_type.wire(), t.primary_address_type.wire())
                .fail_with(
                    m.primary_address_type != t.primary_address_type,
                    ErrorCode::OperationNotAllowed,
                    ["Primary address type differs"],
                ),
            _ => c.not_applicable("a management interface is missing (see check 2)"),
        }
    }

    /// xapi #27, NBD purposes: xapi compares the first nbd/insecure_nbd network found on
    /// each side; with one kind per side (the usual case) comparing the sets is the same.
    fn network_purposes_compatible(&self) -> Check {
        let (mp, tp) = (self.l.nbd_purposes(), self.r.nbd_purposes());
        xapi(
            27,
            "network_purposes_compatible",
            "Compatible NBD network purposes",
        )
        .ev(list(mp.iter().copied()), list(tp.iter().copied()))
        .remedy(
            "Use the same NBD purpose (nbd or insecure_nbd) on the candidate's networks as in \
             the pool",
        )
        .fail_with(
            !mp.is_empty() && !tp.is_empty() && mp != tp,
            ErrorCode::OperationNotAllowed,
            ["Incompatible network purposes: nbd and insecure_nbd"],
        )
    }

    /// xapi #28: same TLS verification setting.
    fn tls_verification_matches(&self) -> Check {
        let (mine, theirs) = (
            self.l.pool.tls_verification_enabled,
            self.r.pool.tls_verification_enabled,
        );
        xapi(
            28,
            "tls_verification_matches",
            "Same TLS verification setting",
        )
        .ev(
            format!("tls_verification_enabled = {mine}"),
            format!("tls_verification_enabled = {theirs}"),
        )
        .remedy(
            "Enable TLS verification on the candidate (pool.enable_tls_verification) or match \
             the pool's setting",
        )
        .fail_with(
            mine != theirs,
            ErrorCode::PoolJoiningHostTlsVerificationMismatch,
            Vec::<String>::new(),
        )
    }

    /// xapi #29: CA certificates with the same name must have the same fingerprint.
    fn ca_certificates_compatible(&self) -> Check {
        let cas = |s: &'a Side| {
            s.certificates
                .values()
                .filter(|c| c.type_ == CertificateType::Ca && !c.name.is_empty())
        };
        let (l, r) = (self.l, self.r);
        let conflicts: BTreeSet<&str> = cas(l)
            .filter(|m| cas(r).any(|t| t.name == m.name && t.fingerprint != m.fingerprint))
            .map(|m| m.name.as_str())
            .collect();
        xapi(
            29,
            "ca_certificates_compatible",
            "No conflicting CA certificate names",
        )
        .ev(
            format!("{} named CA certificate(s)", cas(l).count()),
            format!("{} named CA certificate(s)", cas(r).count()),
        )
        .remedy(
            "Remove or rename the conflicting CA certificates on the candidate \
             (pool.uninstall_ca_certificate)",
        )
        .fail_with(
            !conflicts.is_empty(),
            ErrorCode::PoolJoiningHostCaCertificatesConflict,
            conflicts.iter().copied(),
        )
    }

    /// xapi #30, trusted-certificate purposes: not in this API's Certificate class.
    fn trusted_certificates_compatible(&self) -> Check {
        xapi(
            30,
            "trusted_certificates_compatible",
            "No conflicting trusted-certificate purposes",
        )
        .not_applicable("this datamodel's Certificate class has no purposes to compare")
    }

    /// xapi #31: no rolling update in progress on the candidate.
    fn not_updating_candidate(&self) -> Check {
        let updating = self.l.updating();
        xapi(
            31,
            "not_updating_candidate",
            "No update in progress on the candidate",
        )
        .ev(format!("apply_updates running: {updating}"), "")
        .remedy("Wait for the update on the candidate to finish")
        .fail_with(
            updating,
            ErrorCode::NotSupportedDuringUpgrade,
            Vec::<String>::new(),
        )
    }

    /// xapi #32: no rolling update in progress on the pool.
    fn not_updating_pool(&self) -> Check {
        let updating = self.r.updating();
        xapi(32, "not_updating_pool", "No update in progress on the pool")
            .ev("", format!("apply_updates running: {updating}"))
            .remedy("Wait for the pool's update to finish")
            .fail_with(
                updating,
                ErrorCode::NotSupportedDuringUpgrade,
                Vec::<String>::new(),
            )
    }

    /// xapi #5: joining a pool whose cluster auto-joins new hosts [HEAD only].
    fn clustering_network(&self) -> Check {
        let (l, r) = (self.l, self.r);
        let c = xapi(
            5,
            "clustering_network_ready",
            "One IP on the pool's clustering network",
        )
        .remedy(
            "Give the candidate exactly one IP address on the pool's clustering network (and \
             not on a VLAN)",
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
    fn edition_check(&self) -> Check {
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

    /// xapi #21 and the documentation's "licence valid": an expired licence only warns.
    fn editions(&self) -> Check {
        let my = self.my_host;
        let expiry = my
            .license_params
            .get("expiry")
            .and_then(|e| DateTime::parse(e))
            .filter(|e| !e.is_unset());
        let expired = expiry.as_ref().is_some_and(|e| e.0 < chrono::Utc::now());
        let mut c = self.edition_check();
        if let Some(e) = &expiry {
            c.evidence.candidate.push_str(&format!(", expiry {e}"));
        }
        if expired && c.status == CheckStatus::Pass {
            c.status = CheckStatus::Warn;
            c.remedy = "Renew the candidate's licence".into();
        }
        c
    }

    /// The documentation wants identical CPUs: the same family and model as every pool
    /// host and the same features. xapi only compares vendors; a forced join makes a
    /// heterogeneous pool that runs on the features every host has.
    fn cpu_homogeneous(&self) -> Check {
        let (my, r) = (self.my_host, self.r);
        let key = |h: &HostRecord| {
            (
                cpu(h, "vendor").to_string(),
                cpu(h, "family").to_string(),
                cpu(h, "model").to_string(),
            )
        };
        let mut differing: Vec<&str> = r
            .hosts
            .values()
            .filter(|h| key(h) != key(my))
            .map(|h| h.name_label.as_str())
            .collect();
        differing.sort_unstable();
        let (lost_hvm, lost_pv, known) = self.features_lost();
        let gained = self.features_gained();
        let c = docs("cpu_homogeneous", "Same CPU model and features as the pool");
        if cpu(my, "vendor") != self.pool_vendor() {
            return c.not_applicable("the vendors differ (see the CPU vendor row)");
        }
        let mut candidate = cpu_model(my);
        if !known {
            candidate.push_str("; feature vector unknown");
        } else if !lost_hvm.is_empty() || !lost_pv.is_empty() {
            let lost = union(&lost_hvm, &lost_pv);
            candidate.push_str(&format!(
                "; lacks {} the pool has: {}",
                plural(lost.len(), "feature"),
                bits(&lost)
            ));
        }
        if gained > 0 {
            candidate.push_str(&format!(
                "; {} the pool lacks would go unused",
                plural(gained, "extra feature")
            ));
        }
        let pool = if differing.is_empty() {
            cpu_model(self.coord)
        } else {
            format!(
                "{}; other models: {}",
                cpu_model(self.coord),
                list(differing.iter().copied())
            )
        };
        let heterogeneous =
            !differing.is_empty() || !lost_hvm.is_empty() || !lost_pv.is_empty() || gained > 0;
        c.ev(candidate, pool)
            .remedy(
                "Use a host with the pool's CPU model, or force the join to make a heterogeneous \
                 pool: it runs with the features every host has, so VMs started afterwards see \
                 fewer features (those the candidate lacks)",
            )
            .status(if heterogeneous {
                CheckStatus::Fail
            } else {
                CheckStatus::Pass
            })
    }

    /// A heterogeneous pool needs CPU feature masking (Intel FlexMigration, AMD Enhanced
    /// Migration). Older releases say in `host.cpu_info["maskable"]` what each CPU can
    /// hide: `full`, `base` (only the words of CPUID leaf 1) or `no`. Current releases
    /// drop the key and level the features of every host automatically.
    fn cpu_masking(&self) -> Check {
        let (my, r) = (self.my_host, self.r);
        let c = docs(
            "cpu_masking",
            "CPU feature masking for a heterogeneous pool",
        );
        if cpu(my, "vendor") != self.pool_vendor() {
            return c.not_applicable("CPUs of different vendors cannot be masked to match");
        }
        let (lost_hvm, lost_pv, _) = self.features_lost();
        let same_model = r
            .hosts
            .values()
            .all(|h| (cpu(h, "family"), cpu(h, "model")) == (cpu(my, "family"), cpu(my, "model")));
        if same_model && lost_hvm.is_empty() && lost_pv.is_empty() && self.features_gained() == 0 {
            return c.not_applicable("same CPUs: nothing to mask");
        }
        fn maskable(h: &HostRecord) -> Option<&str> {
            h.cpu_info.get("maskable").map(String::as_str)
        }
        let mut hosts: Vec<(&str, Option<&str>)> = r
            .hosts
            .values()
            .map(|h| (h.name_label.as_str(), maskable(h)))
            .collect();
        hosts.sort_unstable();
        let pool_evidence = hosts
            .iter()
            .map(|(n, m)| format!("{n}: {}", m.unwrap_or("not reported")))
            .collect::<Vec<_>>()
            .join(", ");
        let mine = maskable(my);
        if mine.is_none() && hosts.iter().all(|(_, m)| m.is_none()) {
            let lost = union(&lost_hvm, &lost_pv);
            return c.ev(
                "not reported: this release levels CPU features automatically",
                if lost.is_empty() {
                    "the pool loses no features".to_string()
                } else {
                    format!("the pool would lose: {}", bits(&lost))
                },
            );
        }
        let unable: Vec<&str> = std::iter::once((my.name_label.as_str(), mine))
            .chain(hosts.iter().copied())
            .filter(|(_, m)| *m == Some("no"))
            .map(|(n, _)| n)
            .collect();
        // `base` masks only CPUID leaf 1 (words 0 and 1); losing a later word's feature
        // cannot be hidden.
        let beyond_base = lost_hvm.iter().chain(&lost_pv).any(|b| b.word >= 2);
        let base_only = std::iter::once(mine)
            .chain(hosts.iter().map(|(_, m)| *m))
            .any(|m| m == Some("base"));
        let c = c
            .ev(
                format!("maskable: {}", mine.unwrap_or("not reported")),
                pool_evidence,
            )
            .remedy(
                "Pool only identical CPUs with these hosts: without (full) masking support a \
                 heterogeneous pool cannot hide the features some hosts lack",
            );
        if !unable.is_empty() || (base_only && beyond_base) {
            // Not waived by force: the documentation makes masking a precondition of a
            // heterogeneous pool, not advice.
            c.status(CheckStatus::Fail).waiver(Waiver::None)
        } else if base_only {
            c.status(CheckStatus::Warn)
        } else {
            c
        }
    }

    /// Static management address: members find the coordinator by IP.
    fn static_management_ip(&self) -> Check {
        let ip = docs("static_management_ip", "Static management IP address").remedy(
            "Configure a static IP on the candidate's management interface \
             (PIF.reconfigure_ip mode=Static) before joining, or give it a DHCP reservation \
             so that its address never changes",
        );
        let Some((_, p)) = self.my_mgmt else {
            return ip.not_applicable("no management interface (see check 2)");
        };
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

    /// Clock skew against the coordinator; xapi only alerts (after the join) above 300 s.
    fn clock_skew(&self) -> Check {
        let limit = self.options.clock_skew_threshold.as_secs() as i64;
        let clock = docs("clock_skew", "Clock in step with the coordinator").remedy(
            "Synchronise the candidate's clock with the pool's (configure the same NTP servers) \
             before joining",
        );
        let Some(s) = self.skew else {
            return clock.not_applicable("a server time is unknown");
        };
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

    /// MTU of the management network.
    fn management_mtu(&self) -> Check {
        let mtu = docs("management_mtu", "Management MTU matches the coordinator's")
            .remedy("Set the candidate's management MTU to the pool's before joining");
        let (Some((_, m)), Some((_, t))) = (self.my_mgmt, self.their_mgmt) else {
            return mtu.not_applicable("a management interface is missing");
        };
        let (mn, tn) = (
            self.l.networks.get(&m.network).map_or(0, |n| n.mtu),
            self.r.networks.get(&t.network).map_or(0, |n| n.mtu),
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

    /// Pool size: a support statement only; xapi has no limit (docs/pool-operations.md#pool-size).
    fn supported_pool_size(&self) -> Check {
        let after = self.r.hosts.len() + 1;
        let limit = self.options.supported_pool_size;
        docs(
            "supported_pool_size",
            "Pool stays within the supported size",
        )
        .ev(
            "",
            format!(
                "{} after the join; supported: {limit}",
                plural(after, "host")
            ),
        )
        .remedy(
            "Split the hosts into several pools: xapi accepts more, but the vendor does not \
             support it",
        )
        .status(if after > limit {
            CheckStatus::Warn
        } else {
            CheckStatus::Pass
        })
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

    /// How many HVM features the candidate has that the pool lacks (unused after a join).
    fn features_gained(&self) -> usize {
        let pool = features::parse(
            self.r
                .pool
                .cpu_info
                .get("features_hvm_host")
                .map(String::as_str)
                .unwrap_or_default(),
        );
        match (
            pool,
            features::parse(cpu(self.my_host, "features_hvm_host")),
        ) {
            (Some(p), Some(m)) => features_lost(&m, &p).len(),
            _ => 0,
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
                "different vendor ({} vs the pool's {pool_vendor}): hosts with CPUs from \
                 different vendors cannot be pooled (no levelling across vendors, VMs can \
                 never migrate between them); pool.join_force would accept it, xenpool only \
                 with force and allow_cross_vendor",
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
                "same vendor, levelling possible (CPUID masking, Intel FlexMigration / AMD \
                 Enhanced Migration): the pool would lose {} HVM and {} PV feature bit(s); \
                 running VMs keep theirs until restarted",
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
