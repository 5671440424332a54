"""Service routes: /health, the OpenAPI document, its docs page, the list of playlists (§2)."""

from __future__ import annotations

import pytest

from .conftest import strict_json


@pytest.mark.parametrize("path", ["/health", "/health/"])
def test_health_answers_200_while_the_database_answers(api, path):
    response = api.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    strict_json(response)


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/openapi.json/"])
def test_the_openapi_document_is_served_as_json(api, path):
    response = api.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    spec = strict_json(response)
    assert isinstance(spec, dict)
    assert str(spec["openapi"]).startswith("3.")
    assert isinstance(spec["info"], dict)
    assert isinstance(spec["paths"], dict)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs"])
def test_the_docs_page_is_html(api, path):
    response = api.get(path)
    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "<" in response.text


@pytest.mark.parametrize("path", ["/api/playlists/", "/api/playlists"])
def test_the_playlist_list_is_a_plain_array_of_named_entries(api, pl, path):
    pl.add(1)
    response = api.get(path)
    assert response.status_code == 200
    entries = strict_json(response)
    assert isinstance(entries, list)
    for entry in entries:
        assert isinstance(entry, dict)
        assert isinstance(entry["name"], str)
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names))
    assert pl.base.rsplit("/", 1)[1] in names


def test_no_path_of_the_api_redirects(api, pl):
    item = pl.add(2)["id"]
    base = pl.base
    for method, path, body in [
        ("GET", "/api/tracks", None),
        ("GET", "/api/tracks/2", None),
        ("GET", "/api/playlists", None),
        ("GET", base, None),
        ("GET", f"{base}/{item}", None),
        ("PATCH", f"{base}/{item}", {"position": 3}),
        ("POST", f"{base}/{item}/vote", {"direction": "up"}),
        ("POST", f"{base}/{item}/play", None),
        ("GET", f"{base}/history", None),
        ("POST", f"{base}/stop", None),
        ("POST", base, {"track_id": 3}),
        ("DELETE", f"{base}/{item}", None),
        ("GET", "/api/docs", None),
    ]:
        response = api.request(method, path, json=body)
        assert response.status_code < 300, (method, path, response.status_code)
        assert not response.is_redirect
        assert "location" not in response.headers
