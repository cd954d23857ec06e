import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { fresh, lab, session, rejectsWith, vmRecord } from './helpers.mjs'

let sim
before(async () => {
  sim = await lab()
})
after(() => sim.stop())
beforeEach(() => fresh(sim))

test('events: the first items announce existing objects, then changes arrive as they happen', async () => {
  const s = await session(sim)
  try {
    const controller = new AbortController()
    const seen = []
    const created = (async () => {
      await new Promise((r) => setTimeout(r, 200))
      return s.xenapi.VM.create(vmRecord('watched'))
    })()
    for await (const ev of s.events(['vm'], { signal: controller.signal, pollSeconds: 5 })) {
      seen.push(ev)
      if (ev.operation === 'add' && ev.snapshot?.name_label === 'watched') break
    }
    const ref = await created
    assert.ok(seen.some((e) => e.snapshot?.is_control_domain), 'existing dom0 announced first')
    const last = seen.at(-1)
    assert.equal(last.ref, ref)
    assert.equal(last.class, 'vm')
    assert.equal(last.snapshot.power_state, 'Halted')
    assert.equal(typeof last.snapshot.memory_static_max, 'number')
  } finally {
    await s.close()
  }
})

test('events: an AbortSignal ends a waiting iterator with CANCELLED', async () => {
  const s = await session(sim)
  try {
    const controller = new AbortController()
    const it = s.events(['pool'], { signal: controller.signal, pollSeconds: 30 })
    await it.next() // the pool object itself
    setTimeout(() => controller.abort(), 100)
    const started = Date.now()
    const e = await rejectsWith(it.next(), 'CANCELLED')
    assert.equal(e.name, 'AbortError')
    assert.ok(Date.now() - started < 5000)
  } finally {
    await s.close()
  }
})

test('cache: waitFor resolves when a record matches, times out with TIMEOUT otherwise', async () => {
  const s = await session(sim)
  try {
    const cache = await s.cache(['VM'])
    assert.ok([...cache.all('VM').values()].some((v) => v.is_control_domain))
    const vm = await s.xenapi.VM.create(vmRecord('db'))
    const running = cache.waitFor('VM', (r) => r.name_label === 'db' && r.power_state === 'Running', { timeoutMs: 10000 })
    await s.xenapi.VM.start(vm, false, false)
    const record = await running
    assert.equal(record.$ref, vm)
    assert.equal(cache.get('VM', vm).power_state, 'Running')
    await rejectsWith(cache.waitFor('VM', (r) => r.name_label === 'never', { timeoutMs: 200 }), 'TIMEOUT')
    const pending = rejectsWith(cache.waitFor('VM', () => false, { timeoutMs: 10000 }), 'SESSION_CLOSED')
    await cache.close()
    await pending
  } finally {
    await s.close()
  }
})

test('cache: waitFor a class resolves with a record already there, or one that comes later', async () => {
  const s = await session(sim)
  try {
    const cache = await s.cache(['vm'])
    assert.deepEqual(cache.classes, ['VM'])
    const dom0 = await cache.waitFor('VM', (r) => r.is_control_domain, { timeoutMs: 1000 })
    assert.ok(dom0.$ref.startsWith('OpaqueRef:'))
    assert.equal(cache.get(dom0.$ref).uuid, dom0.uuid)
    const waiting = cache.waitFor('vm', (r, ref) => r.name_label === 'later' && ref.startsWith('OpaqueRef:'), { timeoutMs: 10000 })
    const vm = await s.xenapi.VM.create(vmRecord('later'))
    assert.equal((await waiting).$ref, vm)
    const e = await rejectsWith(cache.waitFor('VM', () => false, { timeoutMs: 100 }), 'TIMEOUT')
    assert.equal(e.params[0], 'waiting for any VM')
    await rejectsWith(cache.waitFor('host', () => true), 'INVALID_ARGUMENT')
    await cache.close()
  } finally {
    await s.close()
  }
})

test('cache: waitFor a reference, an AbortSignal cancels it, a throwing predicate rejects', async () => {
  const s = await session(sim)
  try {
    const cache = await s.cache(['VM'])
    const vm = await s.xenapi.VM.create(vmRecord('one'))
    // The object may not be cached yet: the wait covers its arrival.
    const halted = await cache.waitFor(vm, (r) => r.power_state === 'Halted', { timeoutMs: 10000 })
    assert.equal(halted.name_label, 'one')
    assert.equal(halted.$ref, vm)
    const running = cache.waitFor(vm, (r) => r.power_state === 'Running', { timeoutMs: 10000 })
    await s.xenapi.VM.start(vm, false, false)
    assert.ok((await running).resident_on.startsWith('OpaqueRef:'))
    const e = await rejectsWith(cache.waitFor(vm, (r) => r.name_label === 'never', { timeoutMs: 100 }), 'TIMEOUT')
    assert.equal(e.params[0], `waiting for VM ${vm}`)
    const controller = new AbortController()
    const aborted = rejectsWith(cache.waitFor(vm, () => false, { signal: controller.signal }), 'CANCELLED')
    controller.abort()
    assert.equal((await aborted).name, 'AbortError')
    await assert.rejects(
      cache.waitFor(vm, () => {
        throw new RangeError('bad predicate')
      }),
      RangeError,
    )
    await cache.close()
    await rejectsWith(cache.waitFor(vm, () => false), 'SESSION_CLOSED')
  } finally {
    await s.close()
  }
})

test('closing a session ends its event streams', async () => {
  const baseline = sim.sessionCount()
  const s = await session(sim)
  const it = s.events(['vm'], { pollSeconds: 30 })
  await it.next()
  const pending = rejectsWith(
    (async () => {
      for (;;) await it.next()
    })(),
    'CANCELLED',
  )
  await new Promise((r) => setTimeout(r, 100))
  await s.close()
  await pending
  assert.equal(sim.sessionCount(), baseline)
})
