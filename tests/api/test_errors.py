"""Every error of CONTRACT §2: its status, its code, and the one error shape; plus a hostile batch.

Errors: ``{"error": {"code": "UPPER_SNAKE", "message": "…", "details": {…}}}``; client
mistakes are 4xx, never 500.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from .conftest import Playlist, assert_error, assert_error_shape, client_for, strict_json

JSON = {"content-type": "application/json"}


def _post_raw(api, url: str, body: bytes, content_type: str = "application/json"):
    return api.post(url, content=body, headers={"content-type": content_type})


# --- POST /api/playlists/{name}/: the add-item errors, in the order the contract lists them


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"{bad}",
        b"{'track_id': 1}",
        b'{"track_id": 1,}',
        b"track_id=1",
        b"\xff\xfe\x00{",
        b"[",
    ],
    ids=lambda body: repr(body)[:30],
)
def test_malformed_json_is_400_invalid_json(api, pl, body):
    assert_error(_post_raw(api, pl.url(), body), 400, "INVALID_JSON")
    assert pl.list() == []


def test_malformed_json_is_invalid_json_whatever_the_content_type_says(api, pl):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/json"):
        assert_error(_post_raw(api, pl.url(), b"{nope", content_type), 400, "INVALID_JSON")


def test_json_nested_deeper_than_the_decoder_handles_is_a_400_not_a_500(api, pl):
    body = b'{"track_id": ' + b"[" * 30000 + b"]" * 30000 + b"}"
    assert len(body) < 64 * 1024
    assert_error(_post_raw(api, pl.url(), body), 400, "INVALID_JSON")


@pytest.mark.parametrize(
    "body",
    [{}, {"added_by": "someone"}, {"track_id": None}, {"track": None}, {"position": 2}],
    ids=repr,
)
def test_a_body_without_a_track_is_400_missing_track_id(api, pl, body):
    assert_error(api.post(pl.url(), json=body), 400, "MISSING_TRACK_ID")


def test_an_empty_body_is_400_missing_track_id(api, pl):
    assert_error(api.post(pl.url()), 400, "MISSING_TRACK_ID")
    assert_error(_post_raw(api, pl.url(), b"   "), 400, "MISSING_TRACK_ID")


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "1.5",
        "",
        " ",
        "--5",
        "5-",
        "1e3",
        "²",
        "9" * 5000,
        1.5,
        -0.25,
        True,
        False,
        [1],
        {"id": 1},
    ],
    ids=lambda value: repr(value)[:20],
)
def test_a_track_id_that_is_not_an_integer_is_400_validation_error(api, pl, value):
    error = assert_error(api.post(pl.url(), json={"track_id": value}), 400, "VALIDATION_ERROR")
    assert error["message"]
    assert pl.list() == []


def test_the_track_alias_is_validated_like_track_id(api, pl):
    assert_error(api.post(pl.url(), json={"track": "abc"}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "body",
    [
        b'{"track_id": NaN}',
        b'{"track_id": Infinity}',
        b'{"track_id": -Infinity}',
        b'{"track_id": 1e400}',
        b'{"track_id": 1, "position": NaN}',
        b'{"track_id": 1, "position": 1e400}',
        b'{"track_id": 1, "position": ' + b"9" * 400 + b"}",
    ],
    ids=lambda body: body.decode()[:40],
)
def test_non_finite_and_overflowing_numbers_are_a_400_whose_body_is_strict_json(api, pl, body):
    response = _post_raw(api, pl.url(), body)
    assert_error(response, 400)  # assert_error parses strictly: no NaN/Infinity tokens
    assert pl.list() == []


@pytest.mark.parametrize("value", [0, -1, 36, 999999, "4040", 10**30, 10**400])
def test_a_track_not_in_the_library_is_400_track_not_found(api, pl, value):
    error = assert_error(api.post(pl.url(), json={"track_id": value}), 400, "TRACK_NOT_FOUND")
    assert error["details"].get("track_id") == int(value)
    assert pl.list() == []


@pytest.mark.parametrize(
    "again", [{"track_id": 3}, {"track": 3}, {"track_id": "3"}, {"track_id": 3.0}], ids=repr
)
def test_a_track_already_in_the_playlist_is_400_duplicate_track(api, pl, again):
    pl.add(3)
    error = assert_error(api.post(pl.url(), json=again), 400, "DUPLICATE_TRACK")
    assert error["message"] == "This track is already in the playlist"
    assert error["details"] == {"track_id": 3}
    assert [item["track_id"] for item in pl.list()] == [3]


def test_added_by_that_is_not_a_string_is_400(api, pl):
    for value in (5, ["x"], {"name": "x"}, True):
        assert_error(api.post(pl.url(), json={"track_id": 1, "added_by": value}), 400)
    assert pl.list() == []


@pytest.mark.parametrize("body", [b"[]", b"[1, 2]", b'"track"', b"42", b"true", b"null"])
def test_a_json_body_that_is_not_an_object_is_a_400(api, pl, body):
    assert_error(_post_raw(api, pl.url(), body), 400)
    item = pl.add(1)
    assert_error(api.patch(pl.url(item["id"]), content=body, headers=JSON), 400)
    assert_error(api.post(pl.url(item["id"], "vote"), content=body, headers=JSON), 400)
    assert api.delete(pl.url(item["id"])).status_code == 204


# --- an unknown item is a 404 before its body is read


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("PATCH", ()), ("DELETE", ()), ("POST", ("vote",)), ("POST", ("play",)), ("GET", ())],
)
@pytest.mark.parametrize("body", [b"{malformed", b"[]", b'{"position": "x", "direction": 7}'])
def test_an_unknown_item_is_404_not_found_even_with_a_bad_body(api, pl, method, suffix, body):
    pl.add(1)
    response = api.request(method, pl.url("no-such-item", *suffix), content=body, headers=JSON)
    assert_error(response, 404, "NOT_FOUND")


def test_a_malformed_body_to_a_known_item_is_400_invalid_json(api, pl):
    item = pl.add(2)
    for suffix in ((), ("vote",)):
        method = "PATCH" if not suffix else "POST"
        response = api.request(method, pl.url(item["id"], *suffix), content=b"{", headers=JSON)
        assert_error(response, 400, "INVALID_JSON")
    assert pl.get(item["id"]) == item


# --- body too large


def _too_large() -> bytes:
    return b'{"track_id": 1, "added_by": "' + b"x" * (70 * 1024) + b'"}'


def test_a_body_too_large_is_413_with_the_error_shape(api, pl):
    response = _post_raw(api, pl.url(), _too_large())
    assert_error(response, 413)
    assert pl.list() == []


def test_a_body_too_large_on_patch_and_vote_is_413(api, pl):
    item = pl.add(4)
    assert_error(api.patch(pl.url(item["id"]), content=_too_large(), headers=JSON), 413)
    response = api.post(pl.url(item["id"], "vote"), content=_too_large(), headers=JSON)
    assert_error(response, 413)
    assert pl.get(item["id"]) == item


def test_a_body_just_under_the_limit_is_read_and_validated(api, pl):
    body = b'{"track_id": 1, "added_by": "' + b"x" * (60 * 1024) + b'"}'
    assert_error(_post_raw(api, pl.url(), body), 400)  # added_by over 100 characters


# --- routing


def test_an_unknown_path_is_404_with_the_error_shape(api):
    for path in ("/api/nothing", "/api/nothing/", "/api/playlists/x/y/z/w/", "/nope"):
        assert_error(api.get(path), 404)


def test_a_wrong_method_is_a_4xx_with_the_error_shape(api, pl):
    item = pl.add(5)
    for method, path in [
        ("POST", "/api/tracks/"),
        ("DELETE", "/api/tracks/1/"),
        ("PUT", pl.url()),
        ("DELETE", pl.url()),
        ("PUT", pl.url(item["id"])),
        ("GET", pl.url("stop")),
        ("GET", pl.url(item["id"], "vote")),
        ("POST", "/health"),
        ("POST", "/api/playlists/"),
    ]:
        response = api.request(method, path)
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        assert_error_shape(response)


def test_a_wrong_method_gets_the_same_answer_with_and_without_the_trailing_slash(api, pl):
    item = pl.add(6)
    mismatches = []
    for method, path in [
        ("PUT", pl.url()),
        ("DELETE", pl.url()),
        ("PUT", pl.url(item["id"])),
        ("PATCH", "/api/tracks/1/"),
        ("PUT", "/api/playlists/"),
    ]:
        with_slash = api.request(method, path).status_code
        without = api.request(method, path.rstrip("/")).status_code
        if with_slash != without:
            mismatches.append((method, path, with_slash, without))
    assert mismatches == []


# --- keep-alive after an early answer


def _read_response(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """One HTTP/1.1 response (status line, body) from the socket, or None if it closed."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, body = buffer.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0], body


