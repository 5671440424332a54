"""The server starts, serves the library, and a write round-trips."""


def test_a_track_added_over_rest_is_listed(api, playlist):
    created = api.post(f"/api/playlists/{playlist}/", json={"track_id": 3})
    assert created.status_code == 201
    listed = api.get(f"/api/playlists/{playlist}/").json()
    assert [item["id"] for item in listed] == [created.json()["id"]]
    assert listed[0]["track"]["title"] == "Hotel California"
