// The track library: read once from the REST API (GET /api/tracks/), kept in localStorage so the
// client still works offline, and filtered here with the API's own rules (search: case-insensitive
// substring of title, artist or album; genre: exact).

const CACHE_KEY = 'playsync:tracks'

/** Every track; follows `next` links when the server answers with pages (`--paginate`). */
async function fetchAll (url, token) {
  const headers = { Accept: 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  const tracks = []
  while (url) {
    const response = await fetch(url, { headers })
    if (!response.ok) throw new Error(`GET ${url}: ${response.status}`)
    const body = await response.json()
    if (Array.isArray(body)) return tracks.concat(body)
    tracks.push(...body.results)
    url = body.next
  }
  return tracks
}

function readCache () {
  try {
    const tracks = JSON.parse(localStorage.getItem(CACHE_KEY) ?? 'null')
    return Array.isArray(tracks) ? tracks : null
  } catch {
    return null
  }
}

/**
 * Load the library: `{tracks, fromCache}`, sending `token` (if any) as a Bearer token. Falls back
 * to the cached copy when the server cannot be reached; throws only when there is neither.
 */
export async function loadLibrary (baseUrl = '/api/tracks/', { token = null } = {}) {
  try {
    const tracks = await fetchAll(baseUrl, token)
    try {
      localStorage.setItem(CACHE_KEY, JSON.stringify(tracks))
    } catch { /* storage full or disabled: fine, just no offline copy */ }
    return { tracks, fromCache: false }
  } catch (error) {
    const cached = readCache()
    if (cached) return { tracks: cached, fromCache: true }
    throw error
  }
}

export function genresOf (tracks) {
  return [...new Set(tracks.map((t) => t.genre).filter(Boolean))].sort()
}

export function filterTracks (tracks, { search = '', genre = '' } = {}) {
  const needle = search.trim().toLowerCase()
  return tracks.filter((t) =>
    (!genre || t.genre === genre) &&
    (!needle || [t.title, t.artist, t.album].some((field) => String(field ?? '').toLowerCase().includes(needle)))
  )
}
