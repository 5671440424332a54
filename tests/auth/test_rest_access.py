"""REST with ``--auth-secret`` (CONTRACT §8): every route, every kind of token.

A missing, malformed, forged or expired token is 401 ``UNAUTHORIZED``; a valid one
for another playlist, or a ``read`` token on a write, is 403 ``FORBIDDEN``, and a
refused write changes nothing. The track library and the list of playlists belong
to no one playlist: any valid token reads them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest

from server.app import create_app
from server.settings import Settings

from ..api.conftest import assert_error
from .conftest import KINDS, REFUSED_401, SECRET, bearer, token, token_of

SETUP_TRACK, ADD_TRACK = 1, 2


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {base}: the playlist's prefix; {item}: an item of it
    body: dict | None
    success: int
    scoped: bool = True  # in one playlist (else: the library, the list of playlists)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


PLAYLIST_ROUTES = (
    Route("GET", "{base}/", None, 200),
    Route("POST", "{base}/", {"track_id": ADD_TRACK}, 201),
    Route("GET", "{base}/{item}/", None, 200),
    Route("PATCH", "{base}/{item}/", {"position": 7.5}, 200),
    Route("DELETE", "{base}/{item}/", None, 204),
    Route("POST", "{base}/{item}/vote/", {"direction": "up"}, 200),
    Route("POST", "{base}/{item}/play/", None, 200),
    Route("POST", "{base}/stop/", None, 200),
    Route("GET", "{base}/history/", None, 200),
)
UNSCOPED_ROUTES = (
    Route("GET", "/api/tracks/", None, 200, scoped=False),
    Route("GET", "/api/tracks/1/", None, 200, scoped=False),
    Route("GET", "/api/playlists/", None, 200, scoped=False),
)
PUBLIC = ("/health", "/api/openapi.json", "/api/docs/", "/")
NEW_TRACK = {
    "title": "Token Song",
    "artist": "The Admins",
    "album": "Scoped",
    "duration_seconds": 180,
    "genre": "Pop",
}
# scoped: moderation of the playlist under test; else the library or every playlist ('*').
ADMIN_ROUTES = (
    Route("GET", "/api/admin/tracks/", None, 200, scoped=False),
    Route("POST", "/api/admin/tracks/", NEW_TRACK, 201, scoped=False),
    Route("GET", "/api/admin/playlists/", None, 200, scoped=False),
    Route("GET", "/api/admin/playlists/{name}/export/", None, 200),
    Route("POST", "/api/admin/playlists/{name}/items/{item}/reset-votes/", None, 200),
    Route("POST", "/api/admin/playlists/{name}/stop/", None, 200),
)


def expected_status(kind: str, route: Route) -> int:
    if kind in REFUSED_401:
        return 401
    if kind == "wrong-playlist" and route.scoped:
        return 403
    if kind == "read" and route.method != "GET":
        return 403
    return route.success


NAMED = f"auth-{uuid.uuid4().hex[:10]}"  # the named playlist of this module's run


def prepare(admin: httpx.Client, base: str) -> str:
    """The playlist holds the setup item and not the track the add route adds: its id."""
    items = admin.get(f"{base}/").json()
    for item in items:
        if item["track_id"] == ADD_TRACK:
            assert admin.delete(f"{base}/{item['id']}/").status_code == 204
    setup = [item["id"] for item in items if item["track_id"] == SETUP_TRACK]
    if setup:
        return setup[0]
    return admin.post(f"{base}/", json={"track_id": SETUP_TRACK}).json()["id"]


def assert_refusal(response: httpx.Response, status: int) -> None:
    if status == 401:
        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    else:
        assert_error(response, 403, "FORBIDDEN")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mount", ["default", "named"])
@pytest.mark.parametrize("route", PLAYLIST_ROUTES, ids=str)
def test_a_playlist_route_answers_each_kind_of_token_as_the_contract_says(
    admin: httpx.Client, anonymous: httpx.Client, route: Route, mount: str, kind: str
) -> None:
    name = "default" if mount == "default" else NAMED
    base = "/api/playlist" if mount == "default" else f"/api/playlists/{name}"
    item = prepare(admin, base)
    before = admin.get(f"{base}/").json()

    response = anonymous.request(
        route.method,
        route.path.format(base=base, item=item),
        json=route.body,
        headers=bearer(token_of(kind, name)),
    )

    status = expected_status(kind, route)
    if status in (401, 403):
        assert_refusal(response, status)
        assert admin.get(f"{base}/").json() == before, "a refused request changed the playlist"
    else:
        assert response.status_code == status, response.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("route", UNSCOPED_ROUTES, ids=str)
def test_the_library_and_the_playlist_list_need_any_valid_token(
    anonymous: httpx.Client, route: Route, kind: str
) -> None:
    response = anonymous.request(
        route.method, route.path, headers=bearer(token_of(kind, "default"))
    )
    status = expected_status(kind, route)
    if status in (401, 403):
        assert_refusal(response, status)
    else:
        assert response.status_code == status, response.text


def expected_admin_status(kind: str, route: Route) -> int:
    """The admin role alone: of the playlist to moderate it, of '*' for what is in no one."""
    if kind in REFUSED_401:
        return 401
    if kind == "admin" and route.scoped:
        return route.success
    return 403


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=str)
def test_the_admin_api_answers_the_admin_role_only(
    admin: httpx.Client, anonymous: httpx.Client, route: Route, kind: str
) -> None:
    """With --auth-secret the token decides (CONTRACT §11): a write token is a 403."""
    base = f"/api/playlists/{NAMED}"
    item = prepare(admin, base)
    admin.post(f"{base}/{item}/vote/", json={"direction": "up"})
    admin.post(f"{base}/{item}/play/")
    before = admin.get(f"{base}/").json()
    library = admin.get("/api/tracks/").json()

    response = anonymous.request(
        route.method,
        route.path.format(name=NAMED, item=item),
        json=route.body,
        headers=bearer(token_of(kind, NAMED)),
    )

    status = expected_admin_status(kind, route)
    if status in (401, 403):
        assert_refusal(response, status)
        assert admin.get(f"{base}/").json() == before, "a refused request changed the playlist"
        assert admin.get("/api/tracks/").json() == library, "a refused request changed tracks"
    else:
        assert response.status_code == status, response.text


def test_an_admin_token_for_every_playlist_reaches_the_whole_admin_api(admin) -> None:
    """The '*' admin: every route, from anywhere (the token decides, not the address)."""
    item = prepare(admin, f"/api/playlists/{NAMED}")
    for route in ADMIN_ROUTES:
        path = route.path.format(name=NAMED, item=item)
        for headers in ({}, {"X-Forwarded-For": "203.0.113.9", "Host": "playsync.example"}):
            response = admin.request(route.method, path, json=route.body, headers=headers)
            assert response.status_code == route.success, (route, headers, response.text)
            if route.method == "POST" and route.path == "/api/admin/tracks/":
                added = response.json()["id"]
                assert admin.delete(f"/api/admin/tracks/{added}/").status_code == 204


@pytest.mark.parametrize("path", PUBLIC)
def test_health_the_api_description_and_the_page_need_no_token(anonymous, path: str) -> None:
    assert anonymous.get(path).status_code == 200


def _placeholder(rule_path: str) -> str:
    """A concrete URL of a route: a playlist name, an item id or a number for each argument."""
    values = {"name": "default", "id": "1"}
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values.get(m[1], "x"), rule_path)


def test_no_api_route_answers_without_a_token(anonymous) -> None:
    """Every route under /api/ of the app (new ones included), every method: 401."""
    app = create_app(Settings(auth_secret=SECRET))
    checked = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in PUBLIC or rule.websocket:
            continue
        path = _placeholder(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = anonymous.request(method, path, json={} if method != "GET" else None)
            assert response.status_code == 401, (method, path, response.text[:200])
            checked.append(f"{method} {path}")
    assert len(checked) >= 20, checked  # both mounts of the playlist routes, and the rest


def test_a_token_is_read_from_the_authorization_header_only(server, admin, playlist) -> None:
    """``?token=`` is for the streams (browsers cannot set headers there), not for REST."""
    read = token(playlist, "read")
    response = httpx.get(f"{server.base_url}/api/playlists/{playlist}/?token={read}")
    assert_refusal(response, 401)
    response = httpx.get(
        f"{server.base_url}/api/playlists/{playlist}/", headers={"Authorization": f"Basic {read}"}
    )
    assert_refusal(response, 401)


def test_a_star_token_reaches_every_playlist_with_its_role(server, admin) -> None:
    names = [f"auth-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    write_all = bearer(token("*", "write"))
    read_all = bearer(token("*", "read"))
    for name in names:
        url = f"{server.base_url}/api/playlists/{name}/"
        assert httpx.post(url, json={"track_id": 3}, headers=write_all).status_code == 201
        assert httpx.get(url, headers=read_all).status_code == 200
        assert_refusal(httpx.post(url, json={"track_id": 4}, headers=read_all), 403)


def test_added_by_defaults_to_the_tokens_subject(server, playlist) -> None:
    headers = bearer(token(playlist, "write", subject="carol"))
    url = f"{server.base_url}/api/playlists/{playlist}/"
    mine = httpx.post(url, json={"track_id": 5}, headers=headers).json()
    named = httpx.post(url, json={"track_id": 6, "added_by": "dave"}, headers=headers).json()
    assert mine["added_by"] == "carol"
    assert named["added_by"] == "dave"


def test_the_list_of_playlists_shows_only_what_the_token_may_read(server, admin) -> None:
    mine, theirs = (f"auth-{uuid.uuid4().hex[:10]}" for _ in range(2))
    for name in (mine, theirs):
        assert admin.post(f"/api/playlists/{name}/", json={"track_id": 7}).status_code == 201
    response = httpx.get(f"{server.base_url}/api/playlists/", headers=bearer(token(mine, "read")))
    names = [entry["name"] for entry in response.json()]
    assert mine in names and theirs not in names
    everything = [entry["name"] for entry in admin.get("/api/playlists/").json()]
    assert {mine, theirs} <= set(everything)


def test_a_cors_preflight_needs_no_token(anonymous) -> None:
    response = anonymous.options(
        "/api/playlist/",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200, response.text
    assert "authorization" in response.headers.get("Access-Control-Allow-Headers", "").lower()


def test_the_openapi_document_declares_the_bearer_scheme(anonymous) -> None:
    spec = anonymous.get("/api/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert {"bearerAuth": []} in spec["security"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":  # of the path, not an operation
                continue
            if path in PUBLIC or not path.startswith("/api/"):
                assert operation["security"] == [], (method, path)
                continue
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            if path.endswith("/stream"):
                assert "token" in [p.get("name") for p in operation["parameters"]], path
