// Without HA, a dead coordinator leaves its members in emergency mode: make one of them
// the coordinator and carry on.
import assert from 'node:assert/strict'
import { createPool, recoverLostCoordinator } from 'xenpool'
import { sim, access, progress } from './lab.mjs'

const { pool } = await createPool('production', access('intel1'), [access('intel2'), access('intel3')])
await sim.kill('intel1')
await pool.close().catch(() => {})
const { pool: recovered, outcome } = await recoverLostCoordinator(access('intel2'), { onProgress: progress })
assert.ok(outcome.plan.calls.length > 0)
console.log(`intel2 is the coordinator of ${(await recovered.xenapi.host.get_all()).length} hosts`)
await recovered.close()
sim.stop()