@pytest.mark.parametrize(
    ("method", "suffix"), [("PATCH", ("no-such-item",)), ("POST", ("stop",)), ("PUT", ())]
)
def test_the_connection_stays_usable_when_the_body_arrives_in_pieces(
    server, playlist, method, suffix
):
    path = "/".join([f"/api/playlists/{playlist}", *suffix]) + "/"
    body = b'{"position": 1}'
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + body[:5])  # the rest of the body is still on its way...
        sock.sendall(body[5:] + b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = _read_response(sock)
        assert first is not None and not first[0].endswith(b" 500 ")
        try:
            second = _read_response(sock)
        except OSError:
            second = None
    assert second is not None, "the server closed the connection"
    assert second[0].startswith(b"HTTP/1.1 200")


# --- a batch of hostile requests at every route: never a 5xx, every error in the one shape

HOSTILE_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b""),
    ("application/json", b"null"),
    ("application/json", b"[]"),
    ("application/json", b'[{"track_id": 1}]'),
    ("application/json", b'"a string"'),
    ("application/json", b"-0"),
    ("application/json", b"{"),
    ("application/json", b"\xff\xfe\xfd"),
    ("application/json", b'{"track_id": NaN, "position": Infinity, "direction": NaN}'),
    ("application/json", b'{"track_id": 1e999, "position": -1e999, "is_playing": 1e999}'),
    ("application/json", b'{"track_id": ' + b"7" * 4000 + b', "position": ' + b"7" * 4000 + b"}"),
    ("application/json", b'{"track_id": 1' + b"0" * 5000 + b"}"),
    ("application/json", b'{"track_id": "' + b"7" * 5000 + b'"}'),
    ("application/json", b'{"a":' * 3000 + b"1" + b"}" * 3000),
    ("application/json", b'{"track_id": ' + b"[" * 20000 + b"]" * 20000 + b"}"),
    ("application/json", b'{"track_id": {"$gt": 0}, "position": [[[]]], "added_by": {"a": []}}'),
    (
        "application/json",
        b'{"track_id": [1], "position": [1], "is_playing": [true], "direction": ["up"]}',
    ),
    (
        "application/json",
        b'{"track_id": null, "position": null, "is_playing": null, "direction": null, '
        b'"added_by": null, "track": null}',
    ),
    (
        "application/json",
        b'{"track_id": "\\u0663", "added_by": "\\ud800\\u0000", "direction": "\\u00fap"}',
    ),
    (
        "application/json",
        '{"track_id": "\u00b3", "added_by": "\U0001f3b5\U0001f3b6", '
        '"direction": "\uff55\uff50"}'.encode(),
    ),
    (
        "application/json",
        b'{"track_id": true, "position": false, "is_playing": "no", "direction": 1}',
    ),
    ("application/json", b'{"track_id": -9223372036854775809, "position": 1e-400, "votes": 1e308}'),
    ("application/json; charset=utf-16", '{"track_id": 2}'.encode("utf-16")),
    ("text/plain", b"track_id=1&direction=up"),
    ("application/x-www-form-urlencoded", b"track_id=1&direction=up&position=NaN"),
    (
        "multipart/form-data; boundary=zz",
        b'--zz\r\nContent-Disposition: form-data; name="track_id"\r\n\r\n1\r\n--zz--\r\n',
    ),
    ("application/xml", b"<track_id>1</track_id>"),
    ("", b"\x00\x01\x02"),
    ("application/json", b'{"track_id": 31, "added_by": "' + b"x" * (70 * 1024) + b'"}'),
]

