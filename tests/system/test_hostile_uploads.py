"""Hostile uploads, as a table: each gets a clear JSON error and nothing is written.

Every case runs over the real web server (``hostile_stack``, with an 8 MiB upload limit).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from tests.hostile import CSV
from tests.hostile import multipart
from tests.hostile import png
from tests.hostile import raw
from tests.hostile import zipped
from tests.parts import HOSTILE_LIMIT as LIMIT
from tests.parts import User


@dataclass
class Case:
    """One hostile request and what it must get back."""

    send: Callable[[User], requests.Response]
    status: int
    code: str


def upload(processor: str, content: bytes, name: str = "f.bin", **fields) -> Callable:
    """Return a sender of one ordinary multipart upload."""

    def send(user: User) -> requests.Response:
        data = {"processor": processor} | fields
        return user.http.post(user.url + "/api/jobs", data=data, files={"file": (name, content)})

    return send


def streamed(size: int) -> Callable:
    """Return a sender of a chunked upload (no Content-Length) of ``size`` bytes of file."""

    def send(user: User) -> requests.Response:
        head = multipart([("processor", None, b"checksum")])[: -len("--b0undary--\r\n")]
        head += b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n\r\n'

        def body():
            yield head
            for _ in range(size // 65536):
                yield b"x" * 65536
            yield b"\r\n--b0undary--\r\n"

        return user.http.post(
            user.url + "/api/jobs",
            data=body(),
            headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        )

    return send


def lying_length(declared: int) -> Callable:
    """Return a sender whose Content-Length is smaller than the body it sends."""

    def send(user: User) -> requests.Response:
        body = multipart([("processor", None, b"checksum"), ("file", "a.bin", b"y" * 100_000)])
        host, port = user.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        cookie = "; ".join(f"{k}={v}" for k, v in user.http.cookies.items())
        connection.putrequest("POST", "/api/jobs")
        for name, value in {
            "Content-Type": "multipart/form-data; boundary=b0undary",
            "Content-Length": str(declared),
            "Cookie": cookie,
            "X-CSRFToken": user.csrf,
        }.items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(body)
        answer = connection.getresponse()
        response = requests.Response()
        response.status_code, response._content = answer.status, answer.read()
        response.headers.update(answer.getheaders())
        return response

    return send


def without_csrf(token: str | None) -> Callable:
    """Return a sender of a good upload with a missing or wrong CSRF token."""

    def send(user: User) -> requests.Response:
        headers = {} if token is None else {"X-CSRFToken": token}
        session = requests.Session()
        session.cookies.update(user.http.cookies)
        return session.post(
            user.url + "/api/jobs",
            data={"processor": "checksum"},
            files={"file": ("a.txt", b"x")},
            headers=headers,
        )

    return send


REFUSED = {
    "no file field": Case(
        raw(
            multipart([("processor", None, b"checksum")]), "multipart/form-data; boundary=b0undary"
        ),
        400,
        "no_file",
    ),
    "file in another field": Case(
        raw(
            multipart([("processor", None, b"checksum"), ("upload", "a", b"x")]),
            "multipart/form-data; boundary=b0undary",
        ),
        400,
        "no_file",
    ),
    "empty file": Case(upload("checksum", b""), 400, "empty_file"),
    "no processor": Case(
        raw(multipart([("file", "a", b"x")]), "multipart/form-data; boundary=b0undary"),
        400,
        "unknown_processor",
    ),
    "unknown processor": Case(upload("rm -rf", b"x"), 400, "unknown_processor"),
    "processor path": Case(upload("../checksum", b"x"), 400, "unknown_processor"),
    "options not JSON": Case(upload("simulate", b"x", options="{steps: 1"), 400, "bad_options"),
    "options a list": Case(upload("simulate", b"x", options="[1, 2]"), 400, "bad_options"),
    "options a string": Case(upload("simulate", b"x", options='"steps"'), 400, "bad_options"),
    "options too long": Case(
        upload("simulate", b"x", options="{" + " " * 20_000 + "}"), 400, "bad_options"
    ),
    "options nested deep": Case(
        upload("simulate", b"x", options="[" * 5000 + "]" * 5000), 400, "bad_options"
    ),
    "option of wrong type": Case(
        upload("simulate", b"x", options='{"steps": "ten"}'), 400, "bad_options"
    ),
    "option out of range": Case(
        upload("simulate", b"x", options='{"steps": 10000000}'), 400, "bad_options"
    ),
    "option not a number": Case(
        upload("simulate", b"x", options='{"interval_ms": NaN}'), 400, "bad_options"
    ),
    "unknown option": Case(upload("simulate", b"x", options='{"shell": "ls"}'), 400, "bad_options"),
    "unknown algorithm": Case(
        upload("checksum", b"x", options='{"algorithms": ["rot13"]}'), 400, "bad_options"
    ),
    "thumbnail size huge": Case(
        upload("image-thumbnails", png(), options='{"sizes": [100000]}'), 400, "bad_options"
    ),
    # Refused from its Content-Length, before a byte of it is read.
    "declared too large": Case(upload("checksum", b"z" * (LIMIT + 100_000)), 413, "file_too_large"),
    # Its Content-Length fits the envelope, the file inside does not: refused while streaming.
    "file over the limit": Case(upload("checksum", b"z" * (LIMIT + 10_000)), 413, "file_too_large"),
    "no length, chunked": Case(streamed(LIMIT + 1024 * 1024), 411, "length_required"),
    "length that lies": Case(lying_length(2_000), 400, "bad_multipart"),
    "not multipart": Case(
        raw(b'{"processor": "checksum"}', "application/json"), 400, "not_multipart"
    ),
    "multipart without boundary": Case(
        raw(multipart([("file", "a", b"x")]), "multipart/form-data"), 400, "bad_multipart"
    ),
    "multipart garbage": Case(
        raw(b"\x00\xff" * 500, "multipart/form-data; boundary=b0undary"), 400, "bad_multipart"
    ),
    "multipart cut short": Case(
        raw(
            multipart([("processor", None, b"checksum"), ("file", "a", b"x" * 5000)])[:-200],
            "multipart/form-data; boundary=b0undary",
        ),
        400,
        "bad_multipart",
    ),
    "PNG to csv-profile": Case(upload("csv-profile", png(), "data.csv"), 415, "unsupported_file"),
    "binary to csv-to-xlsx": Case(
        upload("csv-to-xlsx", b"\x00\x01\x02" * 100, "data.csv"), 415, "unsupported_file"
    ),
    "text to image-thumbnails": Case(
        upload("image-thumbnails", CSV, "photo.png"), 415, "unsupported_file"
    ),
    "empty zip to image-thumbnails": Case(
        upload("image-thumbnails", zipped({}), "photos.zip"), 415, "unsupported_file"
    ),
    "PDF named .png": Case(
        upload("image-thumbnails", b"%PDF-1.7\n" + b"x" * 100, "a.png"), 415, "unsupported_file"
    ),
    "missing CSRF token": Case(without_csrf(None), 400, "csrf_failed"),
    "wrong CSRF token": Case(without_csrf("forged-token"), 400, "csrf_failed"),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_hostile_upload_is_refused_and_writes_nothing(hostile_stack, victim, case):
    """Each hostile upload gets its JSON error; no job, no file, no folder is left."""
    before = set(hostile_stack.upload_dir.iterdir()) if hostile_stack.upload_dir.exists() else set()
    jobs_before = victim.http.get(victim.url + "/api/jobs").json()["jobs"]
    response = case.send(victim)
    assert response.status_code == case.status, response.content[:300]
    assert response.headers["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert error["code"] == case.code and error["message"]
    assert "Traceback" not in error["message"]
    assert victim.http.get(victim.url + "/api/jobs").json()["jobs"] == jobs_before
    incoming = hostile_stack.upload_dir / ".incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []
    after = set(hostile_stack.upload_dir.iterdir())
    assert after - before <= {incoming}
