"""A schema-driven fuzzer holds the server to its OpenAPI document (CONTRACT §2).

schemathesis reads ``/api/openapi.json`` from a real server and sends what the document
allows and what it forbids (examples, boundary cases, random data, and sequences that use
one answer in the next request). Every check is on, response schema conformance included:
a 5xx, a status, header, content type or body the document does not list, invalid data
accepted, a 405 without ``Allow``: each is a failure.

Off, and why:
- ``positive_data_acceptance``: valid-looking data is refused by design: a ``track_id``
  not in the library is a 400 ``TRACK_NOT_FOUND``, a second add of a track a 400
  ``DUPLICATE_TRACK`` (CONTRACT §2).
- the Server-Sent Events paths: a stream never ends (tests/test_openapi.py reads one).
- deprecated operations: the methods a fixed path answers through an item route (``PATCH
  /stop/`` is the item whose id is ``stop``). They are documented so that ``Allow`` and
  the document agree; fuzzing them only repeats the item routes.

The seed is fixed, so a failure reproduces; ``PLAYSYNC_FUZZ_SEED`` picks another.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, seed_tracks

MAX_EXAMPLES = 20  # per operation and phase: about a minute on 2 cores


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory):
    """A server of its own: the fuzzer creates playlists and items by the hundred."""
    db = tmp_path_factory.mktemp("fuzz") / "playsync.db"
    proc = ServerProcess(db_path=db)
    seed_tracks(proc.database_url)
    proc.start()
    yield proc
    proc.stop()


def test_the_server_answers_as_its_openapi_document_says(fuzzed_server, tmp_path: Path):
    seed = os.environ.get("PLAYSYNC_FUZZ_SEED", "1")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{fuzzed_server.base_url}/api/openapi.json",
        "--checks=all",
        "--exclude-checks=positive_data_acceptance",
        "--exclude-path-regex=stream$",
        "--exclude-deprecated",
        f"--max-examples={MAX_EXAMPLES}",
        "--workers=2",
        f"--seed={seed}",
        "--request-timeout=20",
        "--no-color",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # its cassettes and caches stay out of the repository
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"{report[-20000:]}\n\nserver log:\n{fuzzed_server.log()[-3000:]}"
    )
    summary = report.split("SUMMARY")[-1]
    assert "Tested:" in summary and "failures" not in summary, report
