// Rendering: the library, the playlist, the summary line and the now-playing bar.
// Rows are keyed (track id, item id) and updated in place, so a remote change does not
// rebuild the list under the pointer, a focused button or a drag in progress.
import { h, setText } from './dom.js'
import { formatDuration, formatTotal, hueOf, initials, timeAgo } from './format.js'

/** What an item shows: its own copy of the track, else the library's, else a placeholder. */
export const trackOf = (item, library) =>
  item.track ?? library.get(item.trackId) ?? { title: `Track #${item.trackId}`, artist: 'Unknown artist', album: '', duration_seconds: 0 }

function cover (track) {
  if (track.cover_url) return h('img.cover', { src: track.cover_url, alt: '', loading: 'lazy' })
  return h('span.cover', { style: `--hue: ${hueOf(track.album || track.title)}`, 'aria-hidden': 'true' }, initials(track.title))
}

/** Make `list`'s children match `keys`, creating and updating rows by key, in order. */
function syncRows (list, entries, keyOf, create, update) {
  const existing = new Map([...list.children].map((row) => [row.dataset.key, row]))
  let cursor = list.firstElementChild
  for (const entry of entries) {
    const key = String(keyOf(entry))
    let row = existing.get(key)
    existing.delete(key)
    if (!row) {
      row = create(entry)
      row.dataset.key = key
    }
    update(row, entry)
    if (row !== cursor) list.insertBefore(row, cursor)
    else cursor = cursor.nextElementSibling
  }
  for (const row of existing.values()) row.remove()
}

// ---------------------------------------------------------------- library

export function renderLibrary (list, tracks, { inPlaylist, onAdd }) {
  syncRows(
    list,
    tracks,
    (track) => track.id,
    (track) => h('li.track', { dataset: { trackId: track.id } },
      cover(track),
      h('div.meta', {},
        h('div.title', {}, track.title),
        h('div.sub', {}, `${track.artist} · ${track.album}`)),
      h('span.genre', {}, track.genre ?? ''),
      h('span.duration', {}, formatDuration(track.duration_seconds)),
      h('button.add', { type: 'button', onclick: () => onAdd(track) })),
    (row, track) => {
      const added = inPlaylist.has(track.id)
      const button = row.querySelector('button.add')
      button.disabled = added
      setText(button, added ? 'Added' : 'Add')
      button.title = added ? 'Already in the playlist' : `Add “${track.title}” to the playlist`
      row.classList.toggle('in-playlist', added)
    }
  )
}

export function renderGenres (select, genres) {
  const current = select.value
  select.replaceChildren(h('option', { value: '' }, 'All genres'), ...genres.map((g) => h('option', { value: g }, g)))
  select.value = genres.includes(current) ? current : ''
}

// ---------------------------------------------------------------- playlist

function createItemRow (item, actions) {
  const id = item.id
  return h('li.item', { draggable: true, tabIndex: 0, dataset: { id } },
    h('span.handle', { title: 'Drag to reorder (or Alt+↑ / Alt+↓)', 'aria-hidden': 'true' }, '⋮⋮'),
    h('span.cover-slot'),
    h('div.meta', {},
      h('div.title'),
      h('div.sub'),
      h('div.added')),
    h('span.duration'),
    h('div.vote', {},
      h('button.vote-up', { type: 'button', title: 'Vote up', 'aria-label': 'Vote up', onclick: () => actions.onVote(id, 1) }, '▲'),
      h('span.votes'),
      h('button.vote-down', { type: 'button', title: 'Vote down', 'aria-label': 'Vote down', onclick: () => actions.onVote(id, -1) }, '▼')),
    h('button.play', { type: 'button', onclick: () => actions.onPlayToggle(id) }),
    h('button.remove', { type: 'button', title: 'Remove from the playlist', 'aria-label': 'Remove', onclick: () => actions.onRemove(id) }, '✕'))
}

function updateItemRow (row, item, library) {
  const track = trackOf(item, library)
  row.dataset.trackId = item.trackId
  row.dataset.position = item.position
  row.classList.toggle('playing', item.isPlaying)
  const slot = row.querySelector('.cover-slot')
  if (slot.dataset.title !== track.title) {
    slot.dataset.title = track.title
    slot.replaceChildren(cover(track))
  }
  setText(row.querySelector('.title'), track.title)
  setText(row.querySelector('.sub'), [track.artist, track.album].filter(Boolean).join(' · '))
  setText(row.querySelector('.added'), `added by ${item.addedBy}${item.addedAt ? ` · ${timeAgo(item.addedAt)}` : ''}`)
  setText(row.querySelector('.duration'), formatDuration(track.duration_seconds))
  const votes = row.querySelector('.votes')
  setText(votes, item.votes)
  votes.classList.toggle('positive', item.votes > 0)
  votes.classList.toggle('negative', item.votes < 0)
  votes.title = `${item.votes} votes (yours: ${item.myVotes > 0 ? '+' : ''}${item.myVotes})`
  row.querySelector('.vote-up').classList.toggle('mine', item.myVotes > 0)
  row.querySelector('.vote-down').classList.toggle('mine', item.myVotes < 0)
  const play = row.querySelector('button.play')
  setText(play, item.isPlaying ? '■' : '▶')
  play.title = item.isPlaying ? 'Stop' : 'Play'
  play.setAttribute('aria-label', play.title)
}

export function renderPlaylist (list, items, library, actions) {
  syncRows(list, items, (item) => item.id, (item) => createItemRow(item, actions), (row, item) => updateItemRow(row, item, library))
}

export function totalSeconds (items, library) {
  return items.reduce((sum, item) => sum + (Number(trackOf(item, library).duration_seconds) || 0), 0)
}

export function renderSummary (el, items, library) {
  const seconds = totalSeconds(items, library)
  el.dataset.count = items.length
  el.dataset.seconds = seconds
  setText(el, items.length
    ? `${items.length} track${items.length === 1 ? '' : 's'} · ${formatTotal(seconds)} (${formatDuration(seconds)})`
    : 'empty')
}

// ---------------------------------------------------------------- now playing

export function renderNowPlaying (bar, playlist, library, now = Date.now()) {
  const item = playlist.playing
  bar.classList.toggle('idle', !item)
  bar.dataset.itemId = item?.id ?? ''
  const art = bar.querySelector('.np-cover')
  const title = bar.querySelector('.np-title')
  const sub = bar.querySelector('.np-sub')
  const elapsedEl = bar.querySelector('.np-elapsed')
  const totalEl = bar.querySelector('.np-total')
  const progress = bar.querySelector('.np-progress')
  if (!item) {
    art.replaceChildren(h('span.cover.empty', { 'aria-hidden': 'true' }, '♪'))
    art.dataset.title = ''
    setText(title, 'Nothing playing')
    setText(sub, 'Press ▶ on a track in the playlist')
    setText(elapsedEl, '')
    setText(totalEl, '')
    progress.value = 0
    return
  }
  const track = trackOf(item, library)
  if (art.dataset.title !== track.title) {
    art.dataset.title = track.title
    art.replaceChildren(cover(track))
  }
  setText(title, track.title)
  setText(sub, `${track.artist} · added by ${item.addedBy}`)
  const duration = Number(track.duration_seconds) || 0
  const started = Date.parse(playlist.startedAt ?? item.playedAt ?? '')
  const elapsed = Number.isFinite(started) ? Math.min(duration, Math.max(0, (now - started) / 1000)) : 0
  setText(elapsedEl, formatDuration(elapsed))
  setText(totalEl, formatDuration(duration))
  progress.max = duration || 1
  progress.value = elapsed
}
