// Formatting helpers: durations, relative times, per-name colours and cover art.

/** "M:SS", or "H:MM:SS" from an hour up (the API's duration_formatted for short tracks). */
export function formatDuration (seconds) {
  const s = Math.max(0, Math.round(seconds || 0))
  const hours = Math.floor(s / 3600)
  const minutes = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, '0')
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`
}

/** "1 h 23 min" style, for the playlist total. */
export function formatTotal (seconds) {
  const minutes = Math.round((seconds || 0) / 60)
  if (minutes < 60) return `${minutes} min`
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`
}

export function timeAgo (iso, now = Date.now()) {
  const then = Date.parse(iso)
  if (!Number.isFinite(then)) return ''
  const seconds = Math.max(0, Math.round((now - then) / 1000))
  if (seconds < 60) return 'just now'
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`
  return new Date(then).toLocaleDateString()
}

function hash (text) {
  let h = 2166136261
  for (const ch of String(text)) h = Math.imul(h ^ ch.codePointAt(0), 16777619)
  return h >>> 0
}

/** A stable hue for a name or a title. */
export const hueOf = (text) => hash(text) % 360

export function initials (text) {
  const words = String(text || '?').split(/\s+/).filter(Boolean)
  return (words.length > 1 ? words[0][0] + words[1][0] : String(text || '?').slice(0, 2)).toUpperCase()
}
