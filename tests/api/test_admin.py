"""The admin JSON API (CONTRACT §11): the track library, playlists, moderation, who may.

A server of this module's own: these tests change the track library.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, seed_tracks
from tests.realtime.conftest import Rest, event_socket
from tests.realtime.peer import ypeer

from .conftest import assert_error

pytestmark = pytest.mark.timeout(120)

NEW_TRACK = {
    "title": "Admin Song",
    "artist": "The Moderators",
    "album": "Backstage",
    "duration_seconds": 201,
    "genre": "Rock",
    "cover_url": None,
}


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db: Path = tmp_path_factory.mktemp("admin") / "playsync.db"
    proc = ServerProcess(db_path=db)
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def admin(admin_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{admin_server.base_url}/api/admin", timeout=30) as client:
        yield client


@pytest.fixture
def public(admin_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=admin_server.base_url, timeout=30) as client:
        yield client


def name() -> str:
    return f"adm-{uuid.uuid4().hex[:10]}"


# -- the track library --------------------------------------------------------------------


def test_a_track_added_edited_and_removed_shows_in_the_public_library(admin, public):
    added = admin.post("/tracks/", json=NEW_TRACK)
    assert added.status_code == 201, added.text
    track = added.json()
    assert {k: track[k] for k in NEW_TRACK} == NEW_TRACK
    assert track["duration_formatted"] == "3:21" and track["id"] > 35
    assert public.get(f"/api/tracks/{track['id']}/").json() == track

    edited = admin.patch(f"/tracks/{track['id']}/", json={"title": "Renamed", "genre": "Jazz"})
    assert edited.status_code == 200, edited.text
    assert edited.json() == {**track, "title": "Renamed", "genre": "Jazz"}
    assert public.get("/api/tracks/", params={"search": "renamed"}).json() == [edited.json()]

    assert admin.delete(f"/tracks/{track['id']}/").status_code == 204
    assert_error(public.get(f"/api/tracks/{track['id']}/"), 404)
    assert_error(admin.delete(f"/tracks/{track['id']}/"), 404, "NOT_FOUND")


def test_an_edited_track_shows_in_playlist_items_at_once(admin, public):
    playlist = name()
    track = admin.post("/tracks/", json=NEW_TRACK).json()
    item = public.post(f"/api/playlists/{playlist}/", json={"track_id": track["id"]}).json()
    assert public.get(f"/api/playlists/{playlist}/").json()[0]["track"]["title"] == "Admin Song"
    admin.patch(f"/tracks/{track['id']}/", json={"title": "New Title"})
    listed = public.get(f"/api/playlists/{playlist}/").json()
    assert listed[0]["track"]["title"] == "New Title"
    # Removed from the library, the item stays and shows its own copy of the track.
    admin.delete(f"/tracks/{track['id']}/")
    kept = public.get(f"/api/playlists/{playlist}/{item['id']}/").json()
    assert kept["track_id"] == track["id"] and kept["track"]["title"] == "Admin Song"


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"genre": "g" * 51},
        {"duration_seconds": 0},
        {"duration_seconds": 1.5},
        {"duration_seconds": "200"},
        {"duration_seconds": True},
        {"duration_seconds": 10**400},
        {"cover_url": "javascript:alert(1)"},
        {"cover_url": 5},
        {"artist": None},
        {"bogus": 1},
    ],
)
def test_a_bad_track_is_a_400_and_changes_nothing(admin, public, change):
    before = public.get("/api/tracks/").json()
    assert_error(admin.post("/tracks/", json={**NEW_TRACK, **change}), 400, "VALIDATION_ERROR")
    if "bogus" not in change:
        assert_error(admin.patch("/tracks/1/", json=change), 400, "VALIDATION_ERROR")
    assert public.get("/api/tracks/").json() == before


def test_malformed_json_and_unknown_tracks(admin):
    response = admin.post("/tracks/", content=b"{", headers={"Content-Type": "application/json"})
    assert_error(response, 400, "INVALID_JSON")
    assert_error(admin.patch("/tracks/99999/", json={"title": "x"}), 404, "NOT_FOUND")
    # An id no database column can hold is no track either (not a database error).
    assert_error(admin.delete(f"/tracks/{10**20}/"), 404, "NOT_FOUND")


# -- playlists -------------------------------------------------------------------------------


def test_playlists_list_items_peers_and_stored_size(admin, public):
    playlist = name()
    for track in (1, 2, 3):
        public.post(f"/api/playlists/{playlist}/", json={"track_id": track})
    row = next(p for p in admin.get("/playlists/").json() if p["name"] == playlist)
    assert row["items"] == 3 and row["peers"] == 0 and row["stored_bytes"] > 0
    assert row["auto_sort_by_votes"] is False and row["created_at"]


async def test_peers_online_are_counted(admin_server):
    playlist = name()
    async with (
        httpx.AsyncClient(base_url=admin_server.base_url, timeout=30) as client,
        ypeer(admin_server.ws_url, playlist) as peer,
    ):
        peer.add(4, 1.0)
        async with asyncio.timeout(10):
            while True:
                rows = (await client.get("/api/admin/playlists/")).json()
                row = next((p for p in rows if p["name"] == playlist), None)
                if row and row["items"] == 1:
                    break
                await asyncio.sleep(0.05)
        assert row["peers"] == 1


def test_export_then_import_into_another_playlist_gives_the_same_playlist(admin, public):
    source, target = name(), name()
    a = public.post(f"/api/playlists/{source}/", json={"track_id": 5, "added_by": "ann"}).json()
    b = public.post(f"/api/playlists/{source}/", json={"track_id": 6}).json()
    for _ in range(3):
        public.post(f"/api/playlists/{source}/{b['id']}/vote/", json={"direction": "up"})
    public.post(f"/api/playlists/{source}/{a['id']}/vote/", json={"direction": "down"})
    public.post(f"/api/playlists/{source}/{a['id']}/play/")
    public.patch(f"/api/playlists/{source}/settings/", json={"auto_sort_by_votes": True})
    exported = admin.get(f"/playlists/{source}/export/")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    data = exported.json()
    assert data["version"] == 1 and len(data["items"]) == 2 and data["now_playing"] == a["id"]

    imported = admin.post(f"/playlists/{target}/import/", json=data)
    assert imported.status_code == 200, imported.text
    assert (
        public.get(f"/api/playlists/{target}/").json()
        == public.get(f"/api/playlists/{source}/").json()
    )
    assert public.get(f"/api/playlists/{target}/settings/").json() == {"auto_sort_by_votes": True}
    # Importing again replaces, never duplicates.
    admin.post(f"/playlists/{target}/import/", json=data)
    assert len(public.get(f"/api/playlists/{target}/").json()) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"items": "nope"},
        {"items": [{"id": "x", "track_id": "a", "position": 1}]},
        {"items": [{"id": "x", "track_id": 1, "position": "1"}]},
        {"items": [{"id": "x", "track_id": 1, "position": 1, "votes": 1.5}]},
        {
            "items": [
                {"id": "x", "track_id": 1, "position": 1},
                {"id": "x", "track_id": 2, "position": 2},
            ]
        },
        {
            "items": [
                {"id": "x", "track_id": 1, "position": 1},
                {"id": "y", "track_id": 1, "position": 2},
            ]
        },
        {"items": [{"id": "x", "track_id": 1, "position": 1}], "now_playing": "z"},
        {"items": [{"id": "x", "track_id": 1, "position": 1}], "now_playing": ["x"]},
        {"items": [{"id": "x", "track_id": 1, "position": 1, "added_by": "a" * 101}]},
        {"items": [{"id": "x", "track_id": 1, "position": 1, "added_at": "not a date"}]},
        {"items": [{"id": "x", "track_id": 1, "position": 1, "played_at": "zzz"}]},
        {"items": [{"id": "x", "track_id": 1, "position": 1, "added_at": 5}]},
        {"items": [{"id": "x", "track_id": 1, "position": 1, "added_at": None}]},
        {"version": 2, "items": []},
    ],
)
def test_a_bad_import_is_a_400_and_writes_nothing(admin, public, change):
    playlist = name()
    item = public.post(f"/api/playlists/{playlist}/", json={"track_id": 7}).json()
    assert_error(admin.post(f"/playlists/{playlist}/import/", json=change), 400)
    assert public.get(f"/api/playlists/{playlist}/").json() == [item]


def test_an_import_naming_an_unknown_track_is_a_400(admin):
    body = {"items": [{"id": "x", "track_id": 99999, "position": 1}]}
    assert_error(admin.post(f"/playlists/{name()}/import/", json=body), 400, "TRACK_NOT_FOUND")


def test_deleting_an_unused_playlist_drops_it(admin, public):
    playlist = name()
    public.post(f"/api/playlists/{playlist}/", json={"track_id": 8})
    assert admin.delete(f"/playlists/{playlist}/").status_code == 204
    assert playlist not in {p["name"] for p in public.get("/api/playlists/").json()}
    assert playlist not in {p["name"] for p in admin.get("/playlists/").json()}
    assert public.get(f"/api/playlists/{playlist}/").json() == []
    # The name can be used again from scratch.
    again = public.post(f"/api/playlists/{playlist}/", json={"track_id": 8})
    assert again.status_code == 201
    assert len(public.get(f"/api/playlists/{playlist}/").json()) == 1


async def test_deleting_a_playlist_in_use_empties_it_for_everyone(admin_server):
    playlist = name()
    async with httpx.AsyncClient(base_url=admin_server.base_url, timeout=30) as client:
        rest = Rest(client, playlist)
        await rest.add(9)
        await rest.add(10)
        async with event_socket(admin_server.ws_url, playlist) as ev:
            response = await client.delete(f"/api/admin/playlists/{playlist}/")
            assert response.status_code == 200 and response.json()["status"] == "cleared"
            removed = [await ev.next(), await ev.next()]
            assert {m["type"] for m in removed} == {"track.removed"}
        assert await rest.list() == []


# -- moderation ------------------------------------------------------------------------------


async def test_moderation_removes_resets_votes_and_stops_with_events(admin_server):
    playlist = name()
    async with httpx.AsyncClient(base_url=admin_server.base_url, timeout=30) as client:
        rest = Rest(client, playlist)
        a = await rest.add(11)
        b = await rest.add(12)
        for _ in range(3):
            await rest.vote(a["id"], "up")
        await rest.play(b["id"])
        base = f"/api/admin/playlists/{playlist}"
        async with event_socket(admin_server.ws_url, playlist) as ev:
            reset = await client.post(f"{base}/items/{a['id']}/reset-votes/")
            assert reset.json() == {"id": a["id"], "votes": 0}
            voted = await ev.next()
            assert voted["type"] == "track.voted" and voted["payload"]["votes"] == 0
            # Votes after a reset count from zero.
            assert (await rest.vote(a["id"], "up"))["votes"] == 1
            await ev.next()
            assert (await client.post(f"{base}/stop/")).json() == {"status": "stopped"}
            stopped = await ev.next()
            assert stopped["payload"] == {"id": b["id"], "is_playing": False}
            assert (await client.delete(f"{base}/items/{b['id']}/")).status_code == 204
            assert (await ev.next())["payload"] == {"id": b["id"]}
            assert_error(await client.delete(f"{base}/items/{b['id']}/"), 404, "NOT_FOUND")
        assert [i["id"] for i in await rest.list()] == [a["id"]]


# -- who may -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "203.0.113.9"},
        {"Forwarded": "for=203.0.113.9"},
        {"Host": "evil.example"},
    ],
)
def test_not_from_the_servers_own_host_is_a_403(admin, headers):
    assert_error(admin.get("/tracks/", headers=headers), 403, "FORBIDDEN")
    assert_error(admin.post("/tracks/", json=NEW_TRACK, headers=headers), 403, "FORBIDDEN")


def test_the_admin_page_is_served(public):
    page = public.get("/admin/")
    assert page.status_code == 200 and "playsync admin" in page.text
    assert public.get("/admin/admin.js").status_code == 200


async def test_a_yjs_peer_sees_moderation_and_an_import(admin_server):
    playlist = name()
    async with (
        httpx.AsyncClient(base_url=admin_server.base_url, timeout=30) as client,
        ypeer(admin_server.ws_url, playlist) as peer,
    ):
        rest = Rest(client, playlist)
        a = await rest.add(13)
        b = await rest.add(14)
        peer.vote(a["id"], 2)
        await peer.wait_until(lambda: peer.item(b["id"]) is not None)
        async with asyncio.timeout(10):
            while (await rest.get(a["id"]))["votes"] != 2:
                await asyncio.sleep(0.05)
        base = f"/api/admin/playlists/{playlist}"
        await client.post(f"{base}/items/{a['id']}/reset-votes/")
        await peer.wait_until(lambda: peer.votes(a["id"]) == 0)
        await client.delete(f"{base}/items/{b['id']}/")
        await peer.wait_until(lambda: peer.item(b["id"]) is None)
        # The peer's own vote key still counts: a vote after the reset is +1.
        peer.vote(a["id"], 1)
        async with asyncio.timeout(10):
            while (await rest.get(a["id"]))["votes"] != 1:
                await asyncio.sleep(0.05)
        export = (await client.get(f"{base}/export/")).json()
        export["items"].append({"id": "imported", "track_id": 15, "position": 9.0, "votes": 4})
        assert (await client.post(f"{base}/import/", json=export)).status_code == 200
        await peer.wait_until(lambda: peer.votes("imported") == 4 and peer.votes(a["id"]) == 1)
