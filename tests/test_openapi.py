"""The OpenAPI document describes the routes the app really has, and the docs page is offline."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from werkzeug.exceptions import HTTPException

from api import admin_forms, validation
from api.errors import ApiError, ErrorCode
from api.openapi import openapi_spec
from server.app import create_app
from server.engine.storage import Storage
from server.seed import seed
from server.settings import Settings

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SAMPLES = {"name": "t-spec", "item_id": "some-item", "track_id": "1"}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/x.db"


@pytest.fixture
def app(database_url: str):
    return create_app(Settings(database_url=database_url))


@pytest.fixture
def spec(app) -> dict[str, Any]:
    return json.loads(json.dumps(openapi_spec(app)))


@pytest.fixture
async def client(app, database_url: str) -> AsyncIterator[Any]:
    storage = Storage(database_url)
    try:
        await seed(storage, tracks_only=True)
    finally:
        await storage.close()
    async with app.test_app() as test_app:
        yield test_app.test_client()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def template(rule: str) -> str:
    """A werkzeug rule as an OpenAPI path: ``<int(signed=True):track_id>`` -> ``{track_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def normalized(path: str) -> str:
    return path.rstrip("/") or "/"


def resolve(spec: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def errors(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """What is wrong with ``value`` (JSON Schema 2020-12, formats checked, refs into ``spec``)."""
    root = {**schema, "components": spec["components"]}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
        for e in validator.iter_errors(value)
    ]


# -- the document ---------------------------------------------------------------------------


async def test_the_document_is_served(client, spec):
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.content_type.startswith("application/json")
    assert await response.get_json() == spec
    # With and without the trailing slash, like every path.
    assert (await client.get("/api/docs")).status_code == 200


def test_the_document_is_structurally_valid(spec):
    validate(spec)

    assert spec["openapi"].startswith("3.1.")
    assert spec["info"]["title"] and spec["info"]["version"]
    for websocket in ("/ws/playlist/", "/ws/playlists/{name}/", "/yjs/{name}"):
        assert websocket in spec["info"]["description"]
    for ref in refs(spec):
        resolve(spec, ref)

    declared_tags = {tag["name"] for tag in spec["tags"]}
    operation_ids = []
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        operation_ids.append(operation["operationId"])
        assert operation.get("summary"), where
        assert set(operation["tags"]) <= declared_tags, where
        assert operation["responses"], f"{where} has no responses"
        for status, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d", status), f"{where}: status {status}"
            response = resolve(spec, response["$ref"]) if "$ref" in response else response
            assert response.get("description"), f"{where} {status}"
            for media in response.get("content", {}).values():
                assert "schema" in media, f"{where} {status}"
        parameters = [
            resolve(spec, p["$ref"]) if "$ref" in p else p
            for p in [*spec["paths"][path].get("parameters", []), *operation.get("parameters", [])]
        ]
        for parameter in parameters:
            assert parameter["in"] in {"path", "query", "header", "cookie"}, where
            assert "schema" in parameter, where
        in_path = {p["name"] for p in parameters if p["in"] == "path"}
        assert in_path == set(re.findall(r"{(\w+)}", path)), where
        assert all(p["required"] for p in parameters if p["in"] == "path"), where
        if "requestBody" in operation:
            assert operation["requestBody"]["content"], where
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_the_error_codes_are_the_ones_the_code_uses(spec):
    documented = spec["components"]["schemas"]["ErrorCode"]["enum"]
    assert documented == [code.value for code in ErrorCode]
    for code in [
        "INVALID_JSON",
        "MISSING_TRACK_ID",
        "VALIDATION_ERROR",
        "TRACK_NOT_FOUND",
        "DUPLICATE_TRACK",
        "NOT_FOUND",
        "PAYLOAD_TOO_LARGE",
        "METHOD_NOT_ALLOWED",
        "STORAGE_UNAVAILABLE",
        "DATABASE_UNAVAILABLE",
    ]:
        assert code in documented
    # Every code an operation documents is one of them.
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            for part in schema.get("allOf", []):
                codes = part.get("properties", {}).get("error", {}).get("properties", {})
                assert set(codes.get("code", {}).get("enum", [])) <= set(documented), (
                    f"{method.upper()} {path} {status}"
                )


def test_the_code_raises_error_codes_not_strings():
    """A code written as a string literal would bypass ErrorCode, and the document."""
    root = Path(__file__).resolve().parent.parent
    literal = re.compile(r'(?:\bcode=|error_response\(\s*\d+,\s*)"([A-Z][A-Z_]+)"')
    found = [
        f"{path.relative_to(root)}: {match}"
        for folder in ("api", "server")
        for path in (root / folder).rglob("*.py")
        for match in literal.findall(path.read_text())
    ]
    assert not found, f"use ErrorCode members: {found}"


def test_both_playlist_mounts_have_the_same_operations(spec):
    default = {
        (p.removeprefix("/api/playlist"), m)
        for p, m, _ in operations(spec)
        if p.startswith("/api/playlist/")
    }
    named = {
        (p.removeprefix("/api/playlists/{name}"), m)
        for p, m, _ in operations(spec)
        if p.startswith("/api/playlists/{name}/") and not p.endswith("/stream")
    }
    assert default == named
    assert ("/{item_id}/", "patch") in default


# -- the document against the routes --------------------------------------------------------


def http_routes(app) -> Iterator[tuple[str, str, Any]]:
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(rule, "websocket", False) or getattr(view, "_quart_schema_hidden", False):
            continue
        for method in sorted(rule.methods - {"OPTIONS", "HEAD"}):
            yield template(rule.rule), method.lower(), view


HOW_TO_DOCUMENT = """\
every HTTP route carries its documentation (api/openapi.py): a docstring (summary), \
@document_response(Model, status) for each success answer, @document_request / \
@document_querystring for what it reads, @document_errors for its own errors, and a \
tagged blueprint; or @hide when it is not part of the API"""


def test_every_route_is_documented(app, spec):
    documented = {(normalized(path), method): op for path, method, op in operations(spec)}
    routes = list(http_routes(app))
    assert len(routes) >= 20
    problems = []
    for path, method, view in routes:
        operation = documented.get((normalized(path), method))
        where = f"{method.upper()} {path} ({view.__module__}.{view.__name__})"
        if operation is None:
            problems.append(f"{where}: not in the document")
            continue
        if not operation.get("summary"):
            problems.append(f"{where}: no docstring")
        if not any(status.startswith("2") for status in operation["responses"]):
            problems.append(f"{where}: no @document_response")
        if not operation.get("tags"):
            problems.append(f"{where}: no tag")
    assert not problems, f"{HOW_TO_DOCUMENT}:\n" + "\n".join(problems)


def test_only_our_docs_routes_are_served(app):
    """quart-schema's own extension (its docs pages load scripts from a CDN) is not installed."""
    assert "QUART_SCHEMA" not in app.extensions
    paths = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/api/openapi.json", "/api/docs/"} <= paths
    assert not paths & {"/openapi.json", "/docs", "/redocs", "/scalar"}


def test_every_documented_operation_is_routed(app, spec):
    adapter = app.url_map.bind("localhost")
    unrouted = []
    for path, method, operation in operations(spec):
        concrete = re.sub(r"{(\w+)}", lambda m: SAMPLES[m.group(1)], path)
        try:
            rule, _ = adapter.match(concrete, method.upper(), return_rule=True, websocket=False)
        except HTTPException:
            unrouted.append(f"{method.upper()} {path}")
            continue
        routed = normalized(template(rule.rule)) == normalized(path)
        if operation.get("deprecated"):  # a fixed path answering through an item route
            view = app.view_functions[rule.endpoint]
            routed = view.__name__ in operation["operationId"]
        if not routed:
            unrouted.append(f"{method.upper()} {path}")
    assert not unrouted, f"documented but not routed: {unrouted}"


# -- the document against real responses ----------------------------------------------------


async def check(spec, response, method: str, path: str) -> Any:
    """The response's status is documented for the operation, and its body fits the schema."""
    operation = spec["paths"][path][method]
    status = str(response.status_code)
    body = await response.get_data(as_text=True)
    assert status in operation["responses"], (
        f"{method.upper()} {path}: undocumented {status} {body}"
    )
    documented = operation["responses"][status]
    if "content" not in documented:
        assert body == ""
        return None
    value = json.loads(body)
    schema = documented["content"]["application/json"]["schema"]
    problems = errors(spec, schema, value)
    assert not problems, f"{method.upper()} {path} {status}: {problems}"
    if "error" in value and "examples" in documented["content"]["application/json"]:
        assert value["error"]["code"] in documented["content"]["application/json"]["examples"]
    return value


@pytest.mark.parametrize(
    ("prefix", "template_prefix"),
    [("/api/playlist", "/api/playlist"), ("/api/playlists/t-spec", "/api/playlists/{name}")],
)
async def test_responses_fit_the_document(client, spec, prefix, template_prefix):
    async def call(method: str, path: str, sub: str, **kwargs) -> Any:
        response = await getattr(client, method)(prefix + path, **kwargs)
        return response, await check(spec, response, method, template_prefix + sub)

    tracks = await check(
        spec, await client.get("/api/tracks/?ordering=-title"), "get", "/api/tracks/"
    )
    assert len(tracks) > 3
    page = await check(
        spec, await client.get("/api/tracks/?page=2&page_size=2"), "get", "/api/tracks/"
    )
    assert len(page["results"]) == 2 and page["next"] and page["previous"]
    await check(spec, await client.get("/api/tracks/1/"), "get", "/api/tracks/{track_id}/")
    await check(spec, await client.get("/api/tracks/99999"), "get", "/api/tracks/{track_id}/")
    await check(spec, await client.get("/api/tracks/?page=999"), "get", "/api/tracks/")
    await check(spec, await client.get("/api/tracks/?page_size=x"), "get", "/api/tracks/")

    _, created = await call("post", "/", "/", json={"track": 1, "added_by": "spec"})
    _, second = await call("post", "/", "/", json={"track_id": "2"})
    for bad in ({}, {"track_id": 1}, {"track_id": 99999}, {"track_id": "x"}, [1]):
        response, error = await call("post", "/", "/", json=bad)
        assert response.status_code == 400, error
    response, error = await call(
        "post", "/", "/", data="{", headers={"content-type": "application/json"}
    )
    assert error["error"]["code"] == "INVALID_JSON"
    response, _ = await call("post", "/", "/", data="x" * (1 << 17))
    assert response.status_code == 413

    item = f"/{created['id']}/"
    await call("get", item, "/{item_id}/")
    await call("patch", item, "/{item_id}/", json={"position": 0.5, "is_playing": True})
    await call("patch", item, "/{item_id}/", json={"position": "x"})
    await call("post", item + "vote/", "/{item_id}/vote/", json={"direction": "down"})
    await call("post", item + "vote/", "/{item_id}/vote/", json={"direction": "sideways"})
    await call("post", f"/{second['id']}/play/", "/{item_id}/play/")
    listed = (await call("get", "/", "/"))[1]
    assert [i["id"] for i in listed] == [created["id"], second["id"]]
    assert (await call("get", "/?page=1", "/"))[1]["count"] == 2
    assert len((await call("get", "/history/", "/history/"))[1]) == 2
    await call("post", "/stop/", "/stop/")
    for method in ("get", "patch", "delete"):
        response, _ = await call(method, "/nope/", "/{item_id}/", json={})
        assert response.status_code == 404
    response, _ = await call("delete", item, "/{item_id}/")
    assert response.status_code == 204

    await check(spec, await client.get("/api/playlists/"), "get", "/api/playlists/")
    await check(spec, await client.get("/health"), "get", "/health")
    await check(spec, await client.get("/api/playlists/bad.name/"), "get", "/api/playlists/{name}/")


async def test_the_event_stream_fits_the_document(client, spec):
    operation = spec["paths"]["/api/playlists/{name}/stream"]["get"]
    async with client.request("/api/playlists/t-spec/stream?since=0") as connection:
        await connection.send_complete()
        first = await asyncio.wait_for(connection.receive(), 10)
        assert str(connection.status_code) in operation["responses"]
        media = connection.headers["content-type"].split(";")[0]
        documented = operation["responses"][str(connection.status_code)]["content"][media]
        await connection.disconnect()
    fields = dict(line.split(": ", 1) for line in first.decode().strip().split("\n"))
    assert fields["event"] == "connection.established"
    assert not errors(spec, documented["x-event-data"], json.loads(fields["data"]))
    response = await client.get("/api/playlists/bad.name/stream")
    await check(spec, response, "get", "/api/playlists/{name}/stream")
    assert response.status_code == 404


# -- the docs page --------------------------------------------------------------------------


async def test_the_docs_page_is_self_contained(client):
    response = await client.get("/api/docs/")
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    html = await response.get_data(as_text=True)
    assert "/api/openapi.json" in html
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|@import|url\(", html, re.IGNORECASE)


# -- request bodies: the document accepts what the hand-written validation accepts -----------

BODIES = [
    {"track_id": 1},
    {"track_id": 1.0},
    {"track_id": "12"},
    {"track_id": " -3 "},
    {"track": 2},
    {"track_id": None, "track": "4"},
    {"track_id": 1, "track": {"not": "read"}},
    {"track_id": 1, "added_by": None, "position": None, "other": [1]},
    {"track_id": 1, "added_by": "", "position": -2.5},
    {"track_id": 1, "added_by": "x" * 100},
    {},
    {"track_id": None},
    {"track_id": True},
    {"track_id": 1.5},
    {"track_id": "1.0"},
    {"track_id": "٣"},
    {"track_id": [1]},
    {"track_id": "x", "track": 1},
    {"track_id": 1, "added_by": "x" * 101},
    {"track_id": 1, "added_by": 5},
    {"track_id": 1, "position": "1"},
    {"track_id": 1, "position": 10**400},
    {"track_id": 1, "position": True},
]
PATCHES = [
    {},
    {"position": 3},
    {"position": None, "is_playing": None},
    {"is_playing": False, "other": 1},
    {"position": "3"},
    {"position": 10**400},
    {"is_playing": 1},
    {"is_playing": "true"},
]
VOTES = [{"direction": "up"}, {"direction": "down", "x": 1}, {}, {"direction": "UP"}, []]
SETTINGS = [
    {},
    {"auto_sort_by_votes": True},
    {"auto_sort_by_votes": None},
    {"auto_sort_by_votes": 1},
    {"auto_sort_by_votes": "true"},
    {"auto_sort_by_votes": False, "other": 1},
]
# What no schema can say is left out: text fields are measured without their spaces, an
# import's ids and track ids each appear once and `now_playing` names one of its items.
TRACK = {"title": "t", "artist": "a", "album": "b", "duration_seconds": 200, "genre": "g"}
NEW_TRACKS = [
    TRACK,
    {**TRACK, "cover_url": None},
    {**TRACK, "cover_url": ""},
    {**TRACK, "cover_url": "https://example.org/c.jpg"},
    {**TRACK, "cover_url": "/covers/1.jpg"},
    {**TRACK, "duration_seconds": 200.0, "id": 5, "created_at": "x", "duration_formatted": 1},
    {},
    {key: value for key, value in TRACK.items() if key != "genre"},
    {**TRACK, "title": ""},
    {**TRACK, "artist": None},
    {**TRACK, "duration_seconds": 0},
    {**TRACK, "duration_seconds": 86401},
    {**TRACK, "duration_seconds": 1.5},
    {**TRACK, "duration_seconds": "200"},
    {**TRACK, "duration_seconds": True},
    {**TRACK, "duration_seconds": 10**400},
    {**TRACK, "cover_url": "javascript:alert(1)"},
    {**TRACK, "cover_url": "https://" + "x" * 493},
    {**TRACK, "cover_url": 5},
    {**TRACK, "bogus": 1},
]
TRACK_PATCHES = [
    {},
    {"title": "x"},
    {"cover_url": None, "id": 3},
    {"title": None},
    {"genre": ""},
    {"duration_seconds": 0},
    {"bogus": 1},
]
ITEM = {"id": "a", "track_id": 1, "position": 1.0}
IMPORTS = [
    {"items": []},
    {"items": [ITEM], "name": "x", "exported_at": "y", "settings": None},
    {
        "version": 1,
        "items": [
            {**ITEM, "votes": -3, "added_by": "x", "added_at": "2026-01-01T00:00:00Z"},
            {"id": "b", "track_id": "2", "position": -2, "played_at": None, "other": 1},
        ],
        "now_playing": "a",
        "settings": {"auto_sort_by_votes": True},
    },
    {},
    {"items": "x"},
    {"version": 2, "items": []},
    {"version": True, "items": []},
    {"items": [{**ITEM, "id": ""}]},
    {"items": [{**ITEM, "id": "x" * 65}]},
    {"items": [{**ITEM, "position": "1"}]},
    {"items": [{**ITEM, "track_id": "x"}]},
    {"items": [{**ITEM, "votes": 1.5}]},
    {"items": [{**ITEM, "added_by": None}]},
    {"items": [{**ITEM, "played_at": 5}]},
    {"items": [ITEM], "now_playing": 5},
    {"items": [ITEM], "now_playing": ["a"]},
    {"items": [ITEM], "settings": {"auto_sort_by_votes": 1}},
    {"items": [ITEM], "settings": []},
    {"items": [ITEM], "settings": False},
]


def _accepted(parse, body) -> bool:
    try:
        parse(body)
    except ApiError:
        return False
    return True


@pytest.mark.parametrize(
    ("path", "method", "parse", "bodies"),
    [
        ("/api/playlist/", "post", validation.new_item, BODIES),
        ("/api/playlist/{item_id}/", "patch", validation.item_patch, PATCHES),
        ("/api/playlist/{item_id}/vote/", "post", validation.vote_delta, VOTES),
        ("/api/playlist/settings/", "patch", validation.auto_sort, SETTINGS),
        (
            "/api/admin/tracks/",
            "post",
            partial(admin_forms.track_fields, partial=False),
            NEW_TRACKS,
        ),
        (
            "/api/admin/tracks/{track_id}/",
            "patch",
            partial(admin_forms.track_fields, partial=True),
            TRACK_PATCHES,
        ),
        (
            "/api/admin/playlists/{name}/import/",
            "post",
            partial(admin_forms.imported_playlist, max_items=1000),
            IMPORTS,
        ),
    ],
)
def test_the_request_schemas_accept_what_the_validation_accepts(spec, path, method, parse, bodies):
    body = spec["paths"][path][method]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    disagree = [
        (value, f"schema: {not errors(spec, schema, value)}")
        for value in bodies
        if isinstance(value, dict) and _accepted(parse, value) != (not errors(spec, schema, value))
    ]
    assert not disagree
    assert body["required"] is not _accepted(parse, {})


async def test_a_wrong_method_is_a_405_that_says_which_methods_are_allowed(client):
    for path in ("/api/tracks/", "/api/tracks", "/api/playlist/stop/", "/api/playlist/stop"):
        response = await client.put(path)
        assert response.status_code == 405, path
        assert (await response.get_json())["error"]["code"] == "METHOD_NOT_ALLOWED"
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert ("POST" if "stop" in path else "GET") in allowed, (path, allowed)
