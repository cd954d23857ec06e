// The Node surface of the cross-surface suite: plays one scenario (tests/README.md, given as
// the JSON the comparer converts from TOML) through the `xenpool` package against a fresh
// in-process `lab` simulator; prints one `@@STEP {json}` line per step.
// Run: node tests/runners/node/run.mjs SCENARIO.json [XENPOOL_PACKAGE_DIR]
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [file, packageDir = resolve(import.meta.dirname, '../../../bindings-node')] = process.argv.slice(2)
const { Pool, startSimulator } = await import(pathToFileURL(resolve(packageDir, 'index.mjs')).href)

const freePort = () =>
  new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => ok(port))
    })
  })

async function state(pool) {
  const x = pool.xenapi
  const records = await x.host.get_all_records()
  const names = Object.fromEntries(Object.entries(records).map(([ref, rec]) => [ref, rec.name_label]))
  const [poolRef] = await x.pool.get_all()
  const master = await x.pool.get_master(poolRef)
  const vms = {}
  for (const rec of Object.values(await x.VM.get_all_records())) {
    if (!rec.is_a_template && !rec.is_control_domain && names[rec.resident_on]) vms[rec.name_label] = names[rec.resident_on]
  }
  return { coordinator: names[master] ?? null, hosts: Object.values(names).sort(), vms }
}

const scenario = JSON.parse(readFileSync(file, 'utf8'))
const sim = await startSimulator({ scenario: 'lab', authFailureDelayMs: 10 })
let pool = null
const access = (name) => {
  const h = sim.host(name)
  return { url: h.url, user: 'root', password: h.password, fingerprint: h.fingerprint }
}
// A replaced handle's coordinator may be dead: close errors are ignored (as in Rust).
const closeQuietly = async (p) => {
  if (p) await p.close().catch(() => {})
}
const replace = async (next) => {
  await closeQuietly(pool)
  pool = next
}
try {
  for (const step of scenario.step) {
    const kind = step.do
    const host = step.host ?? ''
    const label = step.id ?? (host ? `${kind} ${host}` : kind)
    let r = { step: label, ok: false, code: null, params: null, method: null, state: null }
    const dry = { dryRun: step.dry_run ?? false }
    const flags = { force: step.force ?? false, allowCrossVendor: step.allow_cross_vendor ?? false, ...dry }
    let plan = null // a workflow's plan (its result in a dry run)
    try {
      switch (kind) {
        case 'connect': {
          if (step.with != null) {
            const w = step.with
            const h = sim.host(host)
            const url = w.bare ? h.url.replace('https://', '') : h.url
            await replace(await Pool.connect(url, {
              password: w.no_password ? undefined : h.password,
              fingerprint: w.fingerprint,
              insecure: w.insecure ?? false,
              trustOnFirstUse: w.trust_on_first_use ?? false,
              protocol: w.protocol,
            }))
            break
          }
          const a = access(host)
          if (step.password) a.password = step.password
          if (step.unreachable) a.url = `https://127.0.0.1:${await freePort()}`
          await replace(await Pool.connect(a.url, a))
          break
        }
        case 'validate': {
          const rep = await pool.validateJoin(access(host))
          r.ok = rep.ready
          r.code = rep.predicted_failure?.code ?? null
          r.params = rep.predicted_failure?.params ?? null
          r.state = { fails: rep.checks.filter((c) => c.status === 'fail').map((c) => c.id) }
          break
        }
        case 'create_pool': {
          const members = (step.members ?? []).map(access)
          const created = await Pool.create(step.name ?? 'pool', access(step.coordinator ?? 'intel1'), members, flags)
          await replace(created.pool)
          break
        }
        case 'join':
          plan = (await pool.join(access(host), flags)).plan
          break
        case 'eject':
          plan = (await pool.eject(host, dry)).plan
          break
        case 'create_bond':
          plan = (await pool.createBond(step.devices, step.mode ?? 'lacp', step.network ?? 'Bond', dry)).plan
          break
        case 'repair_bonds':
          plan = (await pool.repairBonds(dry)).plan
          break
        case 'create_nfs_sr':
          plan = (await pool.createNfsSr(step.name ?? 'nfs', step.server ?? '', step.path ?? '', dry)).plan
          break
        case 'start_vm': {
          const x = pool.xenapi
          const vm = await x.VM.create({
            name_label: step.name ?? 'vm',
            memory_static_max: 1073741824,
            memory_dynamic_max: 1073741824,
            memory_dynamic_min: 1073741824,
            memory_static_min: 536870912,
            VCPUs_max: 1,
            VCPUs_at_startup: 1,
          })
          const [on] = await x.host.get_by_name_label(host)
          await x.VM.start_on(vm, on, false, false)
          break
        }
        case 'migrate':
          plan = (await pool.migrate(step.vm, host, dry)).plan
          break
        case 'evacuate':
          plan = (await pool.evacuate(host, dry)).plan
          break
        case 'enable_ha':
          plan = (await pool.enableHa(dry)).plan
          break
        case 'disable_ha':
          plan = (await pool.disableHa(dry)).plan
          break
        case 'check_bonds':
          Object.assign(r, { ok: true, state: { bond_problems: (await pool.checkBonds()).map((b) => b.host).sort() } })
          break
        case 'kill':
          await sim.kill(host)
          break
        case 'state':
          break
        case 'recover': {
          const out = await Pool.recoverLostCoordinator(access(host), { restartVms: step.restart_vms ?? false, ...dry })
          plan = out.outcome.plan
          if (out.pool) await replace(out.pool)
          break
        }
        default:
          r = { step: label, unsupported: `the Node runner has no step ${JSON.stringify(kind)}` }
      }
      if (kind === 'kill') {
        r.ok = true
      } else if (dry.dryRun && plan) {
        Object.assign(r, { ok: true, state: { executed: false, calls: plan.calls.map((c) => c.method) } })
      } else if (kind !== 'validate' && kind !== 'check_bonds' && !r.unsupported) {
        r.ok = true
        r.state = await state(pool)
      }
    } catch (e) {
      if (typeof e?.code !== 'string') throw e
      Object.assign(r, { ok: false, code: e.code, params: [...(e.params ?? [])], method: e.method ?? null, state: null })
    }
    console.log('@@STEP ' + JSON.stringify(r))
  }
} finally {
  await closeQuietly(pool)
  sim.stop()
}
