// HA: the coordinator dies, a survivor takes over, the pool connection follows it, and the
// protected VM restarts elsewhere.
import { createPool } from 'xenpool'
import { sim, access, vm } from './lab.mjs'

const { pool } = await createPool('production', access('intel1'), [access('intel2'), access('intel3')])
await pool.createNfsSr('shared', 'nfs.example', '/exports/vms')
const db = await pool.xenapi.VM.create(vm('db'))
await pool.xenapi.VM.start_on(db, 'intel1', false, false)
await pool.xenapi.VM.set_ha_restart_priority(db, 'restart')
const ha = await pool.enableHa()
console.log(`HA enabled; the pool tolerates ${ha.failures_to_tolerate} host failure(s)`)
const [dead] = await pool.xenapi.host.get_by_name_label('intel1')
await sim.kill('intel1')
const cache = await pool.cache(['VM'])
const record = await cache.waitFor('VM', (r) => r.name_label === 'db' && r.power_state === 'Running' && r.resident_on !== dead, { timeoutMs: 20000 })
console.log(`new coordinator: ${pool.coordinator}; db runs again on ${await pool.xenapi.host.get_name_label(record.resident_on)}`)
await cache.close()
await pool.close()
sim.stop()
