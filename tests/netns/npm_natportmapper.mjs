// libp2p's NAT mapper, @achingbrain/nat-port-mapper (the JavaScript
// libp2p / IPFS node's UPnP client), driven as an application drives it:
//
//   node npm_natportmapper.mjs LAN_IP PORT RELEASE_FILE
//
// finds the IGD:2 gateway by SSDP, maps PORT for TCP and UDP
// (AddAnyPortMapping), prints one JSON line per step, waits until
// RELEASE_FILE exists (the test looks at the gateway meanwhile), then
// unmaps the port (DeletePortMapping with NewProtocol empty, once per
// mapping) and stops. Every step is bounded by the tests' safety timeout
// (IGDD_TEST_TIMEOUT seconds, exported by tests/netns/lib.sh); nothing
// is timed.
import { existsSync } from 'node:fs'
import { upnpNat } from '@achingbrain/nat-port-mapper'

const [host, portText, release] = process.argv.slice(2)
const port = Number(portText)
const out = (o) => console.log(JSON.stringify(o))
const SAFETY_MS = 1000 * (Number(process.env.IGDD_TEST_TIMEOUT) || 60)
const limit = () => AbortSignal.timeout(SAFETY_MS)

const client = upnpNat({ autoRefresh: false, description: 'igdd-test libp2p' })
let gateway
for await (const g of client.findGateways({ signal: limit() })) {
  gateway = g
  break
}
out({ gateway: gateway.id, host: gateway.host })
for (const protocol of ['TCP', 'UDP']) {
  const m = await gateway.map(port, host, { protocol, signal: limit() })
  out({ mapped: m })
}
for (const end = Date.now() + SAFETY_MS; Date.now() < end && !existsSync(release);) {
  await new Promise((resolve) => setTimeout(resolve, 100))
}
await gateway.unmap(port, { signal: limit() })
out({ unmapped: port })
await gateway.stop({ signal: limit() })
out({ stopped: true })
process.exit(0)
