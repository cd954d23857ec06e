import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { createRequire } from 'node:module'
import { connect, startSimulator, XenAPIError, WrongTypeError, ERROR_CODES } from '../index.mjs'
import { fresh, lab, login, session, rejectsWith, vmRecord } from './helpers.mjs'

let sim
before(async () => {
  sim = await lab()
})
after(() => sim.stop())
beforeEach(() => fresh(sim))

test('CommonJS and ESM load the same module', () => {
  const cjs = createRequire(import.meta.url)('../index.js')
  assert.equal(cjs.connect, connect)
  assert.deepEqual([...ERROR_CODES].sort(), [...cjs.ERROR_CODES].sort())
  assert.ok(ERROR_CODES.includes('CANCELLED'))
})

for (const protocol of ['json', 'xml']) {
  test(`get_all_records over ${protocol}: typed records, int64 as numbers, enums as text, datetimes as Date`, async () => {
    const s = await session(sim, 'intel1', { protocol })
    try {
      const hosts = await s.xenapi.host.get_all_records()
      const [ref, host] = Object.entries(hosts)[0]
      assert.match(ref, /^OpaqueRef:/)
      assert.equal(host.name_label, 'intel1')
      assert.equal(typeof host.API_version_major, 'number')
      const vms = await s.xenapi.VM.get_all_records()
      const dom0 = Object.values(vms).find((v) => v.is_control_domain)
      assert.equal(dom0.power_state, 'Running')
      assert.equal(typeof dom0.memory_static_max, 'number')
      assert.ok(dom0.snapshot_time instanceof Date)
      const metrics = await s.xenapi.host_metrics.get_all_records()
      assert.ok(Object.values(metrics)[0].last_updated instanceof Date)
    } finally {
      await s.close()
    }
  })
}

test('int64 beyond 2^53 round-trips as BigInt; safe ones stay numbers', async () => {
  const s = await session(sim)
  try {
    const vm = await s.xenapi.VM.create(vmRecord('big'))
    await s.xenapi.VM.set_user_version(vm, 2n ** 60n + 1n)
    assert.equal(await s.xenapi.VM.get_user_version(vm), 2n ** 60n + 1n)
    await s.xenapi.VM.set_user_version(vm, 7n)
    assert.equal(await s.xenapi.VM.get_user_version(vm), 7)
    const e = await rejectsWith(s.xenapi.VM.set_user_version(vm, 2n ** 70n), 'INVALID_ARGUMENT')
    assert.ok(e instanceof XenAPIError)
  } finally {
    await s.close()
  }
})

test('a large result arrives in slices: the event loop turns between them, BigInts and Dates are patched in whichever slice holds them, and records are rebuilt whole', async () => {
  const big = await startSimulator({ scenario: 'pool16', vms: 1000 })
  const h = big.hosts.find((x) => x.masterAddress === null)
  const s = await connect(h.url, login(h))
  try {
    const all = await s.xenapi.VM.get_all()
    const last = all[all.length - 1]
    await s.xenapi.VM.set_user_version(last, 2n ** 60n + 1n)
    let turns = 0
    let spinning = true
    const spin = () => {
      turns++
      if (spinning) setImmediate(spin)
    }
    setImmediate(spin)
    const vms = await s.xenapi.VM.get_all_records()
    spinning = false
    const records = Object.values(vms)
    assert.ok(records.length > 1000)
    assert.ok(turns >= 5, `the event loop turned only ${turns} times while ~8 slices were parsed`)
    assert.ok(records.every((v) => v.snapshot_time instanceof Date && typeof v.memory_static_max === 'number'))
    assert.equal(vms[last].user_version, 2n ** 60n + 1n)
    // The table arrives as arrays of field values rebuilt from the class's layout: each
    // record is the same plain object get_record gives.
    for (const ref of [all[0], last]) assert.deepStrictEqual(vms[ref], await s.xenapi.VM.get_record(ref))
    assert.equal(Object.getPrototypeOf(vms[last]), Object.prototype)
    // A table streams as it is decoded, so its call's failure arrives through the stream:
    // still the typed error, from the awaited call.
    const e = await rejectsWith(s.xenapi.VM.get_all_records('extra'), 'INVALID_ARGUMENT')
    assert.match(e.message, /takes no arguments, not 1/)
  } finally {
    await s.close()
    big.stop()
  }
})

test('references by uuid or name, refs by class, Async calls return tasks', async () => {
  const s = await session(sim)
  try {
    const [host] = await s.xenapi.host.get_all()
    const uuid = await s.xenapi.host.get_uuid(host)
    assert.equal(await s.xenapi.host.get_name_label(uuid), 'intel1')
    assert.equal(await s.xenapi.host.get_name_label('intel1'), 'intel1')
    const vm = await s.xenapi.VM.create(vmRecord('web'))
    const task = await s.xenapi.Async.VM.start(vm, false, false)
    assert.match(task, /^OpaqueRef:/)
  } finally {
    await s.close()
  }
})

