// Eject a member: its VMs move off first; the coordinator itself is refused.
import assert from 'node:assert/strict'
import { createPool } from 'xenpool'
import { sim, access, progress } from './lab.mjs'

const { pool } = await createPool('production', access('intel1'), [access('intel2'), access('intel3')])
try {
  await pool.eject('intel1')
  assert.fail('the coordinator cannot be ejected')
} catch (e) {
  assert.equal(e.code, 'REFUSED')
  console.log(`refused: ${e.params.join('; ')}`)
}
const outcome = await pool.eject('intel3', { onProgress: progress })
assert.equal(outcome.executed, true)
console.log(`intel3 ejected; ${(await pool.xenapi.host.get_all()).length} hosts left`)
await pool.close()
sim.stop()
