//! The join pre-flight's report: every check with its verdict, evidence and remedy, the
//! error xapi would raise, and a heterogeneous-CPU analysis. Plain text as `Display` (the
//! shell draws its own table) and serialised with serde, verdicts included, for the
//! Python and Node bindings.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::generated::ErrorCode;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Nothing to fix.
    Pass,
    /// The join fails (xapi check) or the documentation forbids it.
    Fail,
    /// Allowed, but the documentation advises against it.
    Warn,
    /// The check cannot apply in this situation (the evidence says why).
    NotApplicable,
}

impl CheckStatus {
    /// Short upper-case label used in tables.
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Pass => "PASS",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Warn => "WARN",
            CheckStatus::NotApplicable => "N/A",
        }
    }
}

/// Where a check comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckSource {
    /// One of xapi's pre-join checks. `order` is its position in `pre_join_checks`
    /// (1–33, docs/pool-operations.md#pre-join-checks); 0 marks the steps xapi runs before them
    /// (the
    /// session check on the joiner and the Pooling licence, P1).
    Xapi {
        /// Execution order in xapi.
        order: u8,
    },
    /// Demanded by the pooling documentation but not checked by xapi: no xapi error.
    Documentation,
}

/// The failure xapi raises (or would raise) for a check, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XapiError {
    /// Wire error code, e.g. `HOSTS_NOT_HOMOGENEOUS`.
    pub code: String,
    /// Parameters exactly as xapi sends them.
    pub params: Vec<String>,
}

impl XapiError {
    /// The typed error code.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::from_wire(&self.code)
    }
}

impl fmt::Display for XapiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if !self.params.is_empty() {
            write!(f, " {:?}", self.params)?;
        }
        Ok(())
    }
}

/// What lets a join go ahead although a check fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiver {
    /// Nothing: the join cannot succeed until the problem is fixed (xapi refuses it even
    /// with `pool.join_force`, or the check passes).
    #[default]
    None,
    /// A forced join (`join(force)`) accepts it: documentation advice, or xapi's
    /// homogeneity check that `pool.join_force` skips.
    Force,
    /// Only an explicit `allow_cross_vendor` override on top of `force`: hosts with CPUs
    /// from different vendors make an unsupported pool, although `pool.join_force`
    /// lets them in.
    CrossVendorOverride,
}

/// How far a join may go past failing checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinPolicy {
    /// Join although the documentation's advice or xapi's homogeneity check fails (uses
    /// `pool.join_force`).
    pub force: bool,
    /// With `force`, also join a host whose CPU vendor differs from the pool's. The
    /// pooling documentation does not support such a pool: VMs can never migrate between
    /// the vendors.
    pub allow_cross_vendor: bool,
}

impl JoinPolicy {
    /// A forced join (no cross-vendor override).
    pub const FORCE: JoinPolicy = JoinPolicy {
        force: true,
        allow_cross_vendor: false,
    };

    /// Whether this policy goes ahead despite a failure with `waiver`.
    pub fn waives(self, waiver: Waiver) -> bool {
        match waiver {
            Waiver::None => false,
            Waiver::Force => self.force,
            Waiver::CrossVendorOverride => self.force && self.allow_cross_vendor,
        }
    }
}

impl From<bool> for JoinPolicy {
    /// `true` is a forced join, `false` a plain one.
    fn from(force: bool) -> Self {
        JoinPolicy {
            force,
            allow_cross_vendor: false,
        }
    }
}

/// What was found on each side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// On the candidate host.
    pub candidate: String,
    /// In the pool (usually its coordinator).
    pub pool: String,
}

/// One pre-join check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable identifier, e.g. `hosts_homogeneous_cpu`.
    pub id: String,
    /// What is checked, in words.
    pub title: String,
    /// The verdict.
    pub status: CheckStatus,
    /// xapi check (with its order) or documentation advice.
    pub source: CheckSource,
    /// The error a join raises for this check, when it fails (xapi checks only).
    pub xapi_error: Option<XapiError>,
    /// What was found on each side.
    pub evidence: Evidence,
    /// What the administrator should do, in plain words.
    pub remedy: String,
    /// Whether xapi's `pool.join_force` skips this check (only xapi's #13).
    pub bypassed_by_force: bool,
    /// What xenpool's `join` needs to go ahead when this check fails.
    pub waiver: Waiver,
}

impl Check {
    /// True for one of xapi's own checks.
    pub fn is_xapi(&self) -> bool {
        matches!(self.source, CheckSource::Xapi { .. })
    }
}

/// Name, uuid and address of a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostIdentity {
    /// `name_label`.
    pub name: String,
    /// `uuid`.
    pub uuid: String,
    /// Management address (`host.address`).
    pub address: String,
}

