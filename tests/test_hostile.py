"""Hostile input, as a table: each case gets a clear JSON error (or a FAILURE with a message for
a person) and nothing is written.

Every case runs over the real web server and worker; processors' own hostile files are also
covered, in more depth, by their unit tests.
"""

from __future__ import annotations

import http.client
import io
import json
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
import socketio
from PIL import Image

from tests.conftest import Stack
from tests.conftest import User
from tests.conftest import wait_for

LIMIT = 8 * 1024 * 1024
CSV = b"name,count\nada,1\nbob,2\n"


@pytest.fixture(scope="module")
def hostile_stack(redis_server, tmp_path_factory):
    """Start a stack of its own with an 8 MiB upload limit (room for the big hostile files)."""
    running = Stack(redis_server, tmp_path_factory.mktemp("hostile"), MAX_UPLOAD_BYTES=str(LIMIT))
    yield running
    running.stop()


@pytest.fixture
def victim(hostile_stack) -> User:
    """Return a live user of the hostile stack."""
    u = User(hostile_stack.url)
    u.connect()
    yield u
    u.close()


def png(size=(8, 8)) -> bytes:
    """Return a small PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """Return a PNG whose header claims a huge size over a few bytes of data (an image bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def zipped(entries: dict[str, bytes]) -> bytes:
    """Return a deflated zip of the given entries."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    """Return a multipart body by hand: (field, filename or None, content) per part."""
    out = b""
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"' + (
            f'; filename="{filename}"' if filename else ""
        )
        out += (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode()


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


def raw(body: bytes, content_type: str, **headers) -> Callable:
    """Return a sender of a body built by hand."""

    def send(user: User) -> requests.Response:
        return user.http.post(
            user.url + "/api/jobs", data=body, headers={"Content-Type": content_type} | headers
        )

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


FAILED = {
    "zip bomb": (zipped({"a.png": b"\0" * (200 * 1024 * 1024)}), "image-thumbnails", "unpacks to"),
    "zip traversal": (zipped({"../../etc/evil.png": png()}), "image-thumbnails", "evil.png"),
    "zip in a zip": (
        zipped({"inner.zip": zipped({"a.png": png()})}),
        "image-thumbnails",
        "inner.zip",
    ),
    "too many zip entries": (
        zipped({f"{n}.png": b"" for n in range(1500)}),
        "image-thumbnails",
        "too many entries",
    ),
    "image bomb": (png_claiming(100_000, 100_000), "image-thumbnails", "pixels"),
    "truncated image": (png((300, 300))[:400], "image-thumbnails", "image"),
    "enormous CSV line": (b"a," * (3 * 1024 * 1024) + b"\n", "csv-profile", "longer than"),
    "enormous CSV line to xlsx": (b"b" * (5 * 1024 * 1024), "csv-to-xlsx", "longer than"),
}


@pytest.mark.parametrize(("content", "processor", "words"), FAILED.values(), ids=FAILED.keys())
def test_hostile_file_fails_with_a_message_and_leaves_no_output(
    hostile_stack, victim, content, processor, words
):
    """Files that pass the first look but not the processor end in FAILURE with a sentence."""
    job_id = victim.submit(processor, content=content, filename="hostile.bin")
    final = victim.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=60)
    assert final["state"] == "FAILURE", final["result"]
    assert words.lower() in final["error"].lower(), final["error"]
    assert "Traceback" not in final["error"] and len(final["error"]) < 400
    assert not (hostile_stack.upload_dir / job_id / "output").exists()
    escaped = hostile_stack.upload_dir.parent / "etc"
    assert not escaped.exists()


def test_csv_with_enormous_column_count_is_profiled_within_bounds(victim):
    """A CSV of 100,000 columns is profiled up to the column limit, and says so."""
    header = ",".join(f"c{n}" for n in range(100_000)).encode() + b"\n"
    job_id = victim.submit(
        "csv-profile", content=header + b"1," * 99_999 + b"1\n", filename="w.csv"
    )
    final = victim.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=60)
    message = json.dumps(final["result"]) if final["state"] == "SUCCESS" else final["error"]
    assert "512" in message or "columns" in message.lower()
    assert len(json.dumps(final)) < 2_000_000


NAMES = {
    "traversal": ("../../etc/passwd", "passwd"),
    "windows traversal": ("..\\..\\boot.ini", "boot.ini"),
    "absolute": ("/etc/shadow", "shadow"),
    "control characters": ("bad\tname\x1b[31m\x7f.txt", "badname[31m.txt"),
    "unicode": ("Résumé – 履歴書 📄.csv", "Résumé – 履歴書 📄.csv"),
    "right-to-left override": ("invoice\u202etxt.exe", "invoicetxt.exe"),
    "only dots": ("....", "upload"),
    "very long": ("a" * 5000 + ".csv", "a" * 196 + ".csv"),
    # Sent raw, the header's second filename parameter wins; it is still only a name.
    "quotes and semicolons": ('x"; filename="evil.sh', "evil.sh"),
}


@pytest.mark.parametrize(("sent", "shown"), NAMES.values(), ids=NAMES.keys())
def test_hostile_file_name_is_cleaned_and_never_used_on_disk(hostile_stack, victim, sent, shown):
    """A hostile name is shown cleaned, the file is stored under a generated name, and the
    download's name is safe."""
    # By hand, byte for byte: a client library would escape what a hostile client sends raw.
    body = multipart([("processor", None, b"csv-to-xlsx"), ("file", sent, CSV)])
    response = raw(body, "multipart/form-data; boundary=b0undary")(victim)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    final = victim.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=30)
    assert final["state"] == "SUCCESS", final["error"]
    assert final["filename"] == shown
    folder = hostile_stack.upload_dir / job_id
    assert sorted(p.name for p in folder.iterdir()) == ["input", "output"]
    download = victim.http.get(f"{victim.url}/api/jobs/{job_id}/result")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition


