// XenMotion: live-migrate a running VM on shared storage, then evacuate a host.
import assert from 'node:assert/strict'
import { createPool } from 'xenpool'
import { sim, access, vm } from './lab.mjs'

const { pool } = await createPool('production', access('intel1'), [access('intel2'), access('intel3')])
await pool.createNfsSr('shared', 'nfs.example', '/exports/vms')
const web = await pool.xenapi.VM.create(vm('web'))
await pool.xenapi.VM.start_on(web, 'intel2', false, false)
console.log(`moved: ${(await pool.migrate('web', 'intel3')).moved.map(([v, h]) => `${v} -> ${h}`)}`)
const cache = await pool.cache(['VM'])
const [intel3] = await pool.xenapi.host.get_by_name_label('intel3')
const record = await cache.waitFor('VM', (r) => r.name_label === 'web' && r.resident_on === intel3, { timeoutMs: 10000 })
console.log(`web runs on intel3 (${record.power_state})`)
await cache.close()
const out = await pool.evacuate('intel3')
assert.equal(out.moved.length, 1)
console.log(`evacuated intel3: ${out.moved.map(([v, h]) => `${v} -> ${h}`)}`)
await pool.close()
sim.stop()
