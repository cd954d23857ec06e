import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { Pool, createPool } from '../index.mjs'
import { fresh, lab, login, pool, rejectsWith, vmRecord } from './helpers.mjs'

let sim
before(async () => {
  sim = await lab()
})
after(() => sim.stop())
beforeEach(() => fresh(sim))

const access = (name) => {
  const h = sim.host(name)
  return { url: h.url, ...login(h) }
}

async function production(members = ['intel2', 'intel3']) {
  const { pool: p, outcome } = await createPool('production', access('intel1'), members.map(access))
  assert.equal(outcome.complete, true)
  return p
}

test('validateJoin reports every problem; join refuses, force joins what force may', async () => {
  const p = await pool(sim)
  try {
    const ok = await p.validateJoin(access('intel2'))
    assert.equal(ok.ready, true)
    const amd = await p.validateJoin(access('amd1'))
    assert.equal(amd.ready, false)
    assert.equal(amd.predicted_failure.code, 'HOSTS_NOT_HOMOGENEOUS')
    const busy = await p.validateJoin(access('busy'))
    assert.equal(busy.predicted_failure.code, 'JOINING_HOST_CANNOT_HAVE_RUNNING_VMS')
    await rejectsWith(p.join(access('busy')), 'REFUSED')
    // Force alone does not pool two CPU vendors; the override is named, and only with force.
    await rejectsWith(p.join(access('amd1'), { force: true }), 'REFUSED')
    await rejectsWith(p.join(access('amd1'), { allowCrossVendor: true }), 'INVALID_ARGUMENT')
    const dry = await p.join(access('amd1'), { force: true, allowCrossVendor: true, dryRun: true })
    assert.deepEqual(dry.forced_past.map((c) => c.id), ['cpu_vendor'])
    assert.equal(dry.forced_past[0].waiver, 'cross_vendor_override')
    assert.equal(dry.executed, false)
    assert.ok(dry.plan.calls.some((c) => c.method === 'pool.join_force'))
    const steps = []
    const joined = await p.join(access('amd1'), { force: true, allowCrossVendor: true, onProgress: (e) => steps.push(e) })
    assert.equal(joined.executed, true)
    assert.ok(steps.length > 0 && steps.every((e) => e.step <= e.total))
    assert.equal((await p.xenapi.host.get_all()).length, 2)
  } finally {
    await p.close()
  }
})

test('createPool: a dry run changes nothing; the real one joins every member', async () => {
  const steps = []
  const dry = await createPool('production', access('intel1'), [access('intel2'), access('intel3')], { dryRun: true, onProgress: (e) => steps.push(e) })
  assert.equal(dry.outcome.executed, false)
  assert.ok(dry.outcome.plan.calls.length > 0)
  assert.equal((await dry.pool.xenapi.host.get_all()).length, 1)
  await dry.pool.close()
  const p = await production()
  try {
    assert.equal((await p.xenapi.host.get_all()).length, 3)
    assert.equal(p.members().length, 3)
    const [poolRef] = await p.xenapi.pool.get_all()
    assert.equal(await p.xenapi.pool.get_name_label(poolRef), 'production')
  } finally {
    await p.close()
  }
})

test('eject: the coordinator is refused; a member leaves', async () => {
  const p = await production()
  try {
    const refused = await rejectsWith(p.eject('intel1'), 'REFUSED')
    assert.deepEqual(refused.params, ['not_coordinator'])
    assert.equal(refused.method, 'eject intel1')
    const dry = await p.eject('intel3', { dryRun: true })
    assert.equal(dry.executed, false)
    const done = await p.eject('intel3')
    assert.equal(done.executed, true)
    assert.equal((await p.xenapi.host.get_all()).length, 2)
  } finally {
    await p.close()
  }
})