HOSTILE_QUERIES = [
    "page=0",
    "page=-1",
    "page=abc",
    "page=1e9",
    "page=" + "9" * 40,
    "page_size=0",
    "page_size=-5",
    "page_size=" + "9" * 40,
    "page_size=2.5",
    "page=&page_size=",
    "page=2&page=x",
    "ordering=-",
    "ordering=,,,-,",
    "ordering=" + "-title," * 200,
    "ordering=__class__",
    "search=%00",
    "search=%ff%fe",
    "search=" + "%F0%9F%8E%B5" * 50,
    "search=" + "a" * 3000,
    "genre[]=rock",
    "genre=%00",
    "%zz=1",
    "page=2&page_size=1",
]

ODD_PATHS = [
    "/api/playlists/%2e%2e/",
    "/api/playlists/a%2Fb/",
    "/api/playlists/%00/",
    "/api/playlists/" + "x" * 2000 + "/",
    "/api/playlists/\u00fcmlaut/",
    "/api/playlists//",
    "/api/playlists/ok/%FF%FE/",
    "/api/playlists/ok/" + "i" * 3000 + "/vote/",
    "/api/playlist//",
    "/api/playlist/%00/play/",
    "/api/tracks/%00/",
    "/api/tracks/1e3/",
    "/api/tracks/" + "9" * 500 + "/",
    "/api/tracks/-0/",
    "/api/playlist/history/history/",
    "//api//tracks//",
    "/api/playlist/stop/stop/",
    "/api/docs/../openapi.json",
]


