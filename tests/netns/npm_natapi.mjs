// The nat-api family (@silentbot1/nat-api; nat-api and @motrix/nat-api
// are earlier forks of the same code: WebTorrent, Motrix), UPnP only:
//
//   node npm_natapi.mjs LAN_IP PORT
//
// maps PORT (TCP, AddPortMapping on WANIPConnection:1, as the library
// finds the gateway through an InternetGatewayDevice:1 search), lists
// the mappings with the library's own GetGenericPortMappingEntry loop
// (index 0 goes out as an empty NewPortMappingIndex), prints them, and
// unmaps. One JSON line per step; every step is bounded by the tests'
// safety timeout (IGDD_TEST_TIMEOUT seconds, exported by tests/netns/lib.sh).
import NatAPI from '@silentbot1/nat-api'

const [host, portText] = process.argv.slice(2)
const port = Number(portText)
const out = (o) => console.log(JSON.stringify(o))
const SAFETY_MS = 1000 * (Number(process.env.IGDD_TEST_TIMEOUT) || 60)
const limited = (p) => Promise.race([p, new Promise((resolve, reject) =>
  setTimeout(() => reject(new Error('safety timeout')), SAFETY_MS).unref())])

const api = new NatAPI({ enablePMP: false, autoUpdate: false, description: 'igdd-test nat-api', ttl: 3600 })
const ok = await limited(api.map({ publicPort: port, privatePort: port, protocol: 'TCP' }))
out({ mapped: ok })
// NatAPI keeps its UPnP client's listing to itself; applications call it.
const list = await limited(api._upnpClient.getMappings())
out({ list, host })
out({ unmapped: await limited(api.unmap({ publicPort: port, privatePort: port, protocol: 'TCP' })) })
await limited(api.destroy())
process.exit(0)
