// A shared NFS SR, plugged on every host of the pool.
import assert from 'node:assert/strict'
import { createPool } from 'xenpool'
import { sim, access, progress } from './lab.mjs'

const { pool } = await createPool('production', access('intel1'), [access('intel2'), access('intel3')])
const outcome = await pool.createNfsSr('shared', 'nfs.example', '/exports/vms', { onProgress: progress })
assert.equal(outcome.executed, true)
const sr = outcome.sr
const pbds = await pool.xenapi.SR.get_PBDs(sr)
assert.equal(pbds.length, 3)
console.log(`SR ${await pool.xenapi.SR.get_name_label(sr)} plugged on ${pbds.length} hosts`)
await pool.close()
sim.stop()
