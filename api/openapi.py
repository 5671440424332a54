"""The OpenAPI document of the REST API, and a self-contained page that renders it."""

from __future__ import annotations

from typing import Any


def openapi_spec() -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "playsync", "version": "1"}, "paths": {}}


def docs_page() -> str:
    return "<!doctype html><title>playsync API</title><p>See /api/openapi.json</p>"
