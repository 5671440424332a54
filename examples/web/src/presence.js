// Who you are (a name kept in localStorage, used as `added_by`) and who else is here
// (Yjs awareness: every peer publishes {user: {name, hue}}).
import { h } from './dom.js'
import { hueOf, initials } from './format.js'

const NAME_KEY = 'playsync:name'
export const MAX_NAME = 100 // the REST API's limit for added_by

export function loadName () {
  const stored = localStorage.getItem(NAME_KEY)
  if (stored && stored.trim()) return stored.trim().slice(0, MAX_NAME)
  const name = `Guest ${Math.floor(100 + Math.random() * 900)}`
  localStorage.setItem(NAME_KEY, name)
  return name
}

export function saveName (name) {
  const clean = name.trim().slice(0, MAX_NAME)
  if (clean) localStorage.setItem(NAME_KEY, clean)
  return clean
}

export function publishName (awareness, name) {
  awareness.setLocalStateField('user', { name, hue: hueOf(name) })
}

/** Other peers with a user state (the server's own empty state is not a person). */
export function peers (awareness) {
  const list = []
  for (const [clientId, state] of awareness.getStates()) {
    if (clientId === awareness.clientID) continue
    const user = state?.user
    if (user && typeof user.name === 'string') list.push({ clientId, name: user.name, hue: user.hue ?? hueOf(user.name) })
  }
  return list.sort((a, b) => a.name.localeCompare(b.name) || a.clientId - b.clientId)
}

function avatar ({ name, hue }, you = false) {
  return h('li.peer', {
    title: you ? `${name} (you)` : name,
    dataset: { name },
    style: `--hue: ${hue}`
  }, h('span.avatar', {}, initials(name)), h('span.peer-name', {}, you ? `${name} (you)` : name))
}

export function renderPresence (list, awareness) {
  const me = awareness.getLocalState()?.user
  const others = peers(awareness)
  list.replaceChildren(...(me ? [avatar(me, true)] : []), ...others.map((p) => avatar(p)))
  list.dataset.count = String(others.length)
  list.title = others.length ? `Here now: ${others.map((p) => p.name).join(', ')}` : 'Nobody else is here'
}

/** Keep `list` showing who is here; returns an unsubscribe function. */
export function watchPresence (awareness, list) {
  const render = () => renderPresence(list, awareness)
  awareness.on('change', render)
  render()
  return () => awareness.off('change', render)
}

/**
 * Presence after a reconnect (yjs/y-websocket#122): the provider drops the other peers' states
 * when the connection goes, but keeps their clocks, so the server's "who is here" greeting
 * (same clocks) would be ignored until each peer renews its state, up to 30 s later. Forget those
 * clocks and tick our own on every new connection, so both sides show each other at once.
 */
export function refreshOnReconnect (provider) {
  const { awareness } = provider
  provider.on('status', ({ status }) => {
    if (status !== 'connected') return
    for (const clientId of [...awareness.meta.keys()]) {
      if (clientId !== awareness.clientID && !awareness.states.has(clientId)) awareness.meta.delete(clientId)
    }
    const local = awareness.getLocalState()
    if (local) awareness.setLocalState(local)
  })
}
