"""Logging for ``playsync``: one line per event, as text or JSON, to stderr or a rotated file.

Lines about a playlist or a connection carry them as fields (``extra={"playlist": …,
"connection": …}``): JSON lines have them as keys, text lines end with ``playlist=… connection=…``.
Every line passes through :class:`RedactSecrets` first, so a token in a URL, a header or
an error message is never written out, whoever logged it.
"""

from __future__ import annotations

import logging
import re
import sys
from logging.handlers import RotatingFileHandler

from pythonjsonlogger.json import JsonFormatter

TEXT_CONTEXT = ("playlist", "connection")
"""Fields a text line ends with when its record has them (JSON lines have every field)."""

LOG_FILE_BYTES = 10 << 20
LOG_FILE_BACKUPS = 5

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_SECRETS = (
    (re.compile(r"(?i)\b(token|auth_secret|access_token)=[^&\s\"']+"), r"\1=[redacted]"),
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',]+"), r"\1 [redacted]"),
    # A JWT wherever it appears (three base64url parts, the first a JSON header).
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), "[redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message (and its traceback text) with secrets replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class TextFormatter(logging.Formatter):
    """The classic line, then ``key=value`` for each context field the record carries."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(
            f"{key}={getattr(record, key)}" for key in TEXT_CONTEXT if hasattr(record, key)
        )
        if not context:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} {context}{newline}{rest}"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def setup_logging(
    log_format: str = "text", log_file: str | None = None, level: int = logging.INFO
) -> None:
    """Configure the root logger: the one place ``playsync`` decides where lines go."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {log_format!r}")
    handler: logging.Handler
    if log_file:
        handler = RotatingFileHandler(
            log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
        )
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if log_format == "json" else TextFormatter(_TEXT_FORMAT))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    # Every request logs a line: skip what each record gathers and no line prints (the
    # logging HOWTO's "Optimization"): the caller's frame, the thread, process and asyncio
    # task; 20-50 µs of a request's ~1 ms.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.logAsyncioTasks = False
    # Alembic narrates every step at INFO; the server logs the one line that matters.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
