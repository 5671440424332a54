"""The OpenAPI document, derived from the routes, and the offline page that renders it.

quart-schema's :class:`~quart_schema.openapi.OpenAPIProvider` walks the app's url
map; each route carries its own documentation next to it, with quart-schema's
documentation-only decorators (they record, they do not validate):

- a docstring: first line the summary, the rest the description;
- ``@document_response(Model, status)`` for every success answer (``api/models.py``);
- ``@document_request(Model)`` when it reads a JSON body, and
  ``@document_querystring(Model)`` when it reads the query string;
- ``@document_errors(status, *codes, description=...)`` for every error it can answer
  beyond the shared ones of :data:`SHARED_ERRORS` (413, 503, an invalid playlist name...);
- its blueprint tagged with ``tag_blueprint`` (``TAGS`` lists the tags in order);
- or ``@hide`` for a route that is not part of the API (the web client).

The validation stays hand-written in :mod:`api.validation`, so neither the
``QuartSchema`` extension nor its response conversion, test client or docs routes
are installed: only its provider is used, configured by :func:`openapi_spec`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, TypeVar

from pydantic import BaseModel, RootModel
from pydantic.json_schema import JsonSchemaMode
from quart import Quart
from quart_schema import QuartSchema
from quart_schema.openapi import PATH_RE, Info, OpenAPIProvider, Tag
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.routing.converters import BaseConverter

from crdt.names import PLAYLIST_NAME

from .auth import document_security
from .errors import ErrorCode
from .models import Error, EventStream, StreamEvent

Json = dict[str, Any]
T = TypeVar("T", bound=Callable[..., Any])

JSON = "application/json"
WRITES = frozenset({"post", "put", "patch", "delete"})
_ERRORS_ATTRIBUTE = "_playsync_errors"

DESCRIPTION = """\
REST API of **playsync**, a local-first sync server for a collaborative playlist. It is \
compatible with the original Django playlist backend; the playlist itself is a Yjs document \
that REST calls, Yjs peers and the event stream all share.

* JSON in and out. Every path answers with and without its trailing slash.
* `/api/playlist/...` is the playlist named `default`; `/api/playlists/{name}/...` is any \
playlist (`name`: 1-64 of `A-Z a-z 0-9 _ -`), created on first write.
* Lists are plain JSON arrays. With `page` or `page_size` in the query (or when the server runs \
with `--paginate` / `PLAYSYNC_PAGINATE=1`) a list is a `{count, next, previous, results}` \
envelope instead.
* Errors are `{"error": {"code", "message", "details"}}`; client mistakes are 4xx, never 500.

Not describable in OpenAPI, so listed here:

