// Shared by the examples: the `lab` scenario in-process, and how to reach one of its hosts.
import { startSimulator } from 'xenpool'

export const sim = await startSimulator({ scenario: 'lab' })

/** `{ url, user, password, fingerprint }` of a simulated host. */
export function access(name) {
  const h = sim.host(name)
  return { url: h.url, user: h.username, password: h.password, fingerprint: h.fingerprint }
}

/** Prints each step of a workflow. */
export const progress = (e) => console.log(`  [${e.step}/${e.total}] ${e.message}`)

export const vm = (name) => ({
  name_label: name,
  memory_static_max: 1073741824,
  memory_dynamic_max: 1073741824,
  memory_dynamic_min: 1073741824,
  memory_static_min: 536870912,
  VCPUs_max: 1,
  VCPUs_at_startup: 1,
})
