// Repair bonds after a join: xapi copies the coordinator's bonds by NIC position.
import assert from 'node:assert/strict'
import { createPool } from 'xenpool'
import { sim, access, progress } from './lab.mjs'

const { pool } = await createPool('production', access('intel1'), [access('intel2')])
await pool.createBond(['eth2', 'eth3'], 'lacp', 'Storage')
await pool.join(access('intel-old'), { force: true })
for (const p of await pool.checkBonds()) {
  console.log(`${p.host}: bond on ${p.network} uses ${p.members}, should use ${p.expected} (${p.reason})`)
}
await pool.repairBonds({ onProgress: progress })
const left = await pool.checkBonds()
assert.equal(left.length, 0)
console.log(`problems left: ${left.length}`)
await pool.close()
sim.stop()