* **WebSocket `/ws/playlist/`** (the `default` playlist) and **`/ws/playlists/{name}/`**: the \
legacy JSON event stream, the same events as the Server-Sent Events at `/api/stream` and \
`/api/playlists/{name}/stream` (schema `StreamEvent`). First message \
`{"type": "connection.established"}`; a client message `{"type": "ping", "ts": ...}` is \
answered with `{"type": "pong", "ts": ...}`; a `ping` heartbeat comes every 20 s; anything else \
a client sends is ignored. Reconnect with `?since=SEQ` to get what was missed.
* **WebSocket `/yjs/{name}`**: the y-websocket protocol (sync step 1 / step 2 / update, \
awareness) in binary frames, for Yjs clients: \
`new WebsocketProvider("ws://HOST:PORT/yjs", name, doc)`.
"""

TAGS = (
    Tag("Tracks", "The track library"),
    Tag("Default playlist", "The playlist named `default`"),
    Tag("Named playlists", "Any playlist, by name; created on first write"),
    Tag("Event stream", "Changes of a playlist as Server-Sent Events"),
    Tag("Service", "Health, the list of playlists, this document"),
    Tag(
        "Admin",
        "The track library, playlists and moderation (the seed's `/admin/`): for the admin "
        "role, or with access control off for requests from the server's own host",
    ),
)

# The playlist blueprint is mounted twice (api/__init__.py): each mount is its own tag,
# and its operationIds start with the mount's name.
MOUNT_TAGS = {"default": "Default playlist", "named": "Named playlists"}
# Blueprints whose view names repeat other routes' (``list_tracks``, ``stop``): their
# operationIds start with the blueprint's name instead.
PREFIXED_BLUEPRINTS = frozenset({"admin"})

PATH_PARAMETERS: dict[str, Json] = {
    "name": {
        "description": "Playlist name; created on first write. Any other name is a 404.",
        "schema": {"type": "string", "pattern": PLAYLIST_NAME.pattern},
    },
    "item_id": {"description": "Playlist item id", "schema": {"type": "string"}},
    "track_id": {"description": "Track id", "schema": {"type": "integer"}},
}


# -- error responses -------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorDoc:
    """An error answer: its status, the codes it carries, and when."""

    status: int
    codes: tuple[ErrorCode, ...]
    description: str


def document_errors(status: int, *codes: ErrorCode, description: str) -> Callable[[T], T]:
    """Document an error answer of a route (several for one status add up)."""

    def decorator(func: T) -> T:
        docs = [*getattr(func, _ERRORS_ATTRIBUTE, ()), ErrorDoc(status, codes, description)]
        setattr(func, _ERRORS_ATTRIBUTE, docs)
        return func

    return decorator


@dataclass(frozen=True)
class SharedError:
    """An error answer that every operation ``applies_to`` can give, declared once."""

    error: ErrorDoc
    applies_to: Callable[[str, Rule], bool]


def _writes(method: str, rule: Rule) -> bool:
    return method in WRITES


def _names_a_playlist(method: str, rule: Rule) -> bool:
    """A ``{name}`` in the path (the default mounts fill it in themselves)."""
    return "name" in rule.arguments and "name" not in (rule.defaults or {})


def _loads_a_playlist(method: str, rule: Rule) -> bool:
    return rule.rule.startswith(("/api/playlist", "/api/stream", "/api/admin/"))


SHARED_ERRORS: tuple[SharedError, ...] = (
    SharedError(
        ErrorDoc(
            413, (ErrorCode.PAYLOAD_TOO_LARGE,), "Request body larger than the server accepts"
        ),
        _writes,
    ),
    SharedError(
        ErrorDoc(
            403,
            (ErrorCode.FORBIDDEN_ORIGIN,),
            "A browser page whose Origin is not on the CORS allow-list (CONTRACT §8)",
        ),
        _writes,
    ),
    SharedError(
        ErrorDoc(
            429,
            (ErrorCode.RATE_LIMITED,),
            "Too many writes from this client (`--rate-limit`); see `Retry-After`",
        ),
        _writes,
    ),
    SharedError(
        ErrorDoc(404, (ErrorCode.NOT_FOUND,), "The playlist name is invalid"),
        _names_a_playlist,
    ),
    SharedError(
        ErrorDoc(503, (ErrorCode.STORAGE_UNAVAILABLE,), "The database did not answer"),
        _loads_a_playlist,
    ),
)

PAGE_NOT_FOUND = document_errors(
    404, ErrorCode.NOT_FOUND, description="`page` is not a page number (1..last, or `last`)"
)


def _error_response(docs: Iterable[ErrorDoc]) -> Json:
    """One response for errors of one status: the ``Error`` schema with its codes narrowed."""
    docs = list(docs)
    codes = list(dict.fromkeys(code.value for doc in docs for code in doc.codes))
    first, *more = dict.fromkeys(doc.description for doc in docs)
    described = "; ".join([first, *(text[:1].lower() + text[1:] for text in more)])
    listed = ", ".join(f"`{code}`" for code in codes)
    return {
        "description": f"{described} ({listed})",
        "content": {
            JSON: {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Error"},
                        {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
                    ]
                }
            }
        },
    }


# -- the provider ----------------------------------------------------------------------------


class PlaysyncOpenAPI(OpenAPIProvider):
    """quart-schema's provider, with what this API adds to it.

    Per operation: the mount's tag and operationId, the error answers (its own and the
    shared ones), and answers that are not JSON (``NoContent``, HTML, SSE).
    """

    def build_path_parameter(self, name: str, converter: BaseConverter) -> Json:
        parameter = super().build_path_parameter(name, converter)
        return {**parameter, **PATH_PARAMETERS.get(name, {})}

    def build_response_object(
        self, model: type[Any], headers_model: type[Any] | None
    ) -> tuple[Json, Json]:
        media_type = getattr(model, "media_type", JSON)
        if media_type == JSON and not _is_named_model(model):
            return super().build_response_object(model, headers_model)
        response: Json = {"description": inspect.getdoc(model) or ""}
        components: Json = {}
        if media_type == JSON:
            components = _components_of(model, "serialization")
            response["content"] = {JSON: {"schema": _ref(model.__name__)}}
        elif media_type is not None:
            response["content"] = {media_type: {"schema": {"type": "string"}}}
        if model is EventStream:
            response["content"][media_type]["x-event-data"] = _ref(StreamEvent.__name__)
            components = _components_of(StreamEvent, "serialization")
        return response, components

    def build_request_body(self, model: type[Any], source: Any) -> tuple[Json, Json]:
        body, components = super().build_request_body(model, source)
        if _is_named_model(model):
            body["content"][JSON]["schema"] = _ref(model.__name__)
            components = _components_of(model, "validation")
        if model.__doc__:
            body["description"] = inspect.getdoc(model)
        body["required"] = getattr(model, "body_required", True)
        return body, components

    def build_paths(self, rule: Rule) -> tuple[Json, Json]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        mount = rule.endpoint.split(".", 1)[0] if "." in rule.endpoint else None
        prefix = "named" if _names_a_playlist("", rule) else None
        prefix = prefix or ("default" if "name" in (rule.defaults or {}) else None)
        if mount in PREFIXED_BLUEPRINTS:
            prefix = mount
        errors = getattr(func, _ERRORS_ATTRIBUTE, [])
        for operations in paths.values():
            for method, operation in list(operations.items()):
                operation = {**operation, "responses": dict(operation["responses"])}
                operation["parameters"] = list(operation["parameters"])
                if mount in MOUNT_TAGS:
                    operation["tags"] = [MOUNT_TAGS[mount]]
                operation["operationId"] = "_".join(filter(None, [prefix, func.__name__]))
                shared = [s.error for s in SHARED_ERRORS if s.applies_to(method, rule)]
                by_status: dict[int, list[ErrorDoc]] = {}
                for doc in [*errors, *shared]:
                    by_status.setdefault(doc.status, []).append(doc)
                for status, docs in by_status.items():
                    operation["responses"][status] = _error_response(docs)
                if by_status:
                    components.update(_components_of(Error, "serialization"))
                operation["responses"] = {
                    str(status): response
                    for status, response in sorted(operation["responses"].items())
                }
                if not operation["parameters"]:
                    del operation["parameters"]
                if not operation.get("description"):
                    operation.pop("description", None)
                else:
                    operation["description"] = operation["description"].strip()
                operations[method] = operation
        return paths, components

    def schema(self) -> Json:
        spec = super().schema()
        spec["paths"] = _without_titles(dict(spec["paths"]), properties=True)
        spec["components"] = _without_titles(spec["components"], properties=True)
        self._add_fall_throughs(spec["paths"])
        _add_links(spec["paths"])
        return spec

    def _add_fall_throughs(self, paths: Json) -> None:
        """Methods a fixed path answers through a templated route (``PATCH /stop/``: the item
        whose id is ``stop``): the url map routes them, so the document lists them.

        Fixed paths (``history``, ``stop``) win over item ids only for their own methods.
        """
        adapter = self._app.url_map.bind("localhost")
        for rule in self.generate_rules():
            fixed = [arg for arg in rule.arguments if arg not in (rule.defaults or {})]
            if fixed not in ([], ["name"]):
                continue
            path = PATH_RE.sub(r"{\1}", rule.rule)
            concrete = path.replace("{name}", "x")
            for method in sorted(WRITES | {"get"}):
                if method.upper() in rule.methods:
                    continue
                try:
                    other, values = adapter.match(concrete, method.upper(), return_rule=True)
                except HTTPException:
                    continue
                template = PATH_RE.sub(r"{\1}", other.rule)
                operation = paths.get(template, {}).get(method)
                if operation is None or template == path:
                    continue
                given = {k: v for k, v in values.items() if k != "name"}
                operation = {
                    **operation,
                    "operationId": "_".join([operation["operationId"], *given.values()]),
                    "summary": f"{operation.get('summary', '')}: "
                    + ", ".join(f"the `{k}` `{v}`" for k, v in given.items()),
                    "deprecated": True,
                    "description": f"`{template}` with "
                    + ", ".join(f"`{k}` = `{v}`" for k, v in given.items())
                    + ": a fixed path wins over an item id only for its own methods.",
                    "parameters": [
                        p for p in operation.get("parameters", []) if p["name"] not in given
                    ],
                }
                if not operation["parameters"]:
                    del operation["parameters"]
                paths.setdefault(path, {})[method] = operation


# Where else an item created at a path is addressed: the admin's moderation of it.
ITEMS_ALSO_UNDER = {"/api/playlists/{name}/": ("/api/admin/playlists/{name}/items/",)}


def _add_links(paths: Json) -> None:
    """OpenAPI links from each 201 to the operations on what it created (``{path}{item_id}/…``,
    and the same under :data:`ITEMS_ALSO_UNDER`).

    The created item's ``id`` fills ``item_id``; the other path parameters are the request's.
    Clients and schemathesis's stateful phase follow them.
    """
    for path, item in paths.items():
        for operation in item.values():
            created = operation["responses"].get("201")
            if created is None:
                continue
            links = {}
            for other_path, other_item in paths.items():
                prefixes = (path, *ITEMS_ALSO_UNDER.get(path, ()))
                if not any(
                    other_path != other_path.removeprefix(prefix)
                    and other_path.removeprefix(prefix).startswith("{item_id}")
                    for prefix in prefixes
                ):
                    continue
                for other in other_item.values():
                    parameters = {
                        p["name"]: f"$request.path.{p['name']}"
                        for p in other.get("parameters", [])
                        if p["in"] == "path"
                    }
                    parameters["item_id"] = "$response.body#/id"
                    links[other["operationId"]] = {
                        "operationId": other["operationId"],
                        "parameters": parameters,
                    }
            if links:
                created["links"] = links


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _is_named_model(model: Any) -> bool:
    """A model worth its own entry under ``components`` (a root model is only a wrapper)."""
    return (
        isinstance(model, type)
        and issubclass(model, BaseModel)
        and not issubclass(model, RootModel)
    )


def _components_of(model: type[BaseModel], mode: JsonSchemaMode) -> Json:
    """``model`` and the models it uses, as ``components/schemas`` entries."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    return {**schema.pop("$defs", {}), model.__name__: schema}


