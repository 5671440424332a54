// The playlist document, schema v1 (shared/CONTRACT.md §5), on a Y.Doc.
//
// Mirrors the Python crdt/ package: the writes of crdt/operations.py and the read model of
// crdt/projection.py. These are the only functions of the client that write to the document.
//
//   items:    Y.Map<itemId, Y.Map{track_id, position, added_by, added_at, played_at,
//                                 votes: Y.Map<writerKey, net>, track?}>
//   playback: Y.Map{now_playing: itemId | null, started_at: ISO | null}
//   settings: Y.Map{auto_sort_by_votes: bool}
import * as Y from 'yjs'

export const DEFAULT_ADDED_BY = 'Anonymous'

export const itemsMap = (doc) => doc.getMap('items')
export const playbackMap = (doc) => doc.getMap('playback')
export const settingsMap = (doc) => doc.getMap('settings')

/** The document's order mode: true (by votes), false (by position), or null when it sets none
 * (then the server's default applies: GET /api/playlists/NAME/settings/ says which). */
export function readAutoSort (doc) {
  const value = settingsMap(doc).get('auto_sort_by_votes')
  return typeof value === 'boolean' ? value : null
}

/** This peer's key in every vote counter: it writes no other. */
export const writerKey = (doc) => String(doc.clientID)

export const nowIso = () => new Date().toISOString()

