// A host with another CPU vendor: refused without force, joined with it.
import assert from 'node:assert/strict'
import { Pool } from 'xenpool'
import { sim, access } from './lab.mjs'

const pool = await Pool.connect(access('intel1').url, access('intel1'))
const report = await pool.validateJoin(access('amd1'))
assert.equal(report.predictedFailure.code, 'HOSTS_NOT_HOMOGENEOUS')
console.log(`amd1: ${report.predictedFailure.code} ${report.predictedFailure.params.join(', ')}`)
try {
  await pool.join(access('amd1'))
  assert.fail('joins only with force')
} catch (e) {
  assert.equal(e.code, 'REFUSED')
}
const outcome = await pool.join(access('amd1'), { force: true })
assert.equal(outcome.executed, true)
console.log('amd1 joined with force')
await pool.close()
sim.stop()
