// Fan-out load generator: N real Yjs peers (yjs + y-websocket, all in this one process) in one
// room with one writer, against several servers in the same run, interleaved round by round
// (A B C, then B C A, ...) so that machine noise falls on all alike.
//
//   node bench/fanout.mjs --server NAME=WS_URL[,PID[,nodeflate]] --server ...
//        [--sizes 50,200,1000] [--rounds 2] [--latency-updates 40] [--burst 200|50:400,...]
//        [--items 200] [--join-timeout 60] [--deadline 480] [--rooms K] [--awareness]
//
// WS_URL is what a frontend passes to `new WebsocketProvider(WS_URL, room, doc)`; PID (optional)
// is the server process, whose RSS and CPU time are read from /proc; `nodeflate`: the peers
// do not offer permessage-deflate (ws and browsers do by default). Per round and server:
//   join     N peers created in the same tick; time until every one is synced (has step 2 and
//            the writer's items)
//   latency  the writer votes once, waits until all N peers have it, pauses, repeats
//   burst    the writer sends M votes back to back, as fast as it can; deliveries per second =
//            N * M / time until every peer has the last one; and per peer, the time from the
//            burst's start until it has the last one (p50 and p99 over peers)
//   memory   server RSS before the peers joined and after they settled
// --rooms K first: K idle rooms of --items items per server, each written by a peer that then
// leaves; RSS growth per room. Peers publish no awareness state unless --awareness.
// Prints one JSON object on stdout; progress goes to stderr. Every wait is bounded in time,
// and --deadline bounds the whole run (rounds not started by then are skipped).
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const { values: opts } = parseArgs({
  options: {
    server: { type: 'string', multiple: true },
    sizes: { type: 'string', default: '50,200,1000' },
    rounds: { type: 'string', default: '2' },
    'latency-updates': { type: 'string', default: '40' },
    burst: { type: 'string', default: '' }, // per size: "50:500,200:200,1000:100", or one number
    items: { type: 'string', default: '200' },
    'join-timeout': { type: 'string', default: '60' },
    rooms: { type: 'string', default: '0' }, // memory: idle rooms of --items items, per server
    awareness: { type: 'boolean', default: false },
    deadline: { type: 'string', default: '480' }
  }
})

const servers = (opts.server ?? []).map((spec) => {
  const [name, rest] = spec.split('=')
  const [url, pid, ...flags] = rest.split(',')
  return { name, url, pid: pid ? Number(pid) : null, deflate: !flags.includes('nodeflate') }
})
if (servers.length === 0) {
  console.error('usage: node fanout.mjs --server NAME=WS_URL[,PID] [--server ...]')
  process.exit(2)
}
const sizes = opts.sizes.split(',').filter(Boolean).map(Number)
process.setMaxListeners(0) // every WebsocketProvider adds an exit listener
const rounds = Number(opts.rounds)
const latencyUpdates = Number(opts['latency-updates'])
const itemCount = Number(opts.items)
const joinTimeout = Number(opts['join-timeout']) * 1000
const burstTimeout = 30000
const roomCount = Number(opts.rooms)
const runDeadline = performance.now() + Number(opts.deadline) * 1000
const burstFor = (() => {
  const spec = opts.burst
  if (!spec) return (n) => (n <= 50 ? 500 : n <= 200 ? 200 : 100)
  if (!spec.includes(':')) return () => Number(spec)
  const table = Object.fromEntries(spec.split(',').map((p) => p.split(':').map(Number)))
  return (n) => table[n] ?? 100
})()

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const log = (...args) => console.error('[fanout]', ...args)
const now = () => performance.now()

// -- server process readings (Linux /proc) ----------------------------------------------------

function rssBytes (pid) {
  if (!pid) return null
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)[1])
    return kb * 1024
  } catch {
    return null
  }
}

function cpuTicks (pid) {
  if (!pid) return null
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12]) // utime + stime, in clock ticks (1/100 s)
  } catch {
    return null
  }
}

/** Wait until the server process uses under 5% CPU over 300 ms (it finished what we caused). */
async function settle (server, maxMs = 60000) {
  const start = now()
  if (!server.pid) { await sleep(1000); return 0 }
  let before = cpuTicks(server.pid)
  while (now() - start < maxMs) {
    await sleep(300)
    const after = cpuTicks(server.pid)
    if (after === null || after - before <= 1) break
    before = after
  }
  return (now() - start) / 1000
}

