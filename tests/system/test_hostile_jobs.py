"""Hostile files, names, ids and Socket.IO messages: a FAILURE with a sentence for a person, a
cleaned name, or a clear error; never a file outside the job's folder.

Processors' own hostile files are covered in more depth by their unit tests.
"""

from __future__ import annotations

import json
import uuid

import pytest
import socketio

from tests.hostile import CSV
from tests.hostile import NAMES
from tests.hostile import NAMES_ESCAPED
from tests.hostile import multipart
from tests.hostile import png
from tests.hostile import png_claiming
from tests.hostile import raw
from tests.hostile import zipped
from tests.parts import User
from tests.parts import wait_for
from webapp.api.uploads import stem
from webapp.client.results import attachment_name

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


# Sent raw, the header's second filename parameter wins; it is still only a name.
NAMES_RAW = NAMES | {"quotes and semicolons": ('x"; filename="evil.sh', "evil.sh")}


@pytest.mark.parametrize(("sent", "shown"), NAMES_RAW.values(), ids=NAMES_RAW.keys())
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


@pytest.mark.parametrize(("sent", "shown"), NAMES_ESCAPED.values(), ids=NAMES_ESCAPED.keys())
def test_file_name_with_line_breaks_is_stored_and_downloaded_without_them(victim, sent, shown):
    """A name a browser or a client library sends with CR, LF and quotes escaped (%0D, %0A,
    %22) is shown and downloaded with no control character and no escape left."""
    response = victim.upload("csv-to-xlsx", content=CSV, filename=sent)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    final = victim.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=30)
    assert final["state"] == "SUCCESS", final["error"]
    assert final["filename"] == shown
    download = victim.http.get(f"{victim.url}/api/jobs/{job_id}/result")
    assert attachment_name(download.headers) == stem(shown) + ".xlsx"


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
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("job_id", BAD_IDS)
def test_ids_that_are_not_jobs_are_404(victim, method, path, job_id):
    """Ids that are not UUIDs are answered 404 JSON on every endpoint that takes one."""
    response = getattr(victim.http, method)(victim.url + path.format(job_id))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("job_id", BAD_IDS)
def test_list_paged_from_what_is_not_a_job_id_is_400(victim, job_id):
    """A ``before`` that is not a job id at all is a malformed cursor (400), not a job."""
    response = victim.http.get(victim.url + f"/api/jobs?before={job_id}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_cursor"


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
