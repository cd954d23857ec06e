// The typed API: records, enums and references come from the generated declarations.
import { connect, startSimulator, XenAPIError, type Ref, type VmRecord, type VmPowerState } from 'xenpool'

const sim = await startSimulator({ scenario: 'single' })
const host = sim.hosts[0]
const session = await connect(host.url, { user: host.username, password: host.password, fingerprint: host.fingerprint ?? undefined })
const vms: Record<Ref<'VM'>, VmRecord> = await session.xenapi.VM.get_all_records()
const states: VmPowerState[] = Object.values(vms).map((v) => v.power_state)
const [first] = await session.xenapi.host.get_all()
const name: string = await session.xenapi.host.get_name_label(first)
console.log(`${name}: ${states.length} VMs (${states.join(', ')})`)
try {
  await session.xenapi.VM.get_record('OpaqueRef:none' as Ref<'VM'>)
} catch (e) {
  if (e instanceof XenAPIError && e.code === 'HANDLE_INVALID') console.log(`no such VM: ${e.params.join(', ')}`)
  else throw e
}
await session.close()
sim.stop()