// -- peers ------------------------------------------------------------------------------------

// ws offers permessage-deflate by default, as browsers do; this one does not (see --server).
class NoDeflateWebSocket extends WebSocket {
  constructor (address, protocols, options) {
    super(address, protocols, { ...options, perMessageDeflate: false })
  }
}

class Peer {
  constructor (server, room) {
    this.doc = new Y.Doc()
    this.items = this.doc.getMap('items')
    this.provider = new WebsocketProvider(server.url, room, this.doc, {
      WebSocketPolyfill: server.deflate ? WebSocket : NoDeflateWebSocket,
      disableBc: true, // peers meet only through the server
      connect: false
    })
    // Without --awareness a peer publishes no presence: the traffic is the document's.
    if (!opts.awareness) this.provider.awareness.setLocalState(null)
    this.provider.connect()
    this.messages = 0 // doc updates + awareness updates received
    this.disconnects = 0
    this.lastMessage = now()
    this.onUpdate = null
    this.doc.on('update', (_update, origin) => {
      if (origin === this.provider) {
        this.messages++
        this.lastMessage = now()
        if (this.onUpdate) this.onUpdate(this)
      }
    })
    this.provider.awareness.on('update', (_changes, origin) => {
      if (origin !== 'local') {
        this.messages++
        this.lastMessage = now()
      }
    })
    this.provider.on('status', ({ status }) => {
      if (status === 'disconnected') this.disconnects++
    })
  }

  get synced () {
    return this.provider.synced && this.items.size >= itemCount
  }

  destroy () {
    this.provider.destroy()
    this.doc.destroy()
  }
}

function votesOf (peer, itemId, key) {
  const votes = peer.items.get(itemId)?.get('votes')
  return votes instanceof Y.Map ? (votes.get(key) ?? 0) : 0
}

async function waitFor (check, timeoutMs, pollMs = 10) {
  const deadline = now() + timeoutMs
  while (!check()) {
    if (now() > deadline) return false
    await sleep(pollMs)
  }
  return true
}

/** Until no peer has received anything for quietMs (bounded by maxMs). */
async function quiesce (peers, quietMs = 500, maxMs = 30000) {
  const start = now()
  while (now() - start < maxMs) {
    const last = Math.max(...peers.map((p) => p.lastMessage))
    if (now() - last >= quietMs) break
    await sleep(100)
  }
  return (now() - start) / 1000
}

function percentile (sorted, q) {
  if (sorted.length === 0) return null
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]
}

// -- one round on one server ------------------------------------------------------------------

async function settleAll () {
  for (const s of servers) await settle(s, 30000)
}

