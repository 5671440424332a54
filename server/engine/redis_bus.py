"""The update bus over Redis pub/sub (``--redis-url``), between server processes.

Each playlist has a channel, ``<prefix>:<name>``; a message is one kind byte,
the sending process's id (16 bytes, so a process skips its own), then for an
update its version (8 bytes) and the update, for awareness the awareness
update. Each process pattern-subscribes to ``<prefix>:*`` once, on one
connection, and hands each message to the rooms it holds for that playlist:
no subscription to change as rooms come and go, so none can lag behind a
room's load (the cost: every process reads every playlist's traffic).

Pub/sub is at most once, and Redis may restart or be down. Nothing here is
retried or queued for long: whenever the subscription is (re)established the
rooms are told (``on_bus_resubscribed``) and catch up from the database,
which is the truth. Publishing never blocks a room: messages go through a
bounded queue, and are dropped (with a log line) while Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from collections import defaultdict

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from .bus import BusMember, BusReceiver

log = logging.getLogger(__name__)

KIND_UPDATE = b"u"
KIND_AWARENESS = b"a"
KIND_PRESENCE_QUERY = b"q"
VERSION = struct.Struct(">Q")
OUTBOX = 10_000
"""Messages waiting to be published; beyond this, new ones are dropped (the database
catch-up delivers updates anyway, and presence is renewed every 15 s)."""
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)


class RedisBus:
    """:class:`~.bus.UpdateBus` on Redis. ``async with`` it around the server's life."""

    def __init__(self, url: str, *, prefix: str = "playsync") -> None:
        self.url = url
        self.prefix = prefix
        self.process_id = uuid.uuid4().bytes
        # No hidden retries: a lost connection must surface here, so rooms catch up.
        self._redis = Redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_timeout=None)
        self._members: dict[str, set[_RedisMember]] = defaultdict(set)
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(OUTBOX)
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()
        self.received = 0
        self.published = 0
        self.dropped = 0

    async def __aenter__(self) -> RedisBus:
        self._tasks = [
            asyncio.create_task(self._subscriber(), name="redis-bus:subscriber"),
            asyncio.create_task(self._publisher(), name="redis-bus:publisher"),
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._redis.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    # -- the UpdateBus seam --------------------------------------------------

    def join(self, room: str, receiver: BusReceiver) -> BusMember:
        member = _RedisMember(self, room, receiver)
        self._members[room].add(member)
        return member

    def channel(self, room: str) -> str:
        return f"{self.prefix}:{room}"

    def _publish(self, room: str, kind: bytes, body: bytes) -> None:
        try:
            self._outbox.put_nowait((self.channel(room), kind + self.process_id + body))
        except asyncio.QueueFull:
            self.dropped += 1

    def _leave(self, member: _RedisMember) -> None:
        members = self._members.get(member.room)
        if members is not None:
            members.discard(member)
            if not members:
                del self._members[member.room]

    # -- the two tasks -------------------------------------------------------

    async def _publisher(self) -> None:
        while True:
            channel, message = await self._outbox.get()
            try:
                await self._redis.publish(channel, message)
                self.published += 1
            except (RedisError, OSError) as exc:
                self.dropped += 1
                if self.connected.is_set():
                    log.warning("redis bus: publishing failed (%s); the database catches up", exc)

    async def _subscriber(self) -> None:
        failures = 0
        pattern = f"{self.prefix}:*"
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        # Confirmed: from here on nothing is missed; what was, the rooms
                        # fetch from the database.
                        self.connected.set()
                        if failures:
                            log.info("redis bus: subscribed again; catching up")
                        failures = 0
                        self._reconnected()
                    elif message["type"] == "pmessage":
                        self._deliver(message["channel"], message["data"])
            except (RedisError, OSError) as exc:
                self.connected.clear()
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                if failures == 0:
                    log.warning("redis bus: connection lost (%s); retrying", exc)
                failures += 1
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    def _reconnected(self) -> None:
        for members in list(self._members.values()):
            for member in list(members):
                member.receiver.on_bus_resubscribed()

    def _deliver(self, channel: bytes, data: bytes) -> None:
        room = channel.decode(errors="replace")[len(self.prefix) + 1 :]
        members = self._members.get(room)
        if not members or len(data) < 17:
            return
        kind, sender, body = data[:1], data[1:17], data[17:]
        if sender == self.process_id:
            return
        self.received += 1
        for member in list(members):
            try:
                self._hand_over(member, kind, body)
            except Exception:
                log.exception("redis bus: a room failed on a message for %s", room)

    @staticmethod
    def _hand_over(member: _RedisMember, kind: bytes, body: bytes) -> None:
        if kind == KIND_UPDATE and len(body) >= VERSION.size:
            (version,) = VERSION.unpack_from(body)
            member.receiver.on_bus_update(version, body[VERSION.size :])
        elif kind == KIND_AWARENESS:
            member.receiver.on_bus_awareness(body)
        elif kind == KIND_PRESENCE_QUERY:
            member.receiver.on_bus_presence_query()


class _RedisMember:
    def __init__(self, bus: RedisBus, room: str, receiver: BusReceiver) -> None:
        self.bus, self.room, self.receiver = bus, room, receiver

    def publish_update(self, version: int, update: bytes) -> None:
        self.bus._publish(self.room, KIND_UPDATE, VERSION.pack(version) + update)

    def publish_awareness(self, update: bytes) -> None:
        self.bus._publish(self.room, KIND_AWARENESS, update)

    def query_presence(self) -> None:
        self.bus._publish(self.room, KIND_PRESENCE_QUERY, b"")

    def leave(self) -> None:
        self.bus._leave(self)
