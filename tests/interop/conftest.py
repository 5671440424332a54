"""Every interop test runs on each event loop ``--event-loop`` offers; on a failure, the
tail of the server's log goes into the report."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..conftest import ServerProcess, seed_tracks


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server for this module on one event loop: real Yjs peers (framing, the direct
    writes of a relay, closes) are what a change of loop could break."""
    loop = request.param
    db = tmp_path_factory.mktemp(f"interop-{loop}") / "playsync.db"
    proc = ServerProcess(db_path=db, args=("--no-seed", "--event-loop", loop))
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()
    assert proc.process is not None and proc.process.returncode == 0, proc.log()[-3000:]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    if report.when == "call" and report.failed and server is not None:
        report.sections.append(("server log (tail)", server.log()[-6000:]))
    return report
