// VM.get_all_records for 10,000 VMs on one simulator (pool16 scaled to 10,000 VMs):
// xenpool against Xen Orchestra's xen-api client (`call("VM.get_all_records")`), side by
// side in one run, with the longest event-loop stall of each (perf_hooks'
// monitorEventLoopDelay) and the longest garbage-collection pause inside the call (a
// PerformanceObserver on 'gc': the part of a stall that is V8 promoting the records the
// call builds, which every client pays). Rounds alternate between the clients; the median
// is reported, with the worst round in brackets.
//
//   node bench/get_all_records.mjs [--vms 10000] [--rounds 5]
import { PerformanceObserver, constants, monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { connect, startSimulator } from '../index.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const vms = arg('vms', 10000)
const rounds = arg('rounds', 5)

const sim = await startSimulator({ scenario: 'pool16', vms })
const coordinator = sim.hosts.find((h) => h.masterAddress === null)

const session = await connect(coordinator.url, { user: coordinator.username, password: coordinator.password, fingerprint: coordinator.fingerprint })
const { createClient } = await import('xen-api')
const xo = createClient({ url: coordinator.url, allowUnauthorized: true, auth: { user: coordinator.username, password: coordinator.password }, watchEvents: false })
await xo.connect()

const clients = {
  xenpool: () => session.xenapi.VM.get_all_records(),
  'xen-api': () => xo.call('VM.get_all_records'),
}

const gcKinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks' }

async function measure(fn) {
  let gc = { duration: 0, kind: '-' }
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > gc.duration) gc = { duration: e.duration, kind: gcKinds[e.detail?.kind] ?? 'gc' }
  })
  observer.observe({ entryTypes: ['gc'] })
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  const started = performance.now()
  const records = await fn()
  const elapsed = performance.now() - started
  // A client that parses the whole reply in one go blocks the loop at the very end: let the
  // histogram's timer fire once more so that last stall is counted too.
  await new Promise((resolve) => setTimeout(resolve, 20))
  h.disable()
  observer.disconnect()
  const count = Object.keys(records).length
  return { elapsed, stall: h.max / 1e6, gc, count }
}

const results = Object.fromEntries(Object.keys(clients).map((k) => [k, []]))
for (const fn of Object.values(clients)) await fn() // warm up connections and code paths
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? Object.keys(clients) : Object.keys(clients).reverse()
  for (const name of order) results[name].push(await measure(clients[name]))
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
console.log(`VM.get_all_records, ${vms} VMs (${results.xenpool[0].count} records incl. control domains), ${rounds} rounds, median (max)`)
console.log('client     end to end ms     longest event-loop stall ms (rounds > 50 ms)   longest GC pause ms (worst round\'s kind)')
for (const [name, rs] of Object.entries(results)) {
  const e = rs.map((x) => x.elapsed)
  const s = rs.map((x) => x.stall)
  const g = rs.map((x) => x.gc.duration)
  const worst = rs.reduce((a, b) => (b.stall > a.stall ? b : a))
  console.log(
    `${name.padEnd(10)} ${median(e).toFixed(0).padStart(6)} (${Math.max(...e).toFixed(0)})`.padEnd(28) +
      `${median(s).toFixed(1).padStart(8)} (${Math.max(...s).toFixed(1)}) ${s.filter((x) => x > 50).length}/${s.length}`.padEnd(48) +
      `${median(g).toFixed(1).padStart(6)} (${Math.max(...g).toFixed(1)}; worst stall's round: ${worst.gc.duration.toFixed(1)} ${worst.gc.kind})`,
  )
}
await session.close()
await xo.disconnect()
sim.stop()
