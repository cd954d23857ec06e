// A host with another CPU vendor: refused without force and with force alone (the
// documentation says such hosts cannot be pooled); joined only with the explicit,
// separately named override, and the outcome says what it went past.
import assert from 'node:assert/strict'
import { Pool } from 'xenpool'
import { sim, access } from './lab.mjs'

const pool = await Pool.connect(access('intel1').url, access('intel1'))
const report = await pool.validateJoin(access('amd1'))
assert.equal(report.predicted_failure.code, 'HOSTS_NOT_HOMOGENEOUS')
console.log(`amd1: ${report.predicted_failure.code} ${report.predicted_failure.params.join(', ')}`)
try {
  await pool.join(access('amd1'))
  assert.fail('joins only with force')
} catch (e) {
  assert.equal(e.code, 'REFUSED')
}
try {
  await pool.join(access('amd1'), { force: true })
  assert.fail('force alone does not pool two vendors')
} catch (e) {
  assert.equal(e.code, 'REFUSED')
}
const outcome = await pool.join(access('amd1'), { force: true, allowCrossVendor: true })
assert.equal(outcome.executed, true)
console.log(`amd1 joined with force and allowCrossVendor, past: ${outcome.forced_past.map((c) => c.id).join(', ')}`)
await pool.close()
sim.stop()
