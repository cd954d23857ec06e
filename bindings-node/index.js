'use strict'
// xenpool for Node.js: the idiomatic layer over the native module (native.js, built by
// napi-rs). Values cross as JSON text; int64 beyond 2^53, datetimes and non-finite
// numbers are tagged on the way in and patched in ("fixups") on the way out. Large
// results arrive in slices, written off the event loop and parsed between its turns.

const { inspect } = require('node:util')
const native = require('./native.js')

const MARKER = '\u0001xenpool:'
const TAG = '\u0000xp'
const dispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')
const kXen = Symbol('xenpool.error')

// ---- errors -----------------------------------------------------------------------------

/** Every failure: a XenAPI error code (`HOST_IS_SLAVE`) or one of core's codes (`TIMEOUT`). */
/** Copies a native error description onto an error object. */
function fill(error, description) {
  error.code = description.code
  error.params = description.params ?? []
  error.method = description.method ?? null
  error.host = description.host ?? null
  error.mayHaveReachedHost = description.may_have_reached_host ?? false
  if (description.partial != null) {
    error.done = description.partial.done
    error.failed = description.partial.failed.map((m) => ({ member: m.member, error: new XenAPIError(m.error) }))
    error.notAttempted = description.partial.not_attempted
  }
  Object.defineProperty(error, kXen, { value: true })
}

class XenAPIError extends Error {
  constructor(description, options) {
    super(description.message, options)
    this.name = 'XenAPIError'
    fill(this, description)
  }

  /** True for every xenpool error, `WrongTypeError` included. */
  static [Symbol.hasInstance](value) {
    if (this === XenAPIError) return value != null && value[kXen] === true
    return Function.prototype[Symbol.hasInstance].call(this, value)
  }
}

/** `WRONG_TYPE`: an argument's type does not fit its parameter (`params[0]` names it). */
class WrongTypeError extends TypeError {
  constructor(description, options) {
    super(description.message, options)
    this.name = 'TypeError'
    fill(this, description)
    this.parameter = this.params[0]
  }
}

function describe(code, message, params = [], method = null) {
  return { code, message, params, method, host: null, may_have_reached_host: false }
}

/** A native error as a XenAPIError (others pass through). */
function convertError(e, signal) {
  if (!(e instanceof Error) || typeof e.message !== 'string' || !e.message.startsWith(MARKER)) return e
  let d
  try {
    d = JSON.parse(e.message.slice(MARKER.length))
  } catch {
    return e
  }
  if (d.code === 'WRONG_TYPE') return new WrongTypeError(d)
  const err = new XenAPIError(d, signal?.aborted ? { cause: signal.reason } : undefined)
  if (d.code === 'CANCELLED' && signal?.aborted) err.name = 'AbortError'
  return err
}

async function native_(fn, signal) {
  let id
  let onAbort
  if (signal != null) {
    if (!(signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal')
    id = native.newCancel()
    onAbort = () => native.cancel(id)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  }
  try {
    return await fn(id)
  } catch (e) {
    throw convertError(e, signal)
  } finally {
    if (onAbort) {
      signal.removeEventListener('abort', onAbort)
      native.releaseCancel(id)
    }
  }
}

// ---- values -----------------------------------------------------------------------------

function tag(v) {
  switch (typeof v) {
    case 'bigint':
      return { [TAG]: 'int', v: v.toString() }
    case 'number':
      return Number.isFinite(v) ? v : { [TAG]: 'float', v: String(v) }
    case 'undefined':
      return null
    case 'object':
      if (v === null) return null
      if (v instanceof Date) return { [TAG]: 'date', v: v.toISOString() }
      if (Array.isArray(v)) return v.map(tag)
      if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), tag(x)]))
      if (v instanceof Set) return [...v].map(tag)
      {
        const out = {}
        for (const k of Object.keys(v)) out[k] = tag(v[k])
        return out
      }
    case 'function':
    case 'symbol':
      throw new WrongTypeError(describe('WRONG_TYPE', `a ${typeof v} cannot be sent to a host`, ['argument', 'a XenAPI value', typeof v]))
    default:
      return v
  }
}