/** A random (v4) UUID; crypto.randomUUID exists only in secure contexts, this works anywhere. */
export function uuid4 () {
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

// ---------------------------------------------------------------- read model

const isFiniteNumber = (v) => typeof v === 'number' && Number.isFinite(v)

/** Sum of a PN-counter map; anything non-numeric counts as zero. */
export function voteTotal (votes) {
  if (!(votes instanceof Y.Map)) return 0
  let total = 0
  for (const value of votes.values()) if (isFiniteNumber(value)) total += value
  return Number.isFinite(total) ? Math.round(total) : 0
}

/** One entry of `items`, or null when it is unreadable (skipped, like the server does). */
export function readItem (id, value, nowPlaying, myKey) {
  if (!(value instanceof Y.Map)) return null
  const trackId = value.get('track_id')
  const position = value.get('position')
  if (!Number.isInteger(trackId) || !isFiniteNumber(position)) return null
  const addedBy = value.get('added_by')
  const addedAt = value.get('added_at')
  const playedAt = value.get('played_at')
  const track = value.get('track')
  const votes = value.get('votes')
  const mine = votes instanceof Y.Map ? votes.get(myKey) : undefined
  return {
    id,
    trackId,
    position,
    votes: voteTotal(votes),
    myVotes: isFiniteNumber(mine) ? Math.round(mine) : 0,
    addedBy: typeof addedBy === 'string' ? addedBy : DEFAULT_ADDED_BY,
    addedAt: typeof addedAt === 'string' ? addedAt : '',
    playedAt: typeof playedAt === 'string' && playedAt ? playedAt : null,
    isPlaying: id === nowPlaying,
    track: track && typeof track === 'object' && !Array.isArray(track) ? track : null
  }
}

const byPositionThenId = (a, b) =>
  a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
const byVotesThenPosition = (a, b) => b.votes - a.votes || byPositionThenId(a, b)

/**
 * The whole playlist: readable items in order, and the playback register. The order is by
 * position then id, or with auto-sort by votes (highest first), then position, then id.
 * `autoSortDefault`: the mode when the document sets none (the server's default).
 */
export function project (doc, autoSortDefault = false) {
  const playback = playbackMap(doc)
  const nowPlaying = typeof playback.get('now_playing') === 'string' ? playback.get('now_playing') : null
  const startedAt = typeof playback.get('started_at') === 'string' ? playback.get('started_at') : null
  const myKey = writerKey(doc)
  const items = []
  for (const [id, value] of itemsMap(doc).entries()) {
    const item = readItem(id, value, nowPlaying, myKey)
    if (item) items.push(item)
  }
  const autoSort = readAutoSort(doc) ?? autoSortDefault
  items.sort(autoSort ? byVotesThenPosition : byPositionThenId)
  const playing = items.find((item) => item.isPlaying) ?? null
  return { items, nowPlaying, startedAt, playing, autoSort }
}

// ---------------------------------------------------------------- positions

/** Where an append goes: last position + 1 (whatever the order shown), or 1.0 when empty. */
export const nextPosition = (items) =>
  items.length ? Math.max(...items.map((item) => item.position)) + 1 : 1

/** A position between two neighbours (either may be missing): midpoint, first − 1 or last + 1. */
export function positionBetween (before, after) {
  if (before && after) return (before.position + after.position) / 2
  if (after) return after.position - 1
  if (before) return before.position + 1
  return 1
}

/** The position that puts `itemId` at `index` of the list as it would be without it. */
export function positionForIndex (items, itemId, index) {
  const others = items.filter((item) => item.id !== itemId)
  const i = Math.max(0, Math.min(index, others.length))
  return positionBetween(others[i - 1], others[i])
}

// ---------------------------------------------------------------- writes

function item (doc, itemId) {
  const value = itemsMap(doc).get(itemId)
  if (!(value instanceof Y.Map)) throw new Error(`no playlist item ${itemId}`)
  return value
}

/** Add a track; without `position` it is appended. Returns the new item's id. */
export function addItem (doc, { trackId, addedBy, track = null, position = null, itemId = uuid4(), addedAt = nowIso() }) {
  doc.transact(() => {
    const entry = new Y.Map()
    entry.set('track_id', trackId)
    entry.set('position', position ?? nextPosition(project(doc).items))
    entry.set('added_by', addedBy || DEFAULT_ADDED_BY)
    entry.set('added_at', addedAt)
    entry.set('played_at', null)
    entry.set('votes', new Y.Map())
    if (track) entry.set('track', track)
    itemsMap(doc).set(itemId, entry)
  })
  return itemId
}

export function moveItem (doc, itemId, position) {
  if (!Number.isFinite(position)) throw new Error(`not a finite position: ${position}`)
  doc.transact(() => { item(doc, itemId).set('position', position) })
}

/** Move an item to `index` of the current order (midpoint of its new neighbours). */
export function moveToIndex (doc, itemId, index) {
  moveItem(doc, itemId, positionForIndex(project(doc).items, itemId, index))
}

/** Delete an item; playback stops if it was the playing one. */
export function removeItem (doc, itemId) {
  doc.transact(() => {
    item(doc, itemId)
    itemsMap(doc).delete(itemId)
    if (playbackMap(doc).get('now_playing') === itemId) stop(doc)
  })
}

/** Add `delta` to this peer's own key of the item's PN-counter (its running net total). */
export function vote (doc, itemId, delta) {
  doc.transact(() => {
    const entry = item(doc, itemId)
    let votes = entry.get('votes')
    if (!(votes instanceof Y.Map)) {
      votes = new Y.Map()
      entry.set('votes', votes)
    }
    const key = writerKey(doc)
    const current = votes.get(key)
    votes.set(key, (isFiniteNumber(current) ? current : 0) + delta)
  })
}

/** Make this item the playing one (last writer wins) and stamp its `played_at`. */
export function play (doc, itemId, now = nowIso()) {
  doc.transact(() => {
    item(doc, itemId).set('played_at', now)
    const playback = playbackMap(doc)
    playback.set('now_playing', itemId)
    playback.set('started_at', now)
  })
}

export function stop (doc) {
  doc.transact(() => {
    const playback = playbackMap(doc)
    if (playback.get('now_playing') != null) {
      playback.set('now_playing', null)
      playback.set('started_at', null)
    }
  })
}

/** Order the playlist by votes (true) or by position (false), for everyone. */
export function setAutoSort (doc, enabled) {
  doc.transact(() => { settingsMap(doc).set('auto_sort_by_votes', Boolean(enabled)) })
}

/** The plain-JSON copy of a library track that an item carries for display. */
export const trackCopy = (track) => ({
  title: track.title,
  artist: track.artist,
  album: track.album,
  duration_seconds: track.duration_seconds,
  genre: track.genre,
  cover_url: track.cover_url ?? null
})
