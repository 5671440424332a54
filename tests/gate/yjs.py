"""yjs in Node (``tests/interop/decode.mjs``) as a test oracle, and our decoder in its terms.

``YjsTool.decode`` is ``Y.decodeUpdate``; ``YjsTool.build`` makes updates the way a Yjs app
does. :func:`normalize` turns our :class:`Update` into the same JSON, so the two decoders
can be compared value for value.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
from typing import Any

from server.engine.updates import (
    ANY,
    BINARY,
    DELETED,
    DOC,
    EMBED,
    FORMAT,
    ID,
    JSON,
    STRING,
    TYPE,
    UNDEFINED,
    BigInt64,
    Update,
)

from ..interop.peers import HERE as INTEROP
from ..jsonlines import JsonLinesProcess

NODE = shutil.which("node")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


class YjsTool:
    def __init__(self) -> None:
        self._proc = JsonLinesProcess([NODE or "node", "decode.mjs"], INTEROP)

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        self._proc.send(request)
        reply = self._proc.receive(30)
        assert reply is not None, self._proc.stderr()
        return reply

    def decode(self, update: bytes) -> dict[str, Any]:
        """``Y.decodeUpdate``, as JSON (``ok: false`` with the error when it throws)."""
        return numbers_as_floats(self._ask({"decode": b64(update)}))

    def build(
        self, ops: list[list[Any]], *, client: int, base: bytes | None = None
    ) -> tuple[list[bytes], bytes]:
        """Apply ``ops`` in a Y.Doc (one transaction each): their updates, and its state."""
        request: dict[str, Any] = {"build": ops, "client": client}
        if base is not None:
            request["base"] = b64(base)
        reply = self._ask(request)
        assert reply["ok"], reply
        return [unb64(u) for u in reply["updates"]], unb64(reply["state"])

    def close(self) -> None:
        self._proc.close()


def _tagged(value: Any) -> Any:
    """A decoded value in the JSON form ``decode.mjs`` gives it."""
    if value is UNDEFINED:
        return {"$undefined": True}
    if isinstance(value, BigInt64):
        return {"$bigint": str(int(value))}
    if isinstance(value, bytes):
        return {"$bytes": b64(value)}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$number": str(value).replace("inf", "Infinity").replace("nan", "NaN")}
    if isinstance(value, dict):
        return {key: _tagged(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tagged(v) for v in value]
    return value


def _json_value(text: str) -> Any:
    return UNDEFINED if text == "undefined" else json.loads(text)


def _content(content: Any) -> dict[str, Any]:
    ref = content.ref
    if ref == DELETED:
        return {"ref": ref, "length": content.length}
    if ref == JSON:
        return {"ref": ref, "values": [_tagged(_json_value(v)) for v in content.values]}
    if ref == BINARY:
        return {"ref": ref, "data": b64(content.values[0])}
    if ref == STRING:
        return {"ref": ref, "text": content.values[0]}
    if ref == EMBED:
        return {"ref": ref, "value": json.loads(content.values[0])}
    if ref == FORMAT:
        return {"ref": ref, "key": content.name, "value": json.loads(content.values[0])}
    if ref == TYPE:
        return {"ref": ref, "type_ref": content.type_ref, "name": content.name}
    if ref == ANY:
        return {"ref": ref, "values": [_tagged(v) for v in content.values]}
    if ref == DOC:
        return {"ref": ref, "guid": content.name}
    raise AssertionError(ref)


def numbers_as_floats(value: Any) -> Any:
    """JSON numbers compared as doubles: JS prints 3.6e16 as 36202087048523390."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {key: numbers_as_floats(v) for key, v in value.items()}
    return [numbers_as_floats(v) for v in value]


def normalize(update: Update) -> dict[str, Any]:
    """Our decoded update as ``decode.mjs`` prints yjs's (JSON round trip included)."""
    structs = []
    for struct in update.structs:
        entry: dict[str, Any] = {
            "kind": struct.kind,
            "client": struct.id.client,
            "clock": struct.id.clock,
            "length": struct.length,
        }
        if struct.kind == "item":
            parent = struct.parent
            entry.update(
                origin=_id(struct.origin),
                right_origin=_id(struct.right_origin),
                parent=parent if parent is None or isinstance(parent, str) else _id(parent),
                parent_sub=struct.parent_sub,
                content=_content(struct.content),
            )
        structs.append(entry)
    deletes = {str(c): [list(r) for r in rs] for c, rs in update.delete_set.items() if rs}
    decoded = {"ok": True, "structs": structs, "ds": deletes}
    return numbers_as_floats(json.loads(json.dumps(decoded)))


def _id(id_: ID | None) -> list[int] | None:
    return None if id_ is None else [id_.client, id_.clock]