test('errors: every code the dynamic layer raises, branched on code', async () => {
  const s = await session(sim)
  try {
    const vm = await s.xenapi.VM.create(vmRecord('dup'))
    await s.xenapi.VM.create(vmRecord('dup'))
    const wrong = await rejectsWith(s.xenapi.VM.set_memory_static_max(vm, 'lots'), 'WRONG_TYPE')
    assert.ok(wrong instanceof TypeError)
    assert.ok(wrong instanceof WrongTypeError)
    assert.ok(wrong instanceof XenAPIError)
    assert.equal(wrong.parameter, 'value')
    assert.equal(wrong.params[0], 'value')
    await rejectsWith(s.xenapi.VM.set_VCPUs_max(vm, 1.5), 'WRONG_TYPE')
    const unknown = await rejectsWith(s.xenapi.VM.strat(vm), 'UNKNOWN_METHOD')
    assert.ok(unknown.params.includes('VM.start'))
    await rejectsWith(s.xenapi.VM.start(vm), 'INVALID_ARGUMENT')
    await rejectsWith(s.xenapi.VM.set_actions_after_crash(vm, 'explode'), 'INVALID_ARGUMENT')
    const missing = await rejectsWith(s.xenapi.VM.get_record('no-such-vm'), 'NOT_FOUND')
    assert.deepEqual(missing.params, ['VM', 'no-such-vm'])
    const ambiguous = await rejectsWith(s.xenapi.VM.get_record('dup'), 'AMBIGUOUS_NAME')
    assert.equal(ambiguous.params[2], '2')
    const api = await rejectsWith(s.xenapi.VM.get_record('OpaqueRef:gone'), 'HANDLE_INVALID')
    assert.equal(api.method, 'VM.get_record')
    assert.deepEqual(api.params, ['VM', 'OpaqueRef:gone'])
    assert.equal(api.mayHaveReachedHost, true)
  } finally {
    await s.close()
  }
  await rejectsWith(s.xenapi.VM.get_all(), 'SESSION_CLOSED')
})

test('connection errors: TLS, TRANSPORT, TIMEOUT, wrong password; no password anywhere', async () => {
  const h = sim.host('intel1')
  const other = sim.host('intel2')
  await rejectsWith(connect(h.url, login(h, { fingerprint: other.fingerprint })), 'TLS')
  await rejectsWith(connect(h.url, { password: h.password }), 'TLS')
  await rejectsWith(connect('https://127.0.0.1:1', login(h)), 'TRANSPORT')
  const secret = 'hunter2-secret'
  const denied = await rejectsWith(connect(h.url, login(h, { password: secret })), 'SESSION_AUTHENTICATION_FAILED')
  assert.ok(!inspect(denied).includes(secret))
  assert.ok(!JSON.stringify(denied).includes(secret))
  const s = await connect(h.url, login(h, { timeoutMs: 200 }))
  try {
    assert.ok(!inspect(s).includes(h.password))
    await sim.setLatency('intel1', 600)
    const slow = await rejectsWith(s.xenapi.host.get_all(), 'TIMEOUT')
    assert.equal(slow.params[0], 'host.get_all')
  } finally {
    await sim.setLatency('intel1', 0)
    await s.close()
  }
})

test('trust on first use pins the fingerprint; insecure skips the check', async () => {
  const h = sim.host('intel1')
  const tofu = await connect(h.url, { user: 'root', password: h.password, trustOnFirstUse: true })
  assert.equal(tofu.fingerprint, h.fingerprint)
  await tofu.close()
  const insecure = await connect(h.url, { user: 'root', password: h.password, insecure: true })
  assert.equal((await insecure.xenapi.host.get_all()).length, 1)
  await insecure[Symbol.asyncDispose]()
})

test('AbortSignal cancels a call; an aborted signal cancels before sending', async () => {
  const s = await session(sim)
  try {
    await sim.setLatency('intel1', 2000)
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(new Error('user gave up')), 100)
    const e = await rejectsWith(s.xenapi.host.get_all(controller.signal), 'CANCELLED')
    assert.ok(Date.now() - started < 1500)
    assert.equal(e.name, 'AbortError')
    assert.equal(e.cause.message, 'user gave up')
    const pre = await rejectsWith(s.call('host.get_all', [], { signal: AbortSignal.abort() }), 'CANCELLED')
    assert.equal(pre.mayHaveReachedHost, false)
    await sim.setLatency('intel1', 0)
    assert.equal((await s.xenapi.host.get_all()).length, 1, 'the session survives a cancelled call')
  } finally {
    await sim.setLatency('intel1', 0)
    await s.close()
  }
})

test('no leaked sessions: close, asyncDispose and a member redirect all log out', async () => {
  const baseline = sim.sessionCount()
  const a = await session(sim)
  const b = await session(sim, 'intel2')
  assert.equal(sim.sessionCount(), baseline + 2)
  await a.close()
  await a.close()
  await b[Symbol.asyncDispose]()
  assert.equal(sim.sessionCount(), baseline)
})

test('callUntyped sends values as they are', async () => {
  const s = await session(sim)
  try {
    const hosts = await s.callUntyped('host.get_all', [])
    assert.equal(hosts.length, 1)
  } finally {
    await s.close()
  }
})