/** Arguments as the JSON text the native side reads. */
function encodeArgs(args) {
  return JSON.stringify(args.map(tag))
}

function applyFixups(root, fixups) {
  const holder = { root }
  for (const [path, kind, text] of fixups) {
    let target = holder
    let key = 'root'
    for (const seg of path) {
      target = target[key]
      key = seg
    }
    target[key] = kind === 'b' ? BigInt(text) : kind === 'd' ? new Date(text) : Number(text)
  }
  return holder.root
}

/** One slice's JS values: its JSON parsed, then the values JSON cannot carry patched in. */
function parseSlice([text, fixups]) {
  const value = JSON.parse(text)
  return fixups === '[]' ? value : applyFixups(value, JSON.parse(fixups))
}

const recordFactories = new Map()

/** A datetime field's text as a `Date` (a text that is not a date stays as it came). */
function toDate(text) {
  if (text === null) return null
  const date = new Date(text)
  return Number.isNaN(date.getTime()) ? text : date
}

/**
 * A function that turns a record's field values, in layout order, into a plain object.
 * One is compiled per layout, so every record of a table gets its fields in one object
 * literal (one shape, no names parsed per record). A datetime field (`name@`) arrives as
 * text and is made a `Date` here; an optional field (`name?`) is set only when it has a
 * value.
 */
function recordFactory(layout) {
  const id = layout.join(',')
  let make = recordFactories.get(id)
  if (make === undefined) {
    const always = []
    const optional = []
    layout.forEach((entry, i) => {
      const isOptional = entry.endsWith('?')
      let name = isOptional ? entry.slice(0, -1) : entry
      const isDate = name.endsWith('@')
      if (isDate) name = name.slice(0, -1)
      const value = isDate ? `toDate(a[${i}])` : `a[${i}]`
      if (isOptional) optional.push(`if (a[${i}] !== null) o[${JSON.stringify(name)}] = ${value}`)
      else always.push(`${JSON.stringify(name)}: ${value}`)
    })
    const body = `return function (a) {\nconst o = {${always.join(',')}}\n${optional.join('\n')}\nreturn o\n}`
    make = new Function('toDate', body)(toDate)
    recordFactories.set(id, make)
  }
  return make
}

/**
 * How long one turn of the event loop may spend parsing slices before it lets others in.
 * Short, because the records a table builds all survive: V8's young-generation collection
 * (10-25 ms for a 10,000-VM table on two cores) lands inside some turn, and the stall is
 * that pause plus the turn. The main thread's part of a large call is small (the native
 * side decodes), so yielding often costs nothing end to end.
 */
const TURN_MS = 2

/**
 * A native result as JS values. A large one arrives in slices written off the event loop
 * (a table of records as its reply is decoded) while earlier ones are parsed here. Slices
 * already written are taken at once; after TURN_MS of parsing, or to wait for a slice, the
 * event loop is let in. A failed call rejects here, from the slice that brings its error.
 */
async function decode(result) {
  const kind = result.kind
  if (kind === 'value') return parseSlice(result.value())
  const out = kind === 'map' ? {} : []
  const layout = result.layout
  const make = layout ? recordFactory(layout) : (v) => v
  let turn = performance.now()
  for (;;) {
    let slice = result.tryNext()
    if (slice === null) {
      slice = await result.next()
      turn = performance.now()
    } else if (performance.now() - turn > TURN_MS) {
      await new Promise(setImmediate)
      turn = performance.now()
    }
    if (slice.length === 0) return out
    const part = parseSlice(slice)
    if (kind === 'map') for (const [k, v] of part) out[k] = make(v)
    else for (const v of part) out.push(make(v))
  }
}

// ---- sessions ---------------------------------------------------------------------------

