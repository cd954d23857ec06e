// Create a pool: this host becomes the coordinator and each member is checked, then joined.
import assert from 'node:assert/strict'
import { createPool } from 'xenpool'
import { sim, access, progress } from './lab.mjs'

const plan = await createPool('production', access('intel1'), [access('intel2'), access('intel3')], { dryRun: true })
console.log(`dry run: ${plan.outcome.plan.calls.length} calls planned`)
await plan.pool.close()
const { pool, outcome } = await createPool('production', access('intel1'), [access('intel2'), access('intel3')], {
  description: 'three Intel hosts',
  onProgress: progress,
})
assert.equal(outcome.complete, true)
console.log(`pool "production" created; joined: ${outcome.joined.join(', ')}`)
assert.equal((await pool.xenapi.host.get_all()).length, 3)
await pool.close()
sim.stop()
