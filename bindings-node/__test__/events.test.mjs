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