function connectOptions(options = {}) {
  const { user, username, password, passwordFile, fingerprint, trustOnFirstUse, insecure, timeoutMs, connectTimeoutMs, protocol, failoverTimeoutMs } = options
  return JSON.stringify({
    user: user ?? username,
    password,
    passwordFile,
    fingerprint: fingerprint ?? undefined,
    trustOnFirstUse: trustOnFirstUse ?? false,
    insecure: insecure ?? false,
    timeoutMs,
    connectTimeoutMs,
    protocol,
    failoverTimeoutMs,
  })
}

/** A host to reach: `{ url, user, password, fingerprint, … }` or a simulator host. */
function accessJson(host) {
  if (typeof host === 'string') throw new WrongTypeError(describe('WRONG_TYPE', 'a host must be { url, user, password, … }', ['host', 'object', 'string']))
  return JSON.stringify({ url: host.url, ...JSON.parse(connectOptions(host)) })
}

function xenapiProxy(session, prefix = '') {
  return new Proxy(Object.create(null), {
    get(_, name) {
      if (typeof name !== 'string' || name === 'then') return undefined
      if (prefix === '' && name === 'Async') return xenapiProxy(session, 'Async.')
      return new Proxy(Object.create(null), {
        get(_, message) {
          if (typeof message !== 'string' || message === 'then') return undefined
          const method = `${prefix}${name}.${message}`
          return (...args) => {
            const last = args[args.length - 1]
            const signal = last instanceof AbortSignal ? args.pop() : undefined
            return session.call(method, args, { signal })
          }
        },
      })
    },
  })
}

/** A logged-in session; `xenapi.<Class>.<message>(…args, signal?)` calls any message. */
class Session {
  #native
  #xenapi

  constructor(handle) {
    this.#native = handle
    this.#xenapi = xenapiProxy(this)
  }

  /** Every class's messages: `session.xenapi.VM.get_all_records()`. */
  get xenapi() {
    return this.#xenapi
  }

  /** The URL of the coordinator serving this session. */
  get url() {
    return this.#native.url
  }

  /** The user logged in as. */
  get user() {
    return this.#native.user
  }

  /** The session reference (`OpaqueRef:…`). */
  get sessionRef() {
    return this.#native.sessionRef
  }

  /** The pinned certificate fingerprint (given, or learnt on first use). */
  get fingerprint() {
    return this.#native.fingerprint ?? undefined
  }