/// The pool being joined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolIdentity {
    /// `pool.name_label`.
    pub name: String,
    /// `pool.uuid`.
    pub uuid: String,
    /// Its coordinator.
    pub coordinator: HostIdentity,
    /// How many hosts it has now.
    pub hosts: usize,
}

impl PoolIdentity {
    /// `pool "name"`, or `the pool of <coordinator>` for a pool without a name (every
    /// pool starts that way).
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            format!("the pool of {}", self.coordinator.name)
        } else {
            format!("pool {:?}", self.name)
        }
    }
}

/// One bit of a CPU feature vector: 32-bit word index and bit within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FeatureBit {
    /// Word index in the `-`-separated vector (0-based).
    pub word: usize,
    /// Bit within the word (0 = least significant).
    pub bit: u8,
}

impl FeatureBit {
    /// Xen's name for the feature (`avx2`, `sse4_2`), when the bit is a well-known one.
    pub fn name(&self) -> Option<&'static str> {
        super::features::name(self.word, self.bit)
    }
}

impl fmt::Display for FeatureBit {
    /// The feature's name when known, else its position (`w9:b3`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "w{}:b{}", self.word, self.bit),
        }
    }
}

/// What joining this CPU would do to the pool (docs/pool-operations.md#cpu-info, levelling).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeterogeneousAnalysis {
    /// Candidate `cpu_info["vendor"]`.
    pub candidate_vendor: String,
    /// Pool `cpu_info["vendor"]` (what xapi's #13 compares with).
    pub pool_vendor: String,
    /// Candidate `modelname` (family/model).
    pub candidate_model: String,
    /// Coordinator `modelname` (family/model).
    pub pool_model: String,
    /// Same vendor.
    pub same_vendor: bool,
    /// Same vendor, family and model (stepping is ignored).
    pub same_model: bool,
    /// HVM features the pool has (`pool.cpu_info.features_hvm_host`) and the candidate lacks.
    pub hvm_features_lost: Vec<FeatureBit>,
    /// PV features the pool has (`features_pv_host`) and the candidate lacks.
    pub pv_features_lost: Vec<FeatureBit>,
    /// The pool's HVM feature vector after levelling, if both vectors are known.
    pub levelled_hvm_features: Option<String>,
    /// Whether levelling can make the pool homogeneous: same vendor and both feature
    /// vectors known (Intel FlexMigration / AMD Enhanced Migration, i.e. CPUID masking).
    pub levelling_possible: bool,
    /// The explanation, in words.
    pub summary: String,
    /// What `pool.join_force` would bypass (failing xapi #13 checks), in words.
    pub force_bypasses: Vec<String>,
}

/// How many XenAPI calls the pre-flight made on each side (login and logout included on
/// the candidate side).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCounts {
    /// Calls on the pool's connection.
    pub pool: usize,
    /// Calls on the candidate, including `session.login_with_password` and `session.logout`.
    pub candidate: usize,
}

/// The outcome of [`crate::pool::validate_join`]. It serialises with its verdicts,
/// `ready` and `predicted_failure` (`{code, params}` or null), so that no front end works
/// them out again; reading one back ignores them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JoinReport {
    /// The host that would join.
    pub candidate: HostIdentity,
    /// The pool it would join.
    pub pool: PoolIdentity,
    /// xapi's checks in xapi's order, then the documentation's.
    pub checks: Vec<Check>,
    /// CPU heterogeneity and levelling.
    pub heterogeneous: HeterogeneousAnalysis,
    /// Candidate clock minus coordinator clock, in seconds (1 s resolution).
    pub clock_skew_secs: Option<i64>,
    /// XenAPI calls made.
    pub calls: CallCounts,
}

impl JoinReport {
    /// The error `pool.join` (or, with `force`, `pool.join_force`) would raise: the first
    /// failing xapi check in xapi's order, skipping #13 when forced. `None` = it would join.
    pub fn predicted_failure(&self, force: bool) -> Option<(ErrorCode, Vec<String>)> {
        self.predicted_error(force)
            .map(|e| (e.error_code(), e.params.clone()))
    }

    /// [`JoinReport::predicted_failure`] as on the wire.
    pub fn predicted_error(&self, force: bool) -> Option<&XapiError> {
        self.checks
            .iter()
            .filter(|c| c.is_xapi() && c.status == CheckStatus::Fail)
            .filter(|c| !(force && c.bypassed_by_force))
            .find_map(|c| c.xapi_error.as_ref())
    }

    /// The failing checks that stop a join under `policy`, in order.
    pub fn refusals(&self, policy: JoinPolicy) -> Vec<&Check> {
        self.fails()
            .into_iter()
            .filter(|c| !policy.waives(c.waiver))
            .collect()
    }