async function round (server, n, roundIndex) {
  await settleAll()
  const room = `fan-n${n}-r${roundIndex}-${server.name}-${Math.random().toString(36).slice(2, 8)}`
  const result = { server: server.name, n, round: roundIndex, room }

  // The writer, and a playlist of itemCount items written as one update.
  const writer = new Peer(server, room)
  if (!await waitFor(() => writer.provider.synced, 10000)) throw new Error(`${server.name}: writer did not sync`)
  const writerKey = String(writer.doc.clientID)
  const ids = []
  writer.doc.transact(() => {
    for (let i = 0; i < itemCount; i++) {
      const id = `item-${i}`
      ids.push(id)
      writer.items.set(id, new Y.Map(Object.entries({
        track_id: i + 1,
        position: i + 1,
        added_by: 'bench',
        added_at: new Date().toISOString(),
        played_at: null,
        votes: new Y.Map()
      })))
    }
  })
  const target = ids[Math.floor(itemCount / 2)]
  await settle(server)
  result.rss_before = rssBytes(server.pid)
  const cpuBefore = cpuTicks(server.pid)

  // Join: N peers created in one tick.
  const peers = []
  const joinCpu = process.cpuUsage()
  const joinServerCpu = cpuTicks(server.pid)
  const joinStart = now()
  const syncedAt = new Array(n).fill(null)
  for (let i = 0; i < n; i++) {
    const peer = new Peer(server, room)
    const mark = () => { if (syncedAt[i] === null && peer.synced) syncedAt[i] = now() - joinStart }
    peer.provider.on('sync', mark)
    peer.onUpdate = mark
    peers.push(peer)
  }
  await waitFor(() => syncedAt.every((t) => t !== null), joinTimeout, 20)
  const times = syncedAt.filter((t) => t !== null).sort((a, b) => a - b)
  const harnessCpu = process.cpuUsage(joinCpu)
  result.join = {
    // Who was busy meanwhile: this load generator (one Node thread for all N peers) and the
    // server, in CPU seconds; a harness as busy as the join was long bounds the join.
    harness_cpu_seconds: (harnessCpu.user + harnessCpu.system) / 1e6,
    server_cpu_seconds: joinServerCpu === null ? null : (cpuTicks(server.pid) - joinServerCpu) / 100,
    synced: times.length,
    all_synced: times.length === n,
    seconds: times.length === n ? times[n - 1] / 1000 : null,
    p50_seconds: percentile(times, 0.5) / 1000,
    synced_within_10s: times.filter((t) => t <= 10000).length,
    timeout_seconds: joinTimeout / 1000
  }
  log(`${server.name} n=${n} r=${roundIndex}: join ${times.length}/${n} in ${((times.at(-1) ?? 0) / 1000).toFixed(2)}s`)
  result.quiesce_seconds = await quiesce(peers)
  await settle(server, 10000)
  result.rss_after = rssBytes(server.pid)
  const live = peers.filter((p, i) => syncedAt[i] !== null)
  if (live.length === 0) {
    result.error = 'no peer synced'
    cleanup(writer, peers)
    return result
  }

  // Latency: one vote at a time, until every live peer has it.
  const latencies = []
  let misses = 0
  let value = 0
  for (let k = 0; k < latencyUpdates; k++) {
    value += 1
    const want = value
    let remaining = live.length
    const done = new Set()
    let finished = null
    const t0 = now()
    for (const peer of live) {
      peer.onUpdate = (p) => {
        if (!done.has(p) && votesOf(p, target, writerKey) >= want) {
          done.add(p)
          if (--remaining === 0) finished = now()
        }
      }
    }
    writer.doc.transact(() => { writer.items.get(target).get('votes').set(writerKey, want) })
    await waitFor(() => finished !== null, 5000, 1)
    if (finished === null) {
      misses++
      if (misses >= 3 && latencies.length === 0) break // the room is not delivering: stop early
    } else latencies.push(finished - t0)
    await sleep(10 + Math.random() * 10)
  }
  latencies.sort((a, b) => a - b)
  result.latency = {
    updates: latencies.length + misses,
    peers: live.length,
    missed: misses,
    samples_ms: latencies.map((x) => Math.round(x * 1000) / 1000),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99)
  }
  log(`${server.name} n=${n} r=${roundIndex}: latency p50 ${result.latency.p50_ms?.toFixed(2)}ms p99 ${result.latency.p99_ms?.toFixed(2)}ms`)
  await quiesce(live, 300, 10000)
  await settle(server, 10000)

  // Burst: M votes back to back; time until every live peer has the last one.
  const m = burstFor(n)
  const final = value + m
  const reachedFinal = new Set()
  const finalAt = [] // per peer: ms from the burst's start until it has the last update
  const disconnectsBefore = live.reduce((s, p) => s + p.disconnects, 0)
  let remaining = live.length
  let lastDone = null
  let burstStart = null
  for (const peer of live) {
    peer.onUpdate = (p) => {
      if (!reachedFinal.has(p) && votesOf(p, target, writerKey) === final) {
        reachedFinal.add(p)
        const t = now()
        finalAt.push(t - burstStart)
        if (--remaining === 0) lastDone = t
      }
    }
  }
  burstStart = now()
  for (let i = 1; i <= m; i++) {
    writer.doc.transact(() => { writer.items.get(target).get('votes').set(writerKey, value + i) })
  }
  const sendSeconds = (now() - burstStart) / 1000
  await waitFor(() => lastDone !== null, burstTimeout, 2)
  const reached = live.length - remaining
  const elapsed = ((lastDone ?? now()) - burstStart) / 1000
  finalAt.sort((a, b) => a - b)
  result.burst = {
    updates: m,
    peers: live.length,
    reached_final: reached,
    seconds: elapsed,
    writer_send_seconds: sendSeconds,
    deliveries: reached * m,
    deliveries_per_second: lastDone !== null ? (live.length * m) / elapsed : null,
    // Over the peers that got the last update (all of them when reached_final === peers).
    peer_final_p50_ms: percentile(finalAt, 0.5),
    peer_final_p99_ms: percentile(finalAt, 0.99),
    disconnects: live.reduce((s, p) => s + p.disconnects, 0) - disconnectsBefore
  }
  value = final
  log(`${server.name} n=${n} r=${roundIndex}: burst ${m} x ${live.length} in ${elapsed.toFixed(2)}s = ${Math.round(result.burst.deliveries_per_second ?? 0)}/s, per peer p50 ${result.burst.peer_final_p50_ms?.toFixed(1)}ms`)
  result.server_cpu_seconds = cpuBefore === null ? null : (cpuTicks(server.pid) - cpuBefore) / 100
  result.disconnects = peers.reduce((s, p) => s + p.disconnects, 0)

  cleanup(writer, peers)
  result.teardown_settle_seconds = await settle(server)
  return result
}