def _without_titles(node: Any, *, properties: bool = False) -> Any:
    """pydantic titles every schema after its field ("Track Id"): noise in a document."""
    if isinstance(node, list):
        return [_without_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    if properties:  # keys are field names, values schemas
        return {key: _without_titles(value) for key, value in node.items()}
    return {
        key: _without_titles(value, properties=key in {"properties", "$defs", "schemas"})
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str))
    }


def openapi_spec(app: Quart) -> Json:
    """The document of ``app``'s routes, built once (the url map does not change while serving).

    Callers must not change it.
    """
    spec = app.extensions.get(_SPEC_EXTENSION)
    if spec is None:
        spec = app.extensions[_SPEC_EXTENSION] = document_security(_build_spec(app))
    return spec


_SPEC_EXTENSION = "playsync.openapi"


def _build_spec(app: Quart) -> Json:
    # QuartSchema here only holds the document's settings; init_app would add its own
    # validation-aware response conversion and docs routes, which this API does not want.
    extension = QuartSchema(
        info=Info(title="playsync", version="1", description=DESCRIPTION), tags=list(TAGS)
    )
    app.config.setdefault("QUART_SCHEMA_CONVERSION_PREFERENCE", "pydantic")
    app.config.setdefault("QUART_SCHEMA_CONVERT_CASING", False)
    return PlaysyncOpenAPI(app, extension).schema()


def docs_page() -> str:
    """A page that renders the document with no script, style or font from elsewhere."""
    return files(__package__).joinpath("docs.html").read_text(encoding="utf-8")
