// Many Yjs peers joining one room at the same moment, in one Node process.
//
//   node swarm.mjs --url ws://127.0.0.1:PORT --room NAME --count 200 [--timeout 60]
//                  [--expect-item ID] [--vote ID]
//
// Prints one JSON line: how many peers synced within the timeout, how many see
// --expect-item after syncing, and, with --vote (every peer votes +1 on that item once
// synced), how many peers saw the full total; and how many connections the server closed.
// Exits 0 whenever it could report. --timeout bounds each phase.
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    room: { type: 'string' },
    count: { type: 'string', default: '200' },
    timeout: { type: 'string', default: '60' },
    'expect-item': { type: 'string' },
    vote: { type: 'string' }
  }
})
const count = Number(opts.count)
const timeoutMs = Number(opts.timeout) * 1000
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Wait (at most --timeout seconds per phase) until check() holds; returns whether it does.
async function until (check) {
  const deadline = Date.now() + timeoutMs
  while (!check() && Date.now() < deadline) await sleep(25)
  return check()
}

function votesOf (doc, id) {
  const votes = doc.getMap('items').get(id)?.get('votes')
  let total = 0
  if (votes instanceof Y.Map) for (const v of votes.values()) total += v
  return total
}

process.setMaxListeners(0) // every provider adds an 'exit' listener
const started = Date.now()
const elapsed = () => (Date.now() - started) / 1000
const peers = []
const serverCloses = [] // connections the server closed (not us): a healthy run has none
for (let i = 0; i < count; i++) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(opts.url + '/yjs', opts.room, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true
  })
  provider.on('connection-close', (event) => {
    if (event) serverCloses.push({ code: event.code, reason: String(event.reason), at: elapsed() })
  })
  peers.push({ doc, provider })
}

const report = { count }
await until(() => peers.every((p) => p.provider.synced))
report.synced = peers.filter((p) => p.provider.synced).length
report.sync_seconds = elapsed()
if (opts['expect-item']) {
  const has = (p) => p.doc.getMap('items').get(opts['expect-item']) instanceof Y.Map
  await until(() => peers.every(has))
  report.seen_item = peers.filter(has).length
}
if (opts.vote) {
  const id = opts.vote
  for (const { doc } of peers) {
    if (!(doc.getMap('items').get(id) instanceof Y.Map)) continue
    doc.transact(() => {
      const votes = doc.getMap('items').get(id).get('votes')
      votes.set(String(doc.clientID), (votes.get(String(doc.clientID)) ?? 0) + 1)
    })
  }
  const full = (p) => votesOf(p.doc, id) >= count
  await until(() => peers.every(full))
  report.saw_all_votes = peers.filter(full).length
  report.votes_seconds = elapsed()
}
report.server_closes = serverCloses.length
report.first_server_closes = serverCloses.slice(0, 3)
for (const { provider } of peers) provider.destroy()
process.stdout.write(JSON.stringify(report) + '\n')
process.exit(0)
