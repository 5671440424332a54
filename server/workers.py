"""``playsync serve --workers N``: N server processes on one port (CONTRACT §7).

The parent seeds and creates the schema once, then runs N copies of the same
command as workers and restarts any that dies. Each worker is a whole server:
its own rooms, binding the port with SO_REUSEPORT (``serving.py``), converging
with the others through the database catch-up and, when configured, Redis —
exactly as separate machines behind a load balancer would. SIGTERM or SIGINT
is passed on to every worker, and the parent exits once they have.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

log = logging.getLogger(__name__)

WORKER_ENV = "PLAYSYNC_WORKER_INDEX"
RESTART_DELAY = 1.0


def is_worker() -> bool:
    return WORKER_ENV in os.environ


async def supervise(count: int) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    workers = [asyncio.create_task(_keep_running(index, stopping)) for index in range(count)]
    await asyncio.gather(*workers)


async def _keep_running(index: int, stopping: asyncio.Event) -> None:
    command = [sys.executable, "-m", "server.cli", *sys.argv[1:]]
    env = {**os.environ, WORKER_ENV: str(index)}
    while not stopping.is_set():
        process = await asyncio.create_subprocess_exec(*command, env=env)
        stop = asyncio.create_task(stopping.wait())
        exited = asyncio.create_task(process.wait())
        await asyncio.wait({stop, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not exited.done():
            process.send_signal(signal.SIGTERM)
            await exited
            return
        stop.cancel()
        log.warning("worker %d exited with %s; restarting it", index, process.returncode)
        await asyncio.sleep(RESTART_DELAY)