  /** Calls `method` with `args` (checked by the datamodel). */
  call(method, args = [], { signal } = {}) {
    return native_(async (id) => decode(await this.#native.call(method, encodeArgs(args), id)), signal)
  }

  /** Calls a method this datamodel may not know; arguments are sent as they are. */
  callUntyped(method, args = [], { signal } = {}) {
    return native_(async (id) => decode(await this.#native.callUntyped(method, encodeArgs(args), id)), signal)
  }

  /** Logs out. Calls and event streams still running end with `CANCELLED`. */
  close() {
    return native_(() => this.#native.close())
  }

  [dispose]() {
    return this.close()
  }

  /**
   * The events of `classes` (`["vm"]`, `["*"]`) as an async iterator; a `resync` item
   * means the host lost the token: state built from earlier events is stale.
   */
  async *events(classes, { signal, token, pollSeconds } = {}) {
    const stream = this.#native.events(classes, token, pollSeconds)
    const stop = () => stream.close()
    signal?.addEventListener('abort', stop, { once: true })
    try {
      for (;;) {
        const batch = await native_(async (id) => decode(await stream.poll(id)), signal)
        if (batch === null) yield { operation: 'resync', class: '*', ref: '', id: '' }
        else yield* batch
      }
    } finally {
      signal?.removeEventListener('abort', stop)
      stream.close()
    }
  }

  /** An object cache of `classes` (core's), fed by `event.from`. */
  async cache(classes, { signal } = {}) {
    return new ObjectCache(await native_((id) => this.#native.cache(classes, id), signal))
  }

  /** @internal */
  get _native() {
    return this.#native
  }

  [inspect.custom]() {
    return `Session { url: ${inspect(this.url)}, user: ${inspect(this.user)} }`
  }
}

/** Logs in to the host at `url` (a member redirects to its coordinator). */
async function connect(url, options = {}) {
  return new Session(await native_(() => native.connect(url, connectOptions(options))))
}

// ---- the object cache -------------------------------------------------------------------

/** Runs a synchronous native call, its error as a XenAPIError. */
function now(fn) {
  try {
    return fn()
  } catch (e) {
    throw convertError(e)
  }
}

/** `record` with its reference as a non-enumerable `$ref`. */
function withRef(record, ref) {
  Object.defineProperty(record, '$ref', { value: ref, enumerable: false })
  return record
}

/**
 * Records of some classes kept up to date from `event.from`: core's cache. A wait hands
 * over the records that changed (all of them first) and the predicate runs here; core
 * keeps the deadline (`TIMEOUT`) and reports the cache stopping (`SESSION_CLOSED`).
 */
class ObjectCache {
  #native

  constructor(handle) {
    this.#native = handle
    /** The classes followed, as the datamodel spells them. */
    this.classes = handle.classes
  }

  /** The cached record of `ref` (`get(ref)`, or `get(cls, ref)` to require its class). */
  get(clsOrRef, ref) {
    const [cls, r] = ref === undefined ? [undefined, clsOrRef] : [clsOrRef, ref]
    const found = this.#native.get(r, cls)
    return found === null ? undefined : withRef(parseSlice(found), r)
  }

  /** Every cached record of `cls`, by reference. */
  all(cls) {
    const records = parseSlice(now(() => this.#native.all(cls)))
    return new Map(Object.entries(records).map(([ref, record]) => [ref, withRef(record, ref)]))
  }

  /**
   * The record of `target` (a reference) once `predicate(record, ref)` holds, or the first
   * record of `target` (a class) for which it holds.
   */
  async waitFor(target, predicate, { timeoutMs = 30000, signal } = {}) {
    const wait = now(() => this.#native.wait(target, timeoutMs))
    for (;;) {
      const changed = await native_(async (id) => decode(await wait.next(id)), signal)
      for (const [ref, record] of Object.entries(changed)) {
        if (predicate(withRef(record, ref), ref)) return record
      }
    }
  }

  /** Stops following events; pending `waitFor` calls reject with `SESSION_CLOSED`. */
  async close() {
    this.#native.close()
  }

  [dispose]() {
    return this.close()
  }
}

// ---- pools ------------------------------------------------------------------------------

function workflow(options = {}) {
  const { onProgress, signal, ...rest } = options
  const progress = typeof onProgress === 'function' ? (json) => onProgress(JSON.parse(json)) : undefined
  return { json: JSON.stringify(rest), progress, signal }
}

/** A failover-aware session on a whole pool, with the pool workflows. */
class Pool extends Session {
  /** Connects to the pool that `url` (any member) belongs to. */
  static async connect(url, options = {}) {
    return new Pool(await native_(() => native.connectPool(url, connectOptions(options))))
  }

  /** Makes `master` a coordinator of a new pool `name` and joins each of `members`. */
  static async create(name, master, members, options = {}) {
    const w = workflow(options)
    const created = await native_(() => native.createPool(name, accessJson(master), `[${members.map(accessJson).join(',')}]`, w.json, w.progress), w.signal)
    return { pool: new Pool(created.takeSession()), outcome: JSON.parse(created.outcome) }
  }

  /** Makes `member` the coordinator of a pool whose coordinator is lost. */
  static async recoverLostCoordinator(member, options = {}) {
    const w = workflow(options)
    const created = await native_(() => native.recoverLostCoordinator(accessJson(member), w.json, w.progress), w.signal)
    const session = created.takeSession()
    // A dry run contacts nothing and has no pool to hand back.
    return { pool: session ? new Pool(session) : null, outcome: JSON.parse(created.outcome) }
  }

  /** The members as last learnt: `{ name, address, fingerprint }`. */
  members() {
    return JSON.parse(this._native.members())
  }

  /** The coordinator's address. */
  get coordinator() {
    return this._native.coordinator()
  }

  #run(method, args, options) {
    const w = workflow(options)
    return native_(async (id) => JSON.parse(await this._native[method](...args, w.json, w.progress, id)), w.signal)
  }

  /** Checks `candidate` against this pool; every problem, not just the first. */
  validateJoin(candidate, { signal } = {}) {
    return native_(async (id) => JSON.parse(await this._native.validateJoin(accessJson(candidate), id)), signal)
  }

  /** Joins `candidate` to this pool (`force: true` for `pool.join_force`). */
  join(candidate, options) {
    return this.#run('join', [accessJson(candidate)], options)
  }

  /** Ejects `host` (name, uuid or ref), moving its VMs off first unless `evacuate: false`. */
  eject(host, options) {
    return this.#run('eject', [host], options)
  }

  /** Bonds `devices` with `mode` on every host, on network `network`. */
  createBond(devices, mode, network, options) {
    return this.#run('createBond', [devices, mode, network], options)
  }

  /** Bonds that differ from the coordinator's. */
  checkBonds({ signal } = {}) {
    return native_(async (id) => JSON.parse(await this._native.checkBonds(id)), signal)
  }

  /** Repairs what `checkBonds` reports. */
  repairBonds(options) {
    return this.#run('repairBonds', [], options)
  }

  /** A shared NFS SR plugged on every host. */
  createNfsSr(name, server, serverpath, options) {
    return this.#run('createNfsSr', [name, server, serverpath], options)
  }

  /** Live-migrates `vm` to `host`. */
  migrate(vm, host, options) {
    return this.#run('migrate', [vm, host], options)
  }

  /** Moves every VM off `host`. */
  evacuate(host, options) {
    return this.#run('evacuate', [host], options)
  }

  /** Enables HA (`heartbeatSr` defaults to the pool's default SR). */
  enableHa(options) {
    return this.#run('enableHa', [], options)
  }

  /** Disables HA. */
  disableHa(options) {
    return this.#run('disableHa', [], options)
  }

  [inspect.custom]() {
    return `Pool { url: ${inspect(this.url)}, user: ${inspect(this.user)} }`
  }
}

// ---- the simulator ----------------------------------------------------------------------

/** An in-process multi-host XenAPI simulator, for tests. */
class Simulator {
  #native

  constructor(handle) {
    this.#native = handle
  }

  /** Every host: `{ name, url, username, password, fingerprint, alive, … }`. */
  get hosts() {
    return JSON.parse(this.#native.hosts())
  }

  /** One host by scenario name. */
  host(name) {
    const h = this.hosts.find((x) => x.name === name || x.uuid === name)
    if (!h) throw new XenAPIError(describe('NOT_FOUND', `no simulated host named ${name}`, ['host', name]))
    return h
  }

  kill(host) {
    return native_(() => this.#native.kill(host))
  }

  restart(host) {
    return native_(() => this.#native.restart(host))
  }

  setLatency(host, ms) {
    return native_(() => this.#native.setLatency(host, ms))
  }

  reset() {
    return native_(() => this.#native.reset())
  }

  /** Sessions alive in the whole simulation. */
  sessionCount() {
    return this.#native.sessionCount()
  }

  stop() {
    this.#native.stop()
  }

  [dispose]() {
    this.stop()
    return Promise.resolve()
  }

  [inspect.custom]() {
    return `Simulator { hosts: ${inspect(this.hosts.map((h) => h.name))} }`
  }
}

/** Starts a simulator: `{ scenario: "lab" | "pool16" | "single" | path, vms, plainHttp }`. */
async function startSimulator(options = {}) {
  return new Simulator(await native_(() => native.startSimulator(JSON.stringify(options))))
}

/** The codes of core's error contract that are not XenAPI failures. */
const ERROR_CODES = Object.freeze(native.errorCodes())

module.exports = {
  connect,
  Pool,
  Session,
  ObjectCache,
  Simulator,
  startSimulator,
  XenAPIError,
  WrongTypeError,
  ERROR_CODES,
  createPool: Pool.create,
  recoverLostCoordinator: Pool.recoverLostCoordinator,
}
