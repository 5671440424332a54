"""The engine: rooms, storage, the update bus, events and the y-websocket protocol.

No Quart and no HTTP here: surfaces (REST, the event stream, ``/yjs/``) drive the engine,
and the engine drives ``crdt/``.
"""
