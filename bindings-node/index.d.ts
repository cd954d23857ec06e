// The public API of the `xenpool` package. The XenAPI itself (records, enums, every message)
// is generated: see generated/xenapi.d.ts.
import type { Ref, Int, Records, XenAPI, XenAPIErrorCode } from './generated/xenapi'

export * from './generated/xenapi'

/** How to log in and check the host's certificate. */
export interface ConnectOptions {
  /** User name (default `root`). */
  user?: string
  /** Password. Never shown in errors or `inspect` output. Without it: `passwordFile`,
   * then `$XENPOOL_PASSWORD`; none of them is `INVALID_ARGUMENT` naming `password`. */
  password?: string
  /** A file whose first line is the password. */
  passwordFile?: string
  /** Pinned SHA-256 certificate fingerprint (`AB:CD:…`). */
  fingerprint?: string
  /** Learn the certificate's fingerprint on first contact and pin it (see `session.fingerprint`). */
  trustOnFirstUse?: boolean
  /** Accept any certificate (anyone on the path can read the password). */
  insecure?: boolean
  /** Limit for one call, in ms (default 120 000). */
  timeoutMs?: number
  /** Limit for opening a connection, in ms (default 10 000). */
  connectTimeoutMs?: number
  /** RPC encoding: JSON-RPC with XML-RPC fall-back (default), or one of them only (any
   * case; `jsonrpc`/`json-rpc` and `xmlrpc`/`xml-rpc` are accepted too). */
  protocol?: 'auto' | 'json' | 'xml' | 'jsonrpc' | 'json-rpc' | 'xmlrpc' | 'xml-rpc' | (string & {})
  /** How long a pool connection looks for a new coordinator, in ms (default 30 000). */
  failoverTimeoutMs?: number
}

/** A host to reach: its URL and how to log in (a simulator host fits as is). */
export interface HostAccess extends ConnectOptions {
  /** `https://host[:port]`. */
  url: string
  /** Alias of `user` (simulator hosts carry `username`). */
  username?: string
}

/** Per-call options. */
export interface CallOptions {
  /** Cancels the call: it rejects with `code === "CANCELLED"` (`name === "AbortError"`). */
  signal?: AbortSignal
}

/** One change from `event.from`. */
export interface XenEvent<C extends keyof Records = keyof Records> {
  /** The database generation of the change. */
  id: string
  /** Lower-case class name (`vm`). */
  class: string
  /** What happened; `resync` when the host lost the token (drop state built from earlier events). */
  operation: 'add' | 'mod' | 'del' | 'resync'
  /** The object's reference. */
  ref: Ref<C & string>
  /** The object's record (absent for `del`). */
  snapshot?: Records[C]
}

/** Options of `session.events()`. */
export interface EventOptions extends CallOptions {
  /** Resume from a token (e.g. from `event.inject`). */
  token?: string
  /** How long each `event.from` waits on the host, in seconds (default 30). */
  pollSeconds?: number
}

/** A logged-in session. */
export declare class Session implements AsyncDisposable {
  /** Every class's messages: `await session.xenapi.VM.get_all_records()`; a trailing `AbortSignal` cancels. */
  readonly xenapi: XenAPI
  /** The URL of the coordinator serving this session. */
  readonly url: string
  /** The user logged in as. */
  readonly user: string
  /** The session reference. */
  readonly sessionRef: string
  /** The pinned certificate fingerprint (given, or learnt on first use). */
  readonly fingerprint: string | undefined
  /** Calls any message by name with arguments checked by the datamodel. */
  call(method: string, args?: unknown[], options?: CallOptions): Promise<unknown>
  /** Calls a message the datamodel may not know; arguments are sent as they are. */
  callUntyped(method: string, args?: unknown[], options?: CallOptions): Promise<unknown>
  /** Logs out; running calls and event streams end with `CANCELLED`. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
  /** The events of `classes` (`["vm"]`, `["*"]`); the first items announce every existing object. */
  events(classes: string[], options?: EventOptions): AsyncGenerator<XenEvent, void, undefined>
  /** An object cache of `classes` (wire names), fed by `event.from`. */
  cache(classes: Array<keyof Records & string>, options?: CallOptions): Promise<ObjectCache>
}

/** A record with its reference. */
export type Cached<C extends keyof Records> = Records[C] & { readonly $ref: Ref<C & string> }

/** Options of `cache.waitFor()`. */
export interface WaitOptions extends CallOptions {
  /** How long to wait, in ms (default 30 000); then it rejects with `code === "TIMEOUT"`. */
  timeoutMs?: number
}