    /// The failing checks that `policy` lets a join go ahead despite, in order.
    pub fn waived(&self, policy: JoinPolicy) -> Vec<&Check> {
        self.fails()
            .into_iter()
            .filter(|c| policy.waives(c.waiver))
            .collect()
    }

    /// True when nothing fails, neither in xapi's checks nor in the documentation's.
    pub fn is_ready(&self) -> bool {
        self.fails().is_empty()
    }

    /// The failing checks, in order.
    pub fn fails(&self) -> Vec<&Check> {
        self.with_status(CheckStatus::Fail)
    }

    /// The checks that only warn, in order.
    pub fn warnings(&self) -> Vec<&Check> {
        self.with_status(CheckStatus::Warn)
    }

    /// A check by its id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    fn with_status(&self, status: CheckStatus) -> Vec<&Check> {
        self.checks.iter().filter(|c| c.status == status).collect()
    }
    /// The report's opening lines: who joins what, and what `pool.join` and
    /// `pool.join_force` would say.
    pub fn headline(&self) -> String {
        let c = &self.candidate;
        let p = &self.pool;
        let verdict = |force: bool| match self.predicted_error(force) {
            None => "would succeed".to_string(),
            Some(e) => format!("would fail: {} {:?}", e.code, e.params),
        };
        format!(
            "Join pre-flight: {} ({}, {}) into {} (coordinator {} {}, {})\n\
             pool.join: {}; pool.join_force: {}",
            c.name,
            c.address,
            c.uuid,
            p.label(),
            p.coordinator.name,
            p.coordinator.address,
            plural(p.hosts, "host"),
            verdict(false),
            verdict(true)
        )
    }

    /// The report's closing lines: the CPU analysis, and what `pool.join_force` skips.
    pub fn cpu_lines(&self) -> String {
        let h = &self.heterogeneous;
        let mut out = format!("CPU: {}", h.summary);
        if !h.force_bypasses.is_empty() {
            out.push_str(&format!(
                "\njoin_force would bypass: {}",
                h.force_bypasses.join("; ")
            ));
        }
        out
    }
}

impl Check {
    /// Where it comes from, short: `xapi #13` or `docs`.
    pub fn origin(&self) -> String {
        match self.source {
            CheckSource::Xapi { order } => format!("xapi #{order}"),
            CheckSource::Documentation => "docs".to_string(),
        }
    }

    /// What a join needs to go past it, when it fails and something can.
    pub fn waiver_note(&self) -> Option<&'static str> {
        match (self.status, self.waiver) {
            (CheckStatus::Fail, Waiver::Force) => Some("a forced join accepts this"),
            (CheckStatus::Fail, Waiver::CrossVendorOverride) => {
                Some("only force with allow_cross_vendor; unsupported")
            }
            _ => None,
        }
    }

    /// The remedy, for a check that fails or warns (empty otherwise).
    pub fn remedy_if_needed(&self) -> &str {
        match self.status {
            CheckStatus::Fail | CheckStatus::Warn => &self.remedy,
            _ => "",
        }
    }
}

impl Serialize for JoinReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            candidate: &'a HostIdentity,
            pool: &'a PoolIdentity,
            checks: &'a [Check],
            heterogeneous: &'a HeterogeneousAnalysis,
            clock_skew_secs: Option<i64>,
            calls: &'a CallCounts,
            ready: bool,
            predicted_failure: Option<&'a XapiError>,
        }
        // Every field, by name: a new one does not compile until it is serialised too.
        let JoinReport {
            candidate,
            pool,
            checks,
            heterogeneous,
            clock_skew_secs,
            calls,
        } = self;
        Wire {
            candidate,
            pool,
            checks,
            heterogeneous,
            clock_skew_secs: *clock_skew_secs,
            calls,
            ready: self.is_ready(),
            predicted_failure: self.predicted_error(false),
        }
        .serialize(s)
    }
}

/// `1 host`, `3 hosts`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Plain text, a paragraph per check (the shell draws it as a table).
impl fmt::Display for JoinReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        for c in &self.checks {
            writeln!(f, "{:<4} {} [{}]", c.status.label(), c.title, c.origin())?;
            if let Some(e) = &c.xapi_error {
                writeln!(f, "     → {e}")?;
            }
            if let Some(note) = c.waiver_note() {
                writeln!(f, "     ({note})")?;
            }
            writeln!(
                f,
                "     candidate: {}; pool: {}",
                c.evidence.candidate, c.evidence.pool
            )?;
            let remedy = c.remedy_if_needed();
            if !remedy.is_empty() {
                writeln!(f, "     remedy: {remedy}")?;
            }
        }
        writeln!(f, "{}", self.cpu_lines())
    }
}
