// Check a host before joining it: every problem at once, then join what is ready.
import assert from 'node:assert/strict'
import { Pool } from 'xenpool'
import { sim, access, progress } from './lab.mjs'

const pool = await Pool.connect(access('intel1').url, access('intel1'))
for (const name of ['intel2', 'busy', 'nfs-host']) {
  const report = await pool.validateJoin(access(name))
  console.log(`${name}: ${report.ready ? 'ready' : `not ready (${report.predicted_failure?.code})`}`)
}
const outcome = await pool.join(access('intel2'), { onProgress: progress })
assert.equal(outcome.executed, true)
console.log(`joined: ${outcome.report.candidate.name}`)
await pool.close()
sim.stop()
