// A real Yjs peer (yjs + y-websocket) that pytest drives over stdin/stdout, one JSON object
// per line each way. Every command gets exactly one reply: {"ok": true, ...} or
// {"ok": false, "error": "..."}. Commands run one at a time, in order.
//
//   node peer.mjs --url ws://127.0.0.1:PORT --room NAME [--load FILE] [--offline] [--token T]
//
// --load applies a saved state (see "save") before anything else; --offline starts without
// connecting (an offline replica) until the "connect" command; --token is sent as ?token=.
// The document follows schema v1 of shared/CONTRACT.md §5.
//
// Commands: wait_synced {timeout?} · status · add {item_id, track_id, position?, added_by?}
// · vote {item_id, delta} · move {item_id, position} · play {item_id} · stop · remove {item_id}
// · snapshot · wait_for {match, timeout?} (partial deep match on the snapshot) · disconnect
// · connect · save {path} · awareness {state} · awareness_states · vote_and_exit · close
import fs from 'node:fs'
import readline from 'node:readline'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    room: { type: 'string' },
    load: { type: 'string' },
    offline: { type: 'boolean', default: false },
    token: { type: 'string' }
  }
})
if (!opts.url || !opts.room) {
  console.error('usage: node peer.mjs --url ws://HOST:PORT --room NAME [--load FILE] [--offline]')
  process.exit(2)
}

const doc = new Y.Doc()
if (opts.load) Y.applyUpdate(doc, fs.readFileSync(opts.load))
const items = doc.getMap('items')
const playback = doc.getMap('playback')
const provider = new WebsocketProvider(opts.url + '/yjs', opts.room, doc, {
  WebSocketPolyfill: WebSocket,
  connect: !opts.offline,
  params: opts.token ? { token: opts.token } : {},
  disableBc: true // peers must only meet through the server
})
const myKey = String(doc.clientID)
// Connections the server (not this peer) closed, with code and reason: a healthy run has none.
const serverCloses = []
provider.on('connection-close', (event) => {
  if (event) serverCloses.push({ code: event.code, reason: String(event.reason ?? '') })
})

const now = () => new Date().toISOString()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function item (id) {
  const value = items.get(id)
  if (!(value instanceof Y.Map)) throw new Error(`no item ${id}`)
  return value
}

function voteTotal (votes) {
  if (!(votes instanceof Y.Map)) return 0
  let total = 0
  for (const value of votes.values()) if (Number.isFinite(value)) total += value
  return Math.round(total)
}

// The projection of CONTRACT §5, as this peer sees it.
function snapshot () {
  const nowPlaying = playback.get('now_playing') ?? null
  const list = []
  for (const [id, value] of items.entries()) {
    if (!(value instanceof Y.Map)) continue
    const trackId = value.get('track_id')
    const position = value.get('position')
    if (!Number.isInteger(trackId) || !Number.isFinite(position)) continue
    list.push({
      id,
      track_id: trackId,
      position,
      votes: voteTotal(value.get('votes')),
      added_by: value.get('added_by') ?? 'Anonymous',
      added_at: value.get('added_at') ?? '',
      played_at: value.get('played_at') || null,
      is_playing: id === nowPlaying
    })
  }
  list.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const byId = Object.fromEntries(list.map((i) => [i.id, i]))
  return { count: list.length, now_playing: nowPlaying, items: list, by_id: byId }
}

// Partial deep match: objects match on the pattern's keys only; arrays element-wise and of
// the same length; a null in the pattern also matches a missing value.
function matches (pattern, value) {
  if (pattern === null) return value === null || value === undefined
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && value.length === pattern.length &&
      pattern.every((p, i) => matches(p, value[i]))
  }
  if (typeof pattern === 'object') {
    return value !== null && typeof value === 'object' &&
      Object.entries(pattern).every(([k, p]) => matches(p, value[k]))
  }
  return pattern === value
}

async function waitUntil (check, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await sleep(20)
  }
  return true
}