BAD_IDS = [
    "not-a-uuid",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "1" * 1000,
    str(uuid.uuid4()).upper() + "x",
]
ENDPOINTS = [
    ("get", "/api/jobs/{}"),
    ("post", "/api/jobs/{}/cancel"),
    ("get", "/api/jobs/{}/result"),
    ("delete", "/api/jobs/{}"),
    ("get", "/api/jobs?before={}"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("job_id", BAD_IDS)
def test_ids_that_are_not_jobs_are_404(victim, method, path, job_id):
    """Ids that are not UUIDs are answered 404 JSON on every endpoint that takes one."""
    response = getattr(victim.http, method)(victim.url + path.format(job_id))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "payload",
    [
        {"job_id": str(uuid.uuid4())},
        {"job_id": "../x"},
        {"job_id": None},
        {"job_id": ["a"]},
        [],
        "x",
        7,
        None,
    ],
)
def test_subscribe_to_what_is_not_ones_job_is_not_found(victim, payload):
    """``subscribe`` answers not_found to anything but one of the user's own jobs."""
    answer = victim.sio.call("subscribe", payload, timeout=5)
    assert answer["error"]["code"] == "not_found"


def test_oversized_socket_payload_drops_that_connection_only(hostile_stack, victim):
    """A Socket.IO message over the size limit closes that connection; others carry on."""
    intruder = User(hostile_stack.url)
    client = intruder.connect()
    client.emit("subscribe", {"job_id": "x" * (200 * 1024)})
    wait_for(lambda: not client.connected, timeout=10)
    client.disconnect()
    answer = victim.sio.call("subscribe", {"job_id": str(uuid.uuid4())}, timeout=5)
    assert answer["error"]["code"] == "not_found"


def test_socket_from_another_site_is_refused(hostile_stack, victim):
    """A WebSocket opened by another site's page (its Origin) is refused."""
    cookie = "; ".join(f"{k}={v}" for k, v in victim.http.cookies.items())
    client = socketio.Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(
            hostile_stack.url,
            headers={"Cookie": cookie, "Origin": "https://evil.example"},
            transports=["websocket"],
        )
