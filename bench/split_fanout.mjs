// Fan-out across processes: one writer on the first URL, N Yjs peers spread round-robin over
// the peer URLs (one process, or two behind one Redis), in one room.
//
//   node bench/split_fanout.mjs --writer WS_URL --peers WS_URL[,WS_URL...] --count N
//        [--updates 30] [--burst 100] [--room NAME]
//
//   latency  the writer votes once, waits until all N peers have it, repeats (ms per update)
//   burst    M votes back to back; deliveries per second = N * M / time until all have the last
// Prints one JSON object on stdout.
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const { values: opts } = parseArgs({
  options: {
    writer: { type: 'string' },
    peers: { type: 'string' },
    count: { type: 'string', default: '100' },
    updates: { type: 'string', default: '30' },
    burst: { type: 'string', default: '100' },
    room: { type: 'string', default: `split-${Date.now()}` }
  }
})
const count = Number(opts.count)
const peerUrls = opts.peers.split(',')
process.setMaxListeners(0) // every WebsocketProvider adds an exit listener
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function until (check, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timeout')
    await sleep(2)
  }
}

function connect (url) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, opts.room, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true // peers meet only through the servers
  })
  provider.awareness.setLocalState(null) // the traffic measured is the document's
  return { doc, provider, votes: (key) => doc.getMap('items').get('x')?.get('votes')?.get(key) }
}

const writer = connect(opts.writer)
await until(() => writer.provider.synced)
writer.doc.transact(() => {
  const item = new Y.Map()
  item.set('track_id', 1)
  item.set('position', 1)
  item.set('added_by', 'bench')
  item.set('added_at', new Date().toISOString())
  item.set('played_at', null)
  item.set('votes', new Y.Map())
  writer.doc.getMap('items').set('x', item)
})
console.error('writer synced; peers joining')
const peers = Array.from({ length: count }, (_, n) => connect(peerUrls[n % peerUrls.length]))
await until(() => peers.every((p) => p.provider.synced && p.doc.getMap('items').has('x')))

console.error('peers synced')
let value = 0
// A peer writes only its own vote key (CONTRACT §9): String(its client id).
const key = String(writer.doc.clientID)
const write = () => { value += 1; writer.doc.getMap('items').get('x').get('votes').set(key, value) }
const latencies = []
for (let n = 0; n < Number(opts.updates); n++) {
  const start = performance.now()
  write()
  await until(() => peers.every((p) => p.votes(key) === value))
  latencies.push(performance.now() - start)
}
const burst = Number(opts.burst)
const start = performance.now()
for (let n = 0; n < burst; n++) write()
await until(() => peers.every((p) => p.votes(key) === value))
const seconds = (performance.now() - start) / 1000
latencies.sort((a, b) => a - b)
console.log(JSON.stringify({
  peers: count,
  processes: peerUrls.length,
  latency_ms_median: latencies[Math.floor(latencies.length / 2)],
  latency_ms_p95: latencies[Math.floor(latencies.length * 0.95)],
  burst_deliveries_per_second: (count * burst) / seconds
}))
for (const p of [writer, ...peers]) p.provider.destroy()
process.exit(0)