/** Records kept up to date from `event.from` (core's object cache). */
export declare class ObjectCache implements AsyncDisposable {
  /** The classes followed, as the datamodel spells them (`VM`). */
  readonly classes: string[]
  /** The cached record of `ref`. */
  get<C extends keyof Records>(ref: Ref<C & string>): Cached<C> | undefined
  /** The cached record of `ref`, if it is of class `cls`. */
  get<C extends keyof Records>(cls: C, ref: Ref<C & string>): Cached<C> | undefined
  /** Every cached record of `cls`. */
  all<C extends keyof Records>(cls: C): Map<Ref<C & string>, Cached<C>>
  /**
   * The first record of class `cls` for which `predicate` holds (one already cached counts),
   * waiting for events; `TIMEOUT` after `timeoutMs`, `SESSION_CLOSED` once the cache is closed.
   */
  waitFor<C extends keyof Records>(cls: C, predicate: (record: Cached<C>, ref: Ref<C & string>) => boolean, options?: WaitOptions): Promise<Cached<C>>
  /** The record of the object `ref` once `predicate` holds on it (it may not be cached yet). */
  waitFor<C extends keyof Records>(ref: Ref<C & string>, predicate: (record: Cached<C>, ref: Ref<C & string>) => boolean, options?: WaitOptions): Promise<Cached<C>>
  /** Stops following events; pending `waitFor` calls reject with `SESSION_CLOSED`. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** One step of a workflow. */
export interface ProgressEvent {
  /** Steps done, this one included (1-based). */
  step: number
  /** Steps in all. */
  total: number
  /** What is happening. */
  message: string
}

/** Options every pool workflow takes. */
export interface WorkflowOptions extends CallOptions {
  /** Only work out the plan: change nothing. */
  dryRun?: boolean
  /** Called at each step. */
  onProgress?: (event: ProgressEvent) => void
  /** Limit for each task the workflow waits on, in ms. */
  taskTimeoutMs?: number
}

/** A XenAPI call a workflow makes, or would make. */
export interface PlannedCall {
  on: string
  method: string
  args: string[]
  purpose: string
}

/** The calls of a workflow (all of them for a dry run). */
export interface Plan {
  operation: string
  calls: PlannedCall[]
  warnings: string[]
}

/** What a workflow did. */
export interface Outcome {
  plan: Plan
  executed: boolean
  /** It ran and did all it set out to (never for a dry run). */
  complete: boolean
  [detail: string]: unknown
}

/** One check of a join report. */
export interface Check {
  id: string
  status: 'pass' | 'warn' | 'fail' | 'not_applicable' | string
  title: string
  /** What a join needs to go past this check when it fails. */
  waiver: 'none' | 'force' | 'cross_vendor_override'
  evidence: { candidate: string; pool: string }
  remedy: string
  [detail: string]: unknown
}

/** Whether a host can join a pool: every check, not just the first failure. */
export interface JoinReport {
  /** True when nothing would refuse the join. */
  ready: boolean
  /** The XenAPI error `pool.join` would raise, if any. */
  predicted_failure: { code: XenAPIErrorCode | string; params: string[] } | null
  checks: Check[]
  [detail: string]: unknown
}

/** A failover-aware session on a whole pool, with the pool workflows. */
export declare class Pool extends Session {
  /** Connects to the pool that `url` (any member) belongs to. */
  static connect(url: string, options?: ConnectOptions & { failoverTimeoutMs?: number }): Promise<Pool>
  /** Makes `master` a coordinator of a new pool `name` and joins each of `members`. */
  static create(name: string, master: HostAccess, members: HostAccess[], options?: WorkflowOptions & { description?: string; force?: boolean; allowCrossVendor?: boolean }): Promise<{ pool: Pool; outcome: Outcome & { joined: string[] } }>
  /** Makes `member` the coordinator of a pool whose coordinator is lost. */
  /** The coordinator is gone and HA is off: makes `member` the coordinator. `restartVms`
   * also declares the hosts that stay down dead and starts their VMs on the others. `pool`
   * is null in a dry run. */
  static recoverLostCoordinator(member: HostAccess, options?: WorkflowOptions & { restartVms?: boolean }): Promise<{ pool: Pool | null; outcome: Outcome & { recovered: string[]; declared_dead: string[]; restarted: [string, string][]; not_restarted: [string, string][] } }>
  /** The members as last learnt. */
  members(): Array<{ name: string; address: string; fingerprint: string | null }>
  /** The coordinator's address. */
  readonly coordinator: string
  /** Checks `candidate` against this pool. */
  validateJoin(candidate: HostAccess, options?: CallOptions): Promise<JoinReport>
  /** Joins `candidate` to this pool. `force: true` goes past the documentation's advice and
   * xapi's homogeneity check (`pool.join_force`); a CPU vendor mismatch also needs
   * `allowCrossVendor: true` (an unsupported pool). */
  join(candidate: HostAccess, options?: WorkflowOptions & { force?: boolean; allowCrossVendor?: boolean }): Promise<Outcome & { report: JoinReport; notes: string[]; forced_past: Check[]; warnings: Check[] }>
  /** Ejects `host` (name, uuid or ref), moving its VMs off first unless `evacuate: false`. */
  eject(host: string, options?: WorkflowOptions & { evacuate?: boolean }): Promise<Outcome & { evacuated: string[] }>
  /** Bonds `devices` with `mode` on every host, on network `network`. */
  createBond(devices: string[], mode: 'balance-slb' | 'active-backup' | 'lacp', network: string, options?: WorkflowOptions): Promise<Outcome>
  /** Bonds that differ from the coordinator's. */
  checkBonds(options?: CallOptions): Promise<Array<{ host: string; network: string; bond: string | null; members: string[]; expected: string[]; reason: string }>>
  /** Repairs what `checkBonds` reports. */
  repairBonds(options?: WorkflowOptions): Promise<Outcome>
  /** A shared NFS SR plugged on every host. */
  createNfsSr(name: string, server: string, serverpath: string, options?: WorkflowOptions & { nfsVersion?: string }): Promise<Outcome & { sr: string | null }>
  /** Live-migrates `vm` to `host`. */
  migrate(vm: string, host: string, options?: WorkflowOptions): Promise<Outcome & { moved: Array<[string, string]> }>
  /** Moves every VM off `host`. */
  evacuate(host: string, options?: WorkflowOptions): Promise<Outcome & { moved: Array<[string, string]> }>
  /** Enables HA (`heartbeatSr` defaults to the pool's default SR). */
  enableHa(options?: WorkflowOptions & { heartbeatSr?: string }): Promise<Outcome & { failures_to_tolerate: number }>
  /** Disables HA. */
  disableHa(options?: WorkflowOptions): Promise<Outcome>
}

/** Logs in to the host at `url` (a member redirects to its coordinator). */
export declare function connect(url: string, options?: ConnectOptions): Promise<Session>
/** `Pool.create`. */
export declare const createPool: typeof Pool.create
/** `Pool.recoverLostCoordinator`. */
export declare const recoverLostCoordinator: typeof Pool.recoverLostCoordinator

/** The codes of core's error contract that are not XenAPI failures. */
export type CoreErrorCode = 'TRANSPORT' | 'TIMEOUT' | 'PROTOCOL' | 'TLS' | 'INVALID_ARGUMENT' | 'WRONG_TYPE' | 'UNKNOWN_METHOD' | 'NOT_FOUND' | 'AMBIGUOUS_NAME' | 'SESSION_CLOSED' | 'CANCELLED' | 'REFUSED' | 'INDETERMINATE' | 'POOL_PARTIAL' | 'INTERNAL'
/** Every core code, at run time. */
export declare const ERROR_CODES: readonly CoreErrorCode[]

/** Every failure. Branch on `code`, never on the message. */
export declare class XenAPIError extends Error {
  /** The XenAPI code (`HOST_IS_SLAVE`) or a core code (`TIMEOUT`). */
  readonly code: XenAPIErrorCode | CoreErrorCode | (string & {})
  /** The parameters, in the fixed order of the code. */
  readonly params: string[]
  /** The XenAPI method or workflow the error belongs to; null when it arose apart from
   * any one call (a bad option, a closed session, a transport failure). */
  readonly method: string | null
  /** The host that answered, where it is not the session's own (a join candidate). */
  readonly host: string | null
  /** Whether the host may have received (and acted on) the request. */
  readonly mayHaveReachedHost: boolean
  /** `POOL_PARTIAL`: the members done. */
  readonly done?: string[]
  /** `POOL_PARTIAL`: the members that failed, each with its error. */
  readonly failed?: Array<{ member: string; error: XenAPIError }>
  /** `POOL_PARTIAL`: the members not attempted. */
  readonly notAttempted?: string[]
}

/** `WRONG_TYPE`: an argument does not fit its parameter. Also `instanceof XenAPIError`. */
export declare class WrongTypeError extends TypeError {
  readonly code: 'WRONG_TYPE'
  /** `[parameter, expected, got]`. */
  readonly params: string[]
  readonly method: string | null
  readonly host: null
  /** The parameter (or member path). */
  readonly parameter: string
  readonly mayHaveReachedHost: false
}

/** A simulated host. */
export interface SimulatedHost {
  name: string
  uuid: string
  address: string
  port: number
  url: string
  username: string
  password: string
  fingerprint: string | null
  alive: boolean
  masterAddress: string | null
}

/** An in-process multi-host XenAPI simulator. */
export declare class Simulator implements AsyncDisposable {
  /** Every host, as now. */
  readonly hosts: SimulatedHost[]
  /** One host by scenario name or uuid. */
  host(name: string): SimulatedHost & { fingerprint: string }
  /** Kills a host (with HA, a survivor takes over after the election delay). */
  kill(host: string): Promise<void>
  /** Restarts a killed host. */
  restart(host: string): Promise<void>
  /** Adds latency before each reply of a host. */
  setLatency(host: string, ms: number): Promise<void>
  /** Rebuilds the world from the scenario. */
  reset(): Promise<void>
  /** Sessions alive in the whole simulation. */
  sessionCount(): number
  /** Stops every host. */
  stop(): void
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts a simulator in this process: `lab` (default), `pool16`, `single`, or a TOML path. */
export declare function startSimulator(options?: { scenario?: string; vms?: number; plainHttp?: boolean; distinctPorts?: boolean; authFailureDelayMs?: number }): Promise<Simulator>

export type { Ref, Int, Records, XenAPI, XenAPIErrorCode }