function vote (id, delta) {
  doc.transact(() => {
    const it = item(id)
    let votes = it.get('votes')
    if (!(votes instanceof Y.Map)) { votes = new Y.Map(); it.set('votes', votes) }
    votes.set(myKey, (votes.get(myKey) ?? 0) + delta) // only ever our own key
  })
}

function awarenessStates () {
  const states = {}
  for (const [client, state] of provider.awareness.getStates()) states[client] = state
  return { self: doc.clientID, count: Object.keys(states).length, states }
}

const commands = {
  async wait_synced ({ timeout = 10 }) {
    if (!await waitUntil(() => provider.synced, timeout * 1000)) throw new Error('not synced')
    return {}
  },
  status: () => ({
    synced: provider.synced,
    connected: provider.wsconnected,
    client_id: doc.clientID,
    server_closes: serverCloses
  }),
  add ({ item_id: id, track_id: trackId, position, added_by: addedBy = 'node-peer' }) {
    doc.transact(() => {
      if (position === undefined) {
        const list = snapshot().items
        position = list.length ? list[list.length - 1].position + 1 : 1.0
      }
      items.set(id, new Y.Map(Object.entries({
        track_id: trackId,
        position,
        added_by: addedBy,
        added_at: now(),
        played_at: null,
        votes: new Y.Map()
      })))
    })
    return { item: snapshot().by_id[id] }
  },
  vote ({ item_id: id, delta = 1 }) {
    vote(id, delta)
    return { votes: snapshot().by_id[id].votes }
  },
  move ({ item_id: id, position }) {
    item(id).set('position', position)
    return {}
  },
  play ({ item_id: id }) {
    doc.transact(() => {
      const stamp = now()
      item(id).set('played_at', stamp)
      playback.set('now_playing', id)
      playback.set('started_at', stamp)
    })
    return {}
  },
  stop () {
    doc.transact(() => { playback.set('now_playing', null); playback.set('started_at', null) })
    return {}
  },
  remove ({ item_id: id }) {
    doc.transact(() => {
      item(id)
      items.delete(id)
      if (playback.get('now_playing') === id) commands.stop()
    })
    return {}
  },
  snapshot: () => ({ snapshot: snapshot() }),
  async wait_for ({ match, timeout = 10 }) {
    if (!await waitUntil(() => matches(match, snapshot()), timeout * 1000)) {
      return { ok: false, error: 'timeout', snapshot: snapshot() }
    }
    return { snapshot: snapshot() }
  },
  disconnect () { provider.disconnect(); return {} },
  connect () { provider.connect(); return {} },
  save ({ path }) {
    fs.writeFileSync(path, Y.encodeStateAsUpdate(doc))
    return {}
  },
  awareness ({ state }) { provider.awareness.setLocalState(state); return {} },
  awareness_states: () => awarenessStates(),
  async vote_and_exit ({ item_id: id, delta = 1 }) {
    // The update goes out, the socket is closed at once and the process ends: nothing waits
    // for the server to apply or acknowledge the update.
    const ws = provider.ws
    provider.shouldConnect = false // no reconnect
    vote(id, delta)
    if (ws) {
      const closed = new Promise((resolve) => ws.once('close', resolve))
      ws.close()
      await Promise.race([closed, sleep(2000)])
    }
    reply({ ok: true })
    process.exit(0)
  },
  close () {
    provider.destroy()
    reply({ ok: true })
    setImmediate(() => process.exit(0))
    return null
  }
}

function reply (message) {
  process.stdout.write(JSON.stringify(message) + '\n')
}

async function run (line) {
  let request
  try {
    request = JSON.parse(line)
    const handler = commands[request.cmd]
    if (!handler) throw new Error(`unknown command ${request.cmd}`)
    const result = await handler(request)
    if (result !== null) reply({ ok: true, ...result })
  } catch (error) {
    reply({ ok: false, error: String(error?.message ?? error) })
  }
}

let queue = Promise.resolve()
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim()) queue = queue.then(() => run(line))
}).on('close', () => { queue.then(() => { provider.destroy(); process.exit(0) }) })
