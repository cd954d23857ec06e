// Shared by the tests: one simulator per file, fresh world per test.
import { startSimulator, connect, Pool } from '../index.mjs'

export async function lab(options = {}) {
  return startSimulator({ scenario: 'lab', authFailureDelayMs: 10, ...options })
}

/** The login options of a simulated host. */
export function login(host, extra = {}) {
  return { user: host.username, password: host.password, fingerprint: host.fingerprint, ...extra }
}

export async function session(sim, name = 'intel1', extra = {}) {
  const h = sim.host(name)
  return connect(h.url, login(h, extra))
}

export async function pool(sim, name = 'intel1', extra = {}) {
  const h = sim.host(name)
  return Pool.connect(h.url, login(h, extra))
}

/** Rejects unless `promise` fails with `code`; returns the error. */
export async function rejectsWith(promise, code) {
  try {
    await promise
  } catch (e) {
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`, { cause: e })
    return e
  }
  throw new Error(`expected ${code}, but it succeeded`)
}

export const vmRecord = (name) => ({
  name_label: name,
  memory_static_max: 1073741824,
  memory_dynamic_max: 1073741824,
  memory_dynamic_min: 1073741824,
  memory_static_min: 536870912,
  VCPUs_max: 1,
  VCPUs_at_startup: 1,
})

/** A fresh world: killed hosts restarted, the scenario reloaded. */
export async function fresh(sim) {
  for (const h of sim.hosts) if (!h.alive) await sim.restart(h.name)
  await sim.reset()
}
