"""Redis down under the web server: the API says so in its JSON (503) and changes nothing; the
same requests work again once Redis is back."""

from __future__ import annotations

import pytest
import requests

from tests.parts import User
from tests.parts import wait_for
from tests.parts import web_alone


@pytest.fixture(scope="module")
def lone_stack(tmp_path_factory):
    """Start a web server alone on a Redis of its own, so that stopping it disturbs no other."""
    yield from web_alone(tmp_path_factory, "down")


REQUESTS = [
    ("get", "/api/jobs", {}),
    ("get", "/api/jobs/00000000-0000-0000-0000-000000000000", {}),
    ("get", "/api/batches", {}),
    ("get", "/api/schedules", {}),
    (
        "post",
        "/api/jobs",
        {"files": {"file": ("a.csv", b"a,b\n1,2\n")}, "data": {"processor": "checksum"}},
    ),
    ("post", "/api/jobs/bulk", {"json": {"action": "delete", "filter": {}}}),
]


def test_api_answers_503_json_while_redis_is_down(lone_stack):
    """Every API request made while Redis is down gets a 503 saying the store is unreachable,
    never a bare 500; once Redis is back the same requests answer as usual."""
    user = User(lone_stack.url)
    lone_stack.redis.stop()
    try:
        for method, path, kwargs in REQUESTS:
            response = getattr(user.http, method)(lone_stack.url + path, timeout=30, **kwargs)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["Content-Type"] == "application/json"
            error = response.json()["error"]
            assert error["code"] == "store_unavailable", path
            assert "Redis" in error["message"] and "Traceback" not in response.text
            assert response.headers["Retry-After"]
    finally:
        lone_stack.redis.start()
    ok = wait_for(lambda: user.http.get(lone_stack.url + "/api/jobs", timeout=10).ok, 30)
    assert ok
    assert user.http.get(lone_stack.url + "/api/jobs").json()["jobs"] == []
    assert [p.name for p in lone_stack.upload_dir.iterdir() if p.name != ".incoming"] == []
    assert requests.get(lone_stack.url + "/healthz").json()["redis"] == "ok"
