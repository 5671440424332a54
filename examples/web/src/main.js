// The playsync web client: one Y.Doc per playlist, synced with the server and kept offline.
import * as Y from 'yjs'

import { connect, playlistFromUrl, tokenFromUrl, tokenRole } from './connection.js'
import { $ } from './dom.js'
import { filterTracks, genresOf, loadLibrary } from './library.js'
import * as model from './model.js'
import { loadName, publishName, refreshOnReconnect, saveName, watchPresence } from './presence.js'
import { renderGenres, renderLibrary, renderNowPlaying, renderPlaylist, renderSummary } from './render.js'
import { enableReorder } from './reorder.js'
import './styles.css'

const room = playlistFromUrl()
const token = tokenFromUrl()
// A read token syncs and shows presence, but the server ignores its edits: offer none.
const readOnly = tokenRole(token) === 'read'
const doc = new Y.Doc()
const state = {
  name: loadName(),
  tracks: [],
  library: new Map(), // track id -> track
  autoSortDefault: false, // the server's order mode for playlists whose document sets none
  playlist: model.project(doc)
}
const project = () => model.project(doc, state.autoSortDefault)

const ui = {
  room: $('#room-name'),
  status: $('#status'),
  statusLabel: $('#status .label'),
  presence: $('#presence'),
  name: $('#name'),
  search: $('#search'),
  genre: $('#genre'),
  tracks: $('#library'),
  libraryNote: $('#library-note'),
  playlist: $('#playlist'),
  summary: $('#summary'),
  empty: $('#playlist-empty'),
  nowPlaying: $('#now-playing'),
  stop: $('#np-stop'),
  autoSort: $('#auto-sort')
}

// ---------------------------------------------------------------- actions

const actions = {
  onAdd (track) {
    const playlist = project()
    if (playlist.items.some((item) => item.trackId === track.id)) return
    model.addItem(doc, { trackId: track.id, addedBy: state.name, track: model.trackCopy(track) })
  },
  onVote: (id, delta) => model.vote(doc, id, delta),
  onPlayToggle (id) {
    if (project().nowPlaying === id) model.stop(doc)
    else model.play(doc, id)
  },
  onRemove: (id) => model.removeItem(doc, id),
  onMove (id, index) {
    if (!project().autoSort) model.moveToIndex(doc, id, index) // by votes, the order is not set by hand
  },
  onAutoSort: (enabled) => model.setAutoSort(doc, enabled)
}
if (readOnly) {
  for (const name of Object.keys(actions)) actions[name] = () => {}
  document.body.dataset.access = 'read'
}

// ---------------------------------------------------------------- rendering

function renderTracks () {
  const inPlaylist = new Set(state.playlist.items.map((item) => item.trackId))
  const shown = filterTracks(state.tracks, { search: ui.search.value, genre: ui.genre.value })
  renderLibrary(ui.tracks, shown, { inPlaylist, onAdd: actions.onAdd })
  ui.tracks.dataset.count = shown.length
}

function renderAll () {
  state.playlist = project()
  ui.autoSort.checked = state.playlist.autoSort
  ui.playlist.classList.toggle('auto-sorted', state.playlist.autoSort)
  renderPlaylist(ui.playlist, state.playlist.items, state.library, actions)
  ui.empty.hidden = state.playlist.items.length > 0
  renderSummary(ui.summary, state.playlist.items, state.library)
  renderNowPlaying(ui.nowPlaying, state.playlist, state.library)
  renderTracks()
}

let pending = false
function scheduleRender () {
  if (pending) return
  pending = true
  queueMicrotask(() => {
    pending = false
    renderAll()
  })
}

// ---------------------------------------------------------------- wiring

ui.room.textContent = room
document.title = `${room} · playsync`

const { provider, local, awareness } = connect(doc, room, {
  token,
  onStatus (status) {
    ui.status.dataset.state = status
    ui.statusLabel.textContent = { online: readOnly ? 'online (read-only)' : 'online', offline: 'offline', reconnecting: 'reconnecting…', connecting: 'connecting…', denied: 'access denied' }[status]
    ui.status.title = {
      online: readOnly ? 'Connected, read-only: your token allows no changes' : 'Connected: changes sync live',
      denied: 'The server refused this page\'s token (open it with ?token=… of a fitting one)'
    }[status] ?? 'Not connected: changes are kept on this device and merge when the connection is back'
  }
})

publishName(awareness, state.name)
refreshOnReconnect(provider)
watchPresence(awareness, ui.presence)
ui.name.value = state.name
ui.name.addEventListener('keydown', (event) => { if (event.key === 'Enter') ui.name.blur() })
ui.name.addEventListener('change', () => {
  const name = saveName(ui.name.value)
  if (!name) {
    ui.name.value = state.name
    return
  }
  state.name = ui.name.value = name
  publishName(awareness, name)
})

ui.search.addEventListener('input', renderTracks)
ui.genre.addEventListener('change', renderTracks)
ui.stop.addEventListener('click', () => { if (!readOnly) model.stop(doc) })
ui.autoSort.addEventListener('change', () => actions.onAutoSort(ui.autoSort.checked))
enableReorder(ui.playlist, actions.onMove)

model.itemsMap(doc).observeDeep(scheduleRender)
model.playbackMap(doc).observe(scheduleRender)
model.settingsMap(doc).observe(scheduleRender)
setInterval(() => renderNowPlaying(ui.nowPlaying, state.playlist, state.library), 1000)
setInterval(renderAll, 60_000) // keeps "added … min ago" current
renderAll()

async function refreshLibrary () {
  try {
    const { tracks, fromCache } = await loadLibrary(undefined, { token })
    state.tracks = tracks
    state.library = new Map(tracks.map((t) => [t.id, t]))
    renderGenres(ui.genre, genresOf(tracks))
    ui.libraryNote.textContent = fromCache ? 'Offline: showing the library saved on this device.' : ''
    renderAll()
  } catch (error) {
    ui.libraryNote.textContent = `The library could not be loaded (${error.message}); it will be retried when back online.`
  }
}
refreshLibrary()

// The server's default order applies while the document sets none (a playlist no REST write
// has touched yet); once it is in the document, every client reads it from there.
const settingsHeaders = { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }
fetch(`/api/playlists/${room}/settings/`, { headers: settingsHeaders })
  .then((response) => (response.ok ? response.json() : null))
  .then((settings) => {
    if (settings && typeof settings.auto_sort_by_votes === 'boolean') {
      state.autoSortDefault = settings.auto_sort_by_votes
      scheduleRender()
    }
  })
  .catch(() => {}) // offline: the document's mode (or by position) until the next load
addEventListener('online', () => { if (!state.tracks.length) refreshLibrary() })

// For the console and the browser tests: the document and its providers.
window.playsync = { doc, provider, local, awareness, room, readOnly, model, snapshot: project }
