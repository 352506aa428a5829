"""Hand-made bodies that are small but hostile: JSON nested thousands deep. Each gets a 4xx
JSON error that says what is wrong, and nothing is made."""

from __future__ import annotations

import pytest

DEEP = "[" * 30000 + "]" * 30000


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/jobs", '{"url": ' + DEEP[:20000] + "}"),
        ("post", "/api/schedules", '{"url": ' + DEEP + "}"),
        ("post", "/api/jobs/bulk", '{"ids": ' + DEEP + "}"),
        ("post", "/api/tokens", '{"name": ' + DEEP + "}"),
        ("post", "/api/jobs/00000000-0000-0000-0000-000000000000/retry", DEEP),
    ],
    ids=["import", "schedule", "bulk", "token", "retry"],
)
def test_json_nested_too_deep_is_refused_as_bad_json(user, method, path, body):
    """A JSON body nested deeper than the parser goes is the route's answer to malformed JSON
    (400, or its own 404), never a 500."""
    response = getattr(user.http, method)(
        user.url + path, data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["code"] in ("bad_json", "bad_request", "not_found")
    assert user.http.get(user.url + "/api/jobs").json()["jobs"] == []
    assert user.http.get(user.url + "/api/schedules").json()["schedules"] == []