def _check(response: httpx.Response, problems: list, label: str) -> None:
    if response.status_code >= 500:
        problems.append((label, response.status_code, response.text[:200]))
        return
    if response.request.method == "HEAD":
        return
    try:
        if response.status_code >= 400:
            assert_error_shape(response)
        elif response.headers.get("content-type", "").startswith("application/json"):
            strict_json(response)
    except (AssertionError, ValueError) as exc:
        problems.append((label, response.status_code, f"{exc!r}"[:300]))


def test_hostile_requests_at_every_route_never_get_a_5xx_and_errors_keep_their_shape(
    make_server,
):
    server = make_server()
    problems: list = []
    with client_for(server) as client:
        named = Playlist(client, "/api/playlists/hostile")
        default = Playlist(client, "/api/playlist")
        item = named.add(1)["id"]
        default_item = default.add(2)["id"]
        routes = [
            named.url(),
            named.url(item),
            named.url(item, "vote"),
            named.url(item, "play"),
            named.url("stop"),
            named.url("history"),
            named.url("no-such-item"),
            named.url("no-such-item", "vote"),
            default.url(),
            default.url(default_item),
            default.url(default_item, "vote"),
            default.url("stop"),
            default.url("history"),
            "/api/tracks/",
            "/api/tracks/1/",
            "/api/playlists/",
            "/health",
            "/api/openapi.json",
            "/api/docs/",
        ]
        routes += [route.rstrip("/") for route in routes if route.endswith("/")]

        def send(method: str, url: str, content_type: str = "", body: bytes | None = None):
            headers = {"content-type": content_type} if content_type else {}
            label = f"{method} {url[:80]} {content_type} {body[:60] if body else body!r}"
            try:
                response = client.request(method, url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problems.append((label, "transport", repr(exc)))
                return
            _check(response, problems, label)

        # Every route with each method it may or may not allow, without a body.
        for route in routes:
            for method in ("GET", "HEAD", "PUT", "OPTIONS"):
                send(method, route)
        # Every body at each handler that reads one, and at the unknown-item path.
        for content_type, body in HOSTILE_BODIES:
            for method, route in (
                ("POST", named.url()),
                ("PATCH", named.url(item)),
                ("POST", named.url(item, "vote")),
                ("PATCH", named.url("no-such-item")),
            ):
                send(method, route, content_type, body)
        # Every other (method, route) pair, each with two of the bodies in turn.
        others = [("POST", route) for route in routes] + [("PATCH", route) for route in routes]
        for index, (method, route) in enumerate(others):
            for content_type, body in HOSTILE_BODIES[index % 15 :: 15]:
                send(method, route, content_type, body)
        # Hostile queries at every list.
        for query in HOSTILE_QUERIES:
            send("GET", f"{named.url()}?{query}")
            send("GET", f"/api/tracks/?{query}")
        for query in HOSTILE_QUERIES[::3]:
            for route in (named.url("history"), default.url(), "/api/playlists/"):
                send("GET", f"{route}?{query}")
        for path in ODD_PATHS:
            for method in ("GET", "POST"):
                send(method, path, "application/json", b'{"track_id": 3, "direction": "up"}')
        # Last, as they may delete the two items.
        for route in sorted(set(routes), key=lambda r: item in r or default_item in r):
            send("DELETE", route, "application/json", b"{")

        assert problems == [], (len(problems), problems[:10], server.log()[-3000:])
        assert client.get("/health").status_code == 200
        assert isinstance(strict_json(client.get(named.url())), list)
