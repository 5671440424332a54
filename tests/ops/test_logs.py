"""Logs (CONTRACT §10): one line per event with its playlist and connection, as JSON when
asked, in a file when asked; no token ever written."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import websockets

from server.logging_setup import RedactSecrets, TextFormatter, redact

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl"


def test_a_json_log_file_has_a_line_per_request_and_connection_and_no_token(
    make_server, tmp_path, playlist
):
    log_file = tmp_path / "logs" / "playsync.log"
    log_file.parent.mkdir()
    server = make_server("--no-seed", "--log-format", "json", "--log-file", str(log_file))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.base_url, timeout=10, headers=headers) as api:
        assert api.post(
            f"/api/playlists/{playlist}/?token={TOKEN}", json={"track_id": 4}
        ).is_success
        assert api.get(f"/api/playlists/{playlist}/nope/").status_code == 404

    async def connect_and_leave():
        async with websockets.connect(f"{server.ws_url}/yjs/{playlist}?token={TOKEN}") as peer:
            await peer.recv()
        async with websockets.connect(f"{server.ws_url}/ws/playlists/{playlist}/") as listener:
            await listener.recv()

    asyncio.run(connect_and_leave())
    server.stop()  # the last lines are written once the connections are gone

    text = log_file.read_text()
    assert TOKEN not in text and "eyJ" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    requests = [line for line in lines if line["logger"] == "playsync.request"]
    added = next(line for line in requests if line["method"] == "POST")
    assert added["path"] == f"/api/playlists/{playlist}/"
    assert (added["status"], added["playlist"]) == (201, playlist)
    assert added["duration_ms"] >= 0
    assert any(line["status"] == 404 for line in requests)
    peer = [line for line in lines if line["message"].startswith("yjs peer")]
    assert [line["message"] for line in peer] == ["yjs peer joined", "yjs peer left (close 1000)"]
    assert {line["playlist"] for line in peer} == {playlist}
    assert len({line["connection"] for line in peer}) == 1
    listener = [line for line in lines if line["message"].startswith("event listener")]
    assert [line["message"] for line in listener] == [
        "event listener joined",
        "event listener left",
    ]
    assert {line["playlist"] for line in listener} == {playlist}


def test_text_lines_end_with_their_context_and_secrets_are_redacted_wherever_they_are():
    record = logging.LogRecord(
        "playsync",
        logging.INFO,
        __file__,
        1,
        "GET %s with Bearer %s",
        (f"/x?token={TOKEN}", "abc"),
        None,
    )
    record.playlist, record.connection = "p1", 7
    assert RedactSecrets().filter(record)
    line = TextFormatter("%(levelname)s %(message)s").format(record)
    assert line == "INFO GET /x?token=[redacted] with Bearer [redacted] playlist=p1 connection=7"
    assert redact(f"failed for {TOKEN}!") == "failed for [redacted]!"
