"""The HTTP API's answers to bad requests, in this process: clear JSON errors, nothing changed.

What needs no worker runs against the in-process app (``client``); what depends on the real
server (chunked bodies, lying lengths, the broker) is in ``tests/system``.
"""

from __future__ import annotations

import io

import pytest

from tasks.formats.amounts import size_text
from tests.parts import MAX_UPLOAD_BYTES


def incoming(app) -> list:
    """Return the files left half-received in the upload folder."""
    folder = app.config["UPLOAD_DIR"] / ".incoming"
    return list(folder.iterdir()) if folder.exists() else []


def form(fields: dict, files: dict | None) -> dict:
    """Return a test client's form data: the fields, and each file as a stream with its name."""
    data = dict(fields)
    for name, (filename, content) in (files or {}).items():
        data[name] = (io.BytesIO(content), filename)
    return data


def upload(client, processor: str = "checksum", content: bytes = b"x", headers=None):
    """Send one upload as the client."""
    data = form({"processor": processor}, {"file": ("a.txt", content)})
    return client.post("/api/jobs", data=data, headers=headers or {})


@pytest.mark.parametrize(
    ("fields", "files", "status", "code"),
    [
        ({"processor": "checksum"}, None, 400, "not_multipart"),
        ({"processor": "checksum"}, {"other": ("a.txt", b"x")}, 400, "no_file"),
        ({"processor": "checksum"}, {"file": ("a.txt", b"")}, 400, "empty_file"),
        ({}, {"file": ("a.txt", b"x")}, 400, "unknown_processor"),
        ({"processor": "nope"}, {"file": ("a.txt", b"x")}, 400, "unknown_processor"),
        ({"processor": "simulate", "options": "{"}, {"file": ("a", b"x")}, 400, "bad_options"),
        ({"processor": "simulate", "options": "[1]"}, {"file": ("a", b"x")}, 400, "bad_options"),
        (
            {"processor": "simulate", "options": '{"steps": 0}'},
            {"file": ("a", b"x")},
            400,
            "bad_options",
        ),
        (
            {"processor": "simulate", "options": '{"steps": "many"}'},
            {"file": ("a", b"x")},
            400,
            "bad_options",
        ),
        (
            {"processor": "simulate", "options": '{"evil": 1}'},
            {"file": ("a", b"x")},
            400,
            "bad_options",
        ),
        (
            {"processor": "simulate", "options": "{" + " " * 20000 + "}"},
            {"file": ("a", b"x")},
            400,
            "bad_options",
        ),
        (
            {"processor": "checksum", "options": '{"algorithms": ["crc0"]}'},
            {"file": ("a", b"x")},
            400,
            "bad_options",
        ),
        (
            {"processor": "checksum"},
            {"file": ("big.bin", b"x" * (MAX_UPLOAD_BYTES + 1))},
            413,
            "file_too_large",
        ),
        (
            {"processor": "checksum"},
            {"file": ("huge.bin", b"x" * (2 * MAX_UPLOAD_BYTES))},
            413,
            "file_too_large",
        ),
    ],
)
def test_bad_upload_is_refused_and_changes_nothing(app, client, fields, files, status, code):
    """Each bad upload gets its JSON error, and no job or file is left behind."""
    before = client.job_count()
    if files is None:
        response = client.post("/api/jobs", data=fields)
    else:
        response = client.post("/api/jobs", data=form(fields, files))
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert client.job_count() == before
    assert incoming(app) == []


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/api/jobs", "Send the job as multipart/form-data."),
        (
            "/api/batches",
            "Send the batch as multipart/form-data, its files in fields named 'file'.",
        ),
    ],
)
def test_body_that_is_not_multipart_is_refused_naming_what_is_sent(client, path, said):
    """A form that is not multipart is told to send a job, or a batch, as multipart."""
    response = client.post(path, data={"processor": "checksum"})
    assert response.status_code == 400
    assert response.get_json()["error"] == {"code": "not_multipart", "message": said}


def test_upload_over_the_limit_says_the_limit_in_binary_units(client):
    """The 413 names the limit as a person reads it, with its exact count of bytes."""
    response = upload(client, content=b"x" * (MAX_UPLOAD_BYTES + 1))
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == (
        f"The upload is larger than this server takes: {size_text(MAX_UPLOAD_BYTES)}."
    )
    assert "MiB (" in response.get_json()["error"]["message"]


def test_write_without_csrf_token_is_refused(client):
    """A POST without the CSRF header, or with a forged one, is a 400 JSON error."""
    response = client.http.post("/api/jobs", data=form({"processor": "checksum"}, None))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    forged = upload(client, headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 400
    assert client.job_count() == 0


def test_another_users_csrf_token_is_refused(app, client):
    """A CSRF token from another session does not pass."""
    stranger = app.test_client()
    stranger.get("/api/session")
    data = form({"processor": "checksum"}, {"file": ("a.txt", b"x")})
    response = stranger.post("/api/jobs", data=data, headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "before=nope"])
def test_bad_list_query_is_refused(client, query):
    """Out-of-range limits and unknown ``before`` ids are JSON errors."""
    response = client.get(f"/api/jobs?{query}")
    assert response.status_code in (400, 404)
    assert "error" in response.get_json()


def test_unknown_api_path_is_json_404(client):
    """Unknown API paths and wrong methods answer JSON, not HTML."""
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    response = client.http.put("/api/jobs")
    assert response.status_code == 405 and response.get_json()["error"]["code"]


def test_processors_are_listed_with_their_options(client):
    """/api/processors lists each processor with its accepted types and options."""
    listed = {p["name"]: p for p in client.get("/api/processors").get_json()}
    assert {"checksum", "simulate"} <= set(listed)
    simulate = listed["simulate"]
    assert simulate["accepts"] == ["*"] and simulate["options"]["steps"]["default"] == 20


def test_pages_send_security_headers(client):
    """Pages and API answers carry a strict CSP and the other security headers."""
    response = client.get("/api/session")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_csrf_is_checked_before_the_upload_is_read(app, client):
    """A write without a token is refused before its body is read: 400, not 413."""
    data = form({"processor": "checksum"}, {"file": ("big", b"x" * (2 * MAX_UPLOAD_BYTES))})
    response = client.http.post("/api/jobs", data=data)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    assert incoming(app) == []
