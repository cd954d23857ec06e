// Xen Orchestra's `xen-api` client (npm) against xenpool-sim, unchanged, on both of its
// transports. It is the most demanding peer we know of: it lists every class through
// `system.listMethods`, fetches each one's `get_all_records`, then keeps an object cache
// fed by `event.from`, and waits for tasks and barriers through that cache.
//
// Run with `node --test` in this directory; `XENPOOL_SIM` names the simulator binary
// (default: the workspace's debug build).

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { createClient } from 'xen-api'

const SIM =
  process.env.XENPOOL_SIM ??
  fileURLToPath(new URL('../../../target/debug/xenpool-sim', import.meta.url))

// Plain HTTP, and every host on 127.0.0.1 with its own port: loopback only.
async function startSimulator() {
  const child = spawn(
    SIM,
    ['--scenario', 'lab', '--json', '--http', '--distinct-ports', '--auth-delay-ms', '100'],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`xenpool-sim exited (${code}) before describing its hosts`)
  })
  const lines = createInterface({ input: child.stdout })
  const [line] = await Promise.race([once(lines, 'line'), exited])
  lines.close()
  const description = JSON.parse(line)
  const hosts = Object.fromEntries(description.hosts.map(h => [h.name, h]))
  return {
    hosts,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
    },
  }
}

function client(host, transport) {
  return createClient({
    url: host.url,
    auth: { user: host.username, password: host.password },
    transport,
    allowUnauthorized: true,
    // Short cache flushes keep the test quick; xen-api's default is 200 ms.
    debounce: 20,
  })
}

// Waits until `predicate(object)` holds for the cached object `ref`.
async function cached(xapi, ref, predicate, what) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const object = xapi.getObjectByRef(ref, undefined)
    if (object !== undefined && predicate(object)) return object
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(object)}`)
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

for (const transport of ['json-rpc', 'xml-rpc']) {
  describe(`xen-api over ${transport}`, () => {
    let sim
    let xapi
    before(async () => {
      sim = await startSimulator()
      xapi = client(sim.hosts.busy, transport)
      await xapi.connect()
      await xapi.objectsFetched
    })
    after(async () => {
      await xapi?.disconnect()
      await sim?.stop()
    })

    test('connects and builds its object cache', () => {
      assert.equal(xapi.status, 'connected')
      assert.equal(xapi.watchEventsError, undefined)
      const objects = Object.values(xapi.objects.all)
      const byType = type => objects.filter(o => o.$type === type)
      assert.equal(byType('host').length, 1)
      assert.equal(byType('host')[0].name_label, 'busy')
      assert.equal(xapi.pool.$master.name_label, 'busy')
      // The cache resolves references through `$field`.
      const vm = byType('VM').find(v => v.name_label === 'busy-web')
      assert.ok(vm, 'busy-web is cached')
      assert.equal(vm.$resident_on.name_label, 'busy')
      assert.ok(byType('PIF').length >= 4)
      assert.ok(byType('SR').some(sr => sr.name_label === 'Local storage'))
    })

    test('event.from counts references in numbers, as xapi does', async () => {
      // xen-api compares `valid_ref_counts.task` with `!==` to its own task count: a
      // string there (an untagged XML-RPC int) would refetch every task on each batch.
      const result = await xapi.call('event.from', ['task'], '', 0.1)
      assert.equal(typeof result.valid_ref_counts.task, 'number')
      assert.equal(typeof result.valid_ref_counts.vm, 'number')
      assert.ok(result.valid_ref_counts.vm >= 2, 'busy-web and dom0')
    })

    test('a VM power state change reaches the cache', async () => {
      const vm = Object.values(xapi.objects.all).find(
        o => o.$type === 'VM' && o.name_label === 'busy-web'
      )
      assert.equal(vm.power_state, 'Running')
      await xapi.callAsync('VM.clean_shutdown', vm.$ref)
      await cached(xapi, vm.$ref, v => v.power_state === 'Halted', 'Halted')
      await xapi.call('VM.start', vm.$ref, false, false)
      const running = await cached(xapi, vm.$ref, v => v.power_state === 'Running', 'Running')
      assert.equal(running.$resident_on.name_label, 'busy')
      // A barrier goes through pool.other_config and the event stream.
      const fresh = await xapi.barrier(vm.$ref)
      assert.equal(fresh.power_state, 'Running')
    })

    test('alerts: a created message is in get_all_records and in the cache', async () => {
      const host = xapi.pool.$master
      const ref = await xapi.call(
        'message.create',
        'XO_TEST_ALERT',
        3,
        'Host',
        host.uuid,
        `hello over ${transport}`
      )
      const records = await xapi.call('message.get_all_records')
      assert.equal(records[ref].name, 'XO_TEST_ALERT')
      // priority is an int64: a string over XML-RPC, a number over JSON-RPC.
      assert.equal(Number(records[ref].priority), 3)
      const message = await cached(xapi, ref, () => true, 'the message in the cache')
      assert.equal(message.$type, 'message')
      assert.equal(message.body, `hello over ${transport}`)
      assert.equal(message.obj_uuid, host.uuid)
      await xapi.call('message.destroy', ref)
      const deadline = Date.now() + 10_000
      while (xapi.getObjectByRef(ref, undefined) !== undefined) {
        assert.ok(Date.now() < deadline, 'the destroyed message leaves the cache')
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    })
  })
}
