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
 * `onStatus(state)` gets 'online' | 'offline' | 'reconnecting' | 'connecting'.
 */
export function connect (doc, room, { onStatus = () => {} } = {}) {
  const local = new IndexeddbPersistence(`playsync:${room}`, doc)
  const provider = new WebsocketProvider(yjsUrl(), room, doc, { connect: navigator.onLine })
  let everSynced = false

  const status = () => {
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
