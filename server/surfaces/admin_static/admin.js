// The admin page: the track library, the playlists, moderation. Every call goes to
// /api/admin/…; the server decides who may (CONTRACT §11). No framework, no build.

const $ = (selector) => document.querySelector(selector);
let moderated = null; // the playlist shown under "Moderation"
// With access control on, the page is opened as /admin/?token=<an admin token>.
const token = new URLSearchParams(location.search).get("token");
const auth = token ? { Authorization: `Bearer ${token}` } : {};

function say(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function call(method, path, body) {
  const response = await fetch(`/api/admin${path}`, {
    method,
    headers: body === undefined ? auth : { ...auth, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json();
  if (!response.ok) throw new Error(data.error ? `${data.error.code}: ${data.error.message}` : response.statusText);
  return data;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function button(row, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => onClick().catch((error) => say(error.message, true)));
  row.lastElementChild.append(b);
  return b;
}

// -- tracks ------------------------------------------------------------------------

async function loadTracks() {
  const tracks = await call("GET", "/tracks/");
  const body = $("#tracks tbody");
  body.replaceChildren();
  for (const track of tracks) {
    const row = document.createElement("tr");
    row.dataset.id = track.id;
    for (const text of [track.id, track.title, track.artist, track.album, track.duration_formatted, track.genre]) cell(row, text);
    cell(row, "");
    button(row, "Edit", async () => editTrack(track));
    button(row, "Remove", async () => {
      await call("DELETE", `/tracks/${track.id}/`);
      say(`Removed track ${track.id}`);
      await loadTracks();
    });
    body.append(row);
  }
}

function editTrack(track) {
  const form = $("#track-form");
  for (const field of ["id", "title", "artist", "album", "duration_seconds", "genre", "cover_url"]) {
    form.elements[field].value = track[field] ?? "";
  }
  $("#track-save").textContent = "Save track";
  $("#track-cancel").hidden = false;
}

function resetTrackForm() {
  $("#track-form").reset();
  $("#track-form").elements.id.value = "";
  $("#track-save").textContent = "Add track";
  $("#track-cancel").hidden = true;
}

async function saveTrack(event) {
  event.preventDefault();
  const form = event.target.elements;
  const fields = {
    title: form.title.value,
    artist: form.artist.value,
    album: form.album.value,
    duration_seconds: Number(form.duration_seconds.value),
    genre: form.genre.value,
    cover_url: form.cover_url.value || null,
  };
  const id = form.id.value;
  const track = id ? await call("PATCH", `/tracks/${id}/`, fields) : await call("POST", "/tracks/", fields);
  say(id ? `Saved track ${track.id}` : `Added track ${track.id}`);
  resetTrackForm();
  await loadTracks();
}

// -- playlists -----------------------------------------------------------------------

function kib(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function loadPlaylists() {
  const playlists = await call("GET", "/playlists/");
  const body = $("#playlists tbody");
  body.replaceChildren();
  for (const playlist of playlists) {
    const row = document.createElement("tr");
    row.dataset.name = playlist.name;
    for (const text of [playlist.name, playlist.items, playlist.peers, playlist.listeners, kib(playlist.stored_bytes)]) cell(row, text);
    cell(row, "");
    button(row, "Moderate", async () => moderate(playlist.name));
    button(row, "Export", async () => exportPlaylist(playlist.name));
    button(row, "Delete", async () => {
      if (!window.confirm(`Delete playlist ${playlist.name}?`)) return;
      const result = await call("DELETE", `/playlists/${encodeURIComponent(playlist.name)}/`);
      say(result ? `Emptied ${playlist.name} (clients connected: kept, empty)` : `Deleted ${playlist.name}`);
      if (moderated === playlist.name) $("#moderation").hidden = true;
      await loadPlaylists();
    });
    body.append(row);
  }
}

async function exportPlaylist(name) {
  const data = await call("GET", `/playlists/${encodeURIComponent(name)}/export/`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  link.download = `${name}.json`;
  link.click();
  URL.revokeObjectURL(link.href);
  say(`Exported ${name} (${data.items.length} items)`);
}

async function importPlaylist(event) {
  event.preventDefault();
  const form = event.target.elements;
  const name = form.name.value;
  const text = await form.file.files[0].text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error("That file is not JSON");
  }
  const result = await call("POST", `/playlists/${encodeURIComponent(name)}/import/`, body);
  say(`Imported ${result.items.length} items into ${name}`);
  event.target.reset();
  await loadPlaylists();
}

// -- moderation ------------------------------------------------------------------------

async function moderate(name) {
  moderated = name;
  $("#moderation").hidden = false;
  $("#moderation-name").textContent = name;
  const response = await fetch(`/api/playlists/${encodeURIComponent(name)}/`, { headers: auth });
  const data = await response.json();
  const items = Array.isArray(data) ? data : data.results;
  const body = $("#items tbody");
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    row.dataset.id = item.id;
    for (const text of [item.position, `${item.track.artist} – ${item.track.title}`, item.votes, item.added_by, item.is_playing ? "▶" : ""]) cell(row, text);
    cell(row, "");
    button(row, "Reset votes", async () => {
      await call("POST", `/playlists/${encodeURIComponent(name)}/items/${item.id}/reset-votes/`);
      say(`Votes of ${item.track.title} reset`);
      await moderate(name);
    });
    button(row, "Remove", async () => {
      await call("DELETE", `/playlists/${encodeURIComponent(name)}/items/${item.id}/`);
      say(`Removed ${item.track.title} from ${name}`);
      await moderate(name);
      await loadPlaylists();
    });
    body.append(row);
  }
}

async function stopPlayback() {
  await call("POST", `/playlists/${encodeURIComponent(moderated)}/stop/`);
  say(`Stopped playback of ${moderated}`);
  await moderate(moderated);
}

function guarded(handler) {
  return (event) => handler(event).catch((error) => say(error.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  $("#track-form").addEventListener("submit", guarded(saveTrack));
  $("#track-cancel").addEventListener("click", resetTrackForm);
  $("#import-form").addEventListener("submit", guarded(importPlaylist));
  $("#playlists-refresh").addEventListener("click", guarded(loadPlaylists));
  $("#moderation-stop").addEventListener("click", guarded(stopPlayback));
  Promise.all([loadTracks(), loadPlaylists()])
    .then(() => say("Ready"))
    .catch((error) => say(error.message, true));
});