test('bonds: create on every host, find the wrongly copied one, repair it', async () => {
  const p = await production(['intel2'])
  try {
    const bond = await p.createBond(['eth2', 'eth3'], 'lacp', 'Storage')
    assert.equal(bond.executed, true)
    assert.deepEqual(await p.checkBonds(), [])
    await p.join(access('intel-old'), { force: true })
    const problems = await p.checkBonds()
    assert.equal(problems.length, 1)
    assert.equal(problems[0].host, 'intel-old')
    const dry = await p.repairBonds({ dryRun: true })
    assert.equal(dry.executed, false)
    assert.equal((await p.checkBonds()).length, 1)
    await p.repairBonds()
    assert.deepEqual(await p.checkBonds(), [])
    await rejectsWith(p.createBond(['eth2'], 'sideways', 'X'), 'INVALID_ARGUMENT')
  } finally {
    await p.close()
  }
})

test('shared NFS SR, migrate and evacuate', async () => {
  const p = await production()
  try {
    const sr = await p.createNfsSr('shared', 'nfs.example', '/exports/vms')
    assert.equal(sr.executed, true)
    const vm = await p.xenapi.VM.create(vmRecord('web'))
    await p.xenapi.VM.start_on(vm, 'intel2', false, false)
    const dry = await p.migrate('web', 'intel3', { dryRun: true })
    assert.equal(dry.executed, false)
    const moved = await p.migrate('web', 'intel3')
    assert.deepEqual(moved.moved, [['web', 'intel3']])
    const intel3 = await p.xenapi.host.get_by_name_label('intel3')
    assert.equal(await p.xenapi.VM.get_resident_on(vm), intel3[0])
    const out = await p.evacuate('intel3')
    assert.equal(out.moved.length, 1)
    assert.notEqual(await p.xenapi.VM.get_resident_on(vm), intel3[0])
  } finally {
    await p.close()
  }
})

test('HA: the coordinator dies, the pool connection follows the new one, the VM restarts', async () => {
  const p = await production()
  try {
    await p.createNfsSr('shared', 'nfs.example', '/exports/vms')
    const vm = await p.xenapi.VM.create(vmRecord('db'))
    await p.xenapi.VM.start_on(vm, 'intel1', false, false)
    await p.xenapi.VM.set_ha_restart_priority(vm, 'restart')
    const ha = await p.enableHa()
    assert.equal(ha.executed, true)
    assert.ok(ha.failures_to_tolerate >= 1)
    const dead = (await p.xenapi.host.get_by_name_label('intel1'))[0]
    await sim.kill('intel1')
    const cache = await p.cache(['VM'])
    const back = await cache.waitFor('VM', (r) => r.name_label === 'db' && r.power_state === 'Running' && r.resident_on !== dead, { timeoutMs: 20000 })
    assert.equal(back.$ref, vm)
    assert.notEqual(p.coordinator, sim.host('intel1').address)
    await cache.close()
    const off = await p.disableHa({ dryRun: true })
    assert.deepEqual([off.executed, off.complete], [false, false])
    assert.ok(off.plan.calls.length > 0)
  } finally {
    await p.close()
  }
})

test('recovering a lost coordinator without HA', async () => {
  const p = await production(['intel2'])
  await sim.kill('intel1')
  await p.close().catch(() => {})
  const dry = await Pool.recoverLostCoordinator(access('intel2'), { restartVms: true, dryRun: true })
  assert.equal(dry.pool, null)
  assert.ok(dry.outcome.plan.calls.some((c) => c.method === 'host.declare_dead'))
  const { pool: recovered, outcome } = await Pool.recoverLostCoordinator(access('intel2'), { restartVms: true })
  try {
    assert.ok(outcome.plan.calls.length > 0)
    assert.deepEqual(outcome.declared_dead, ['intel1'])
    assert.ok(recovered.url.includes(sim.host('intel2').address))
    assert.ok((await recovered.xenapi.host.get_all()).length >= 1)
  } finally {
    await recovered.close()
  }
})

test('pool workflows need a pool connection', async () => {
  const { connect } = await import('../index.mjs')
  const h = sim.host('intel1')
  const s = await connect(h.url, login(h))
  try {
    assert.equal(typeof s.eject, 'undefined')
    const p = await Pool.connect(h.url, login(h))
    await p.close()
    await rejectsWith(p.checkBonds(), 'SESSION_CLOSED')
  } finally {
    await s.close()
  }
})
