// Where the document lives: IndexedDB (offline copy, survives reloads) and the server's Yjs
// endpoint (y-websocket protocol at ws(s)://<this host>/yjs/<playlist>), plus the
// online / offline / reconnecting state shown in the header.
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'

export const PLAYLIST_NAME = /^[A-Za-z0-9_-]{1,64}$/

/** The playlist of `?playlist=NAME` (CONTRACT §2 names), `default` when absent or invalid. */
export function playlistFromUrl (href = location.href) {
  const name = new URL(href).searchParams.get('playlist')
  return name && PLAYLIST_NAME.test(name) ? name : 'default'
}

/** The access token of `?token=T` (CONTRACT §8), or null: a server without auth needs none. */
export function tokenFromUrl (href = location.href) {
  return new URL(href).searchParams.get('token') || null
}

/**
 * The role a token claims ('read' | 'write' | 'admin'), or null. Read without checking the
 * signature: the server checks every request; this only lets the page not offer what it ignores.
 */
export function tokenRole (token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    const role = JSON.parse(atob(payload)).role
    return ['read', 'write', 'admin'].includes(role) ? role : null
  } catch {
    return null
  }
}

export function yjsUrl (loc = location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/yjs`
}

/**
 * Connect `doc` to its local copy and to the server.
 *
 * When the browser reports that it went offline the provider is disconnected on purpose (edits
 * keep landing in the Y.Doc and IndexedDB), and it reconnects as soon as the browser is back
 * online, instead of waiting out y-websocket's backoff. On reconnect y-websocket exchanges state
 * vectors with the server, so both sides get exactly what they missed.
 *
 * `token` (from `?token=`) goes to the server as `?token=` (browsers cannot set headers on a
 * WebSocket); a server that refuses it closes with 4401 or 4403, after which y-websocket does not
 * reconnect, and the status is 'denied'.
 *
 * `onStatus(state)` gets 'online' | 'offline' | 'reconnecting' | 'connecting' | 'denied'.
 */
export function connect (doc, room, { token = null, onStatus = () => {} } = {}) {
  const local = new IndexeddbPersistence(`playsync:${room}`, doc)
  const params = token ? { token } : {}
  const provider = new WebsocketProvider(yjsUrl(), room, doc, { connect: navigator.onLine, params })
  let everSynced = false
  let denied = null

  const status = () => {
    if (denied) return 'denied'
    if (!navigator.onLine) return 'offline'
    if (provider.wsconnected && provider.synced) return 'online'
    return everSynced ? 'reconnecting' : 'connecting'
  }
  let last = null
  const update = () => {
    const now = status()
    if (now !== last) onStatus((last = now))
  }

  provider.on('status', update)
  provider.on('closed', (terminal) => {
    denied = terminal // { code, reason } of a 44xx close: reconnecting cannot help
    update()
  })
  provider.on('sync', (synced) => {
    if (synced) everSynced = true
    update()
  })
  addEventListener('offline', () => {
    provider.disconnect()
    update()
  })
  addEventListener('online', () => {
    provider.connect()
    update()
  })
  update()
  return { provider, local, awareness: provider.awareness, status }
}