function cleanup (writer, peers) {
  for (const peer of peers) peer.destroy()
  writer.destroy()
}

// -- memory: idle rooms ------------------------------------------------------------------------

// playsync puts a room idle for 5 s (--dormant-seconds) to sleep on the reaper's next pass (every
// 1.25 s): it keeps its projection and encoded document. RSS is read past that, on both servers.
const DORMANT_WAIT_MS = 8000

/** K rooms of itemCount items, each written by a peer that then leaves; RSS growth per room. */
async function idleRooms (server, k) {
  await settleAll()
  const before = rssBytes(server.pid)
  const tag = Math.random().toString(36).slice(2, 8)
  let written = 0
  for (let start = 0; start < k; start += 20) {
    const batch = []
    for (let i = start; i < Math.min(k, start + 20); i++) batch.push(new Peer(server, `idle-${tag}-${i}`))
    await waitFor(() => batch.every((p) => p.provider.synced), 20000)
    for (const peer of batch) {
      peer.doc.transact(() => {
        for (let i = 0; i < itemCount; i++) {
          peer.items.set(`item-${i}`, new Y.Map(Object.entries({
            track_id: i + 1,
            position: i + 1,
            added_by: 'bench',
            added_at: new Date().toISOString(),
            played_at: null,
            votes: new Y.Map()
          })))
        }
      })
    }
    // A second peer per room proves the server holds the items before the writer leaves.
    const probes = batch.map((p) => new Peer(server, p.provider.roomname))
    await waitFor(() => probes.every((p) => p.synced), 20000)
    written += probes.filter((p) => p.synced).length
    for (const peer of [...batch, ...probes]) peer.destroy()
  }
  await sleep(DORMANT_WAIT_MS)
  await settle(server, 30000)
  const after = rssBytes(server.pid)
  return {
    server: server.name,
    rooms: k,
    written,
    rss_before: before,
    rss_after: after,
    per_room_bytes: before && after ? (after - before) / k : null
  }
}

// -- main -------------------------------------------------------------------------------------

const report = { awareness: opts.awareness, sizes, rounds, latency_updates: latencyUpdates, items: itemCount, servers: servers.map((s) => s.name), runs: [], skipped: [], idle_rooms: [] }
if (roomCount > 0) {
  for (const server of servers) {
    report.idle_rooms.push(await idleRooms(server, roomCount))
    log(`${server.name}: ${roomCount} idle rooms, ${Math.round((report.idle_rooms.at(-1).per_room_bytes ?? 0) / 1024)} KiB each`)
  }
}
for (const n of sizes) {
  for (let r = 0; r < rounds; r++) {
    // Rotated (A B C, B C A, C A B): each server opens as many rounds as the others, and
    // a drift in the machine's speed falls on all alike. (A B C, C B A had one server open
    // two rounds in three, on a cold harness in the first: it priced the gate at 0.5-0.6x
    // in the rounds it opened and 0.85-0.89x in those it closed.)
    const order = servers.map((_, i) => servers[(i + r) % servers.length])
    for (const server of order) {
      if (now() > runDeadline) {
        report.skipped.push({ server: server.name, n, round: r })
        continue
      }
      try {
        report.runs.push(await round(server, n, r))
      } catch (error) {
        log(`${server.name} n=${n} r=${r}: ${error?.stack ?? error}`)
        report.runs.push({ server: server.name, n, round: r, error: String(error?.message ?? error) })
        await settle(server)
      }
    }
  }
}
process.stdout.write(JSON.stringify(report) + '\n')
process.exit(0)
