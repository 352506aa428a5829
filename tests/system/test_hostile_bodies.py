"""Hand-made bodies that are small but hostile: JSON nested thousands deep, forms of many or
large fields. Each gets a 4xx JSON error that says what is wrong, and nothing is made."""

from __future__ import annotations

import pytest

from tests.parts import User
from tests.parts import web_beside

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


@pytest.mark.parametrize(
    "fields",
    [
        [(f"f{i}", (None, "x")) for i in range(3000)],
        [("options", (None, '{"algorithms": [' + ",".join(['"sha256"'] * 40000) + "]}"))],
    ],
    ids=["many-fields", "large-field"],
)
def test_form_too_big_besides_its_file_says_so(user, fields):
    """A small upload whose form has thousands of fields, or a field far larger than options
    need, is refused with 413 naming the form, not the file's size limit."""
    response = user.http.post(
        user.url + "/api/jobs",
        files=[("file", ("a.csv", b"a,b\n1,2\n"))] + fields,
        data={"processor": "checksum"},
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "form_too_large"
    assert "larger than this server takes" not in error["message"]
    assert user.http.get(user.url + "/api/jobs").json()["jobs"] == []


@pytest.fixture(scope="module")
def gevent_stack(stack, redis_server, tmp_path_factory):
    """Start a second web server, in gevent mode, beside the first."""
    with web_beside(stack, redis_server, tmp_path_factory.mktemp("gevent"), "gevent") as web:
        yield web


@pytest.fixture(params=["eventlet", "gevent"])
def green_user(request, stack, gevent_stack) -> User:
    """Return a new user of the eventlet server, then of the gevent one (no live connection)."""
    return User(stack.url if request.param == "eventlet" else gevent_stack.url)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/jobs?q=" + "x" * 9000),
        ("get", "/api/jobs/" + "a" * 20000),
        ("post", "/api/jobs/bulk?" + "a=1&" * 5000),
        ("get", "/api/jobs?q=" + "x" * 1_000_000),
    ],
    ids=["query", "path", "write", "megabyte"],
)
def test_request_line_over_the_limit_is_refused_as_json(green_user, method, path):
    """A request line over the server's 8 KB limit is answered 414 with the contract's JSON
    error, a write's included (before its CSRF check), and the server still answers after."""
    response = getattr(green_user.http, method)(green_user.url + path)
    assert response.status_code == 414
    error = response.json()["error"]
    assert error["code"] == "uri_too_long"
    assert "8,192" in error["message"]
    assert green_user.http.get(green_user.url + "/api/jobs").status_code == 200


def test_page_request_line_over_the_limit_is_the_sites_page(green_user):
    """A page's address over the limit gets the site's error page with 414, not JSON."""
    response = green_user.http.get(green_user.url + "/?" + "x" * 9000)
    assert response.status_code == 414
    assert response.headers["Content-Type"].startswith("text/html")
    assert "414" in response.text
