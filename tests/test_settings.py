"""Settings: every field is a flag, an environment variable and a ``.env`` line; flags win."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import _parser, settings_from
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _serve_settings(*flags: str) -> Settings:
    parser, source = _parser()
    return settings_from(parser.parse_args(["serve", *flags]), source)


def test_flags_win_over_the_environment_which_wins_over_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PLAYSYNC_PORT=4100\nPLAYSYNC_HOST=0.0.0.0\nPLAYSYNC_SEED=0\n")
    monkeypatch.setenv("PLAYSYNC_PORT", "4200")
    settings = _serve_settings()
    assert (settings.port, settings.host, settings.seed) == (4200, "0.0.0.0", False)
    assert _serve_settings("--port", "4300").port == 4300
    assert _serve_settings("--seed").seed is True


def test_lists_and_flags_parse_from_text(monkeypatch):
    monkeypatch.setenv("PLAYSYNC_CORS_ORIGINS", "http://a.example, http://b.example")
    monkeypatch.setenv("PLAYSYNC_PAGINATE", "1")
    settings = _serve_settings("--no-seed")
    assert settings.cors_origins == ("http://a.example", "http://b.example")
    assert settings.paginate is True and settings.seed is False


def test_every_setting_is_listed_by_serve_help():
    help_text = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in help_text


@pytest.mark.parametrize(
    ("env", "flag"),
    [({"PLAYSYNC_PORT": "many"}, "--port"), ({"PLAYSYNC_RATE_LIMIT": "fast"}, "--rate-limit")],
)
def test_a_bad_value_is_one_clear_error_naming_the_setting(env, flag):
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--no-seed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )
    assert result.returncode == 2
    assert flag in result.stderr and "Traceback" not in result.stderr
