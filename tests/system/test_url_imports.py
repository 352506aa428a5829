"""URL imports and jobs run later on real parts: the ``fetching`` stack (its own Redis, with
``FETCH_ALLOW_PRIVATE=1``) and a real HTTP server in the test serving the files."""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import redis

from tasks import later
from tasks.formats.amounts import size_text
from tests.fetching import CSV
from tests.fetching import PAUSED_AFTER
from tests.parts import MAX_UPLOAD_BYTES
from tests.parts import User
from tests.parts import wait_for


def iso(seconds: float) -> str:
    """Return now plus ``seconds`` as ISO 8601 with its offset."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def import_url(user: User, url: str, **more) -> dict:
    """Submit a URL import and return its snapshot."""
    response = user.http.post(
        user.url + "/api/jobs", json={"url": url, "processor": "csv-profile"} | more
    )
    assert response.status_code == 202, response.text
    return response.json()


def test_url_import_downloads_with_bytes_progress_then_processes(fetching, fetcher, files_server):
    """A URL import shows "downloading" in bytes, then its processor's result, and keeps the
    URL's last segment as its name."""
    job = import_url(fetcher, files_server.url + "/data/sales%20q1.csv?token=1")
    assert job["filename"] == "sales q1.csv"
    assert job["url"].startswith(files_server.url)
    done = fetcher.wait_pushed(job["id"], {"SUCCESS", "FAILURE"}, timeout=30)
    assert done["state"] == "SUCCESS", done["error"]
    assert done["result"]["rows"] == 20000
    downloading = [
        e for e in fetcher.updates(job["id"]) if e["progress"]["message"] == "downloading"
    ]
    assert downloading and downloading[-1]["progress"]["unit"] == "bytes"
    assert downloading[-1]["progress"]["total"] == len(CSV)
    assert fetcher.job(job["id"])["size"] == len(CSV)


def test_download_progress_shows_bytes_as_they_arrive(fetching, fetcher, files_server):
    """A server that sends a few KB, then pauses: the pushed progress shows those bytes while
    it waits (not 0 B until a whole read's worth came), and the import ends well after."""
    files_server.hold()
    try:
        job = import_url(fetcher, files_server.url + "/paused.csv")

        def arrived():
            updates = fetcher.updates(job["id"])
            return next((e for e in updates if e["progress"]["current"] == PAUSED_AFTER), None)

        seen = wait_for(arrived, timeout=3)
    finally:
        files_server.release()
    assert seen["progress"]["message"] == "downloading"
    assert seen["progress"]["total"] == len(CSV)
    done = fetcher.wait_pushed(job["id"], {"SUCCESS", "FAILURE"}, timeout=30)
    assert done["state"] == "SUCCESS", done["error"]
    assert done["result"]["rows"] == 20000


def test_redirect_is_followed(fetching, fetcher, files_server):
    """A redirect to an allowed address is followed."""
    job = import_url(fetcher, files_server.url + "/moved")
    done = fetcher.wait_pushed(job["id"], {"SUCCESS", "FAILURE"}, timeout=30)
    assert done["state"] == "SUCCESS", done["error"]


@pytest.mark.parametrize("path", ["/big-declared.csv", "/big-streamed.csv"])
def test_download_over_the_limit_fails_and_leaves_nothing(fetching, fetcher, files_server, path):
    """A file larger than MAX_UPLOAD_BYTES, declared or found while streaming: FAILURE with a
    sentence, and nothing of it on disk."""
    job = import_url(fetcher, files_server.url + path)
    done = fetcher.wait_pushed(job["id"], {"SUCCESS", "FAILURE"}, timeout=30)
    assert done["state"] == "FAILURE"
    assert done["error"] == (
        f"The file at that URL is larger than this server takes: {size_text(MAX_UPLOAD_BYTES)}."
    )
    assert not (fetching.upload_dir / job["id"]).exists()


def test_download_that_never_ends_fails_after_the_limit_and_leaves_nothing(
    fetching, fetcher, files_server
):
    """A server that sends a few bytes now and then (no read ever times out) holds the job no
    longer than FETCH_MAX_S (5 s here): FAILURE with a sentence, nothing on disk."""
    job = import_url(fetcher, files_server.url + "/drip")
    done = fetcher.wait_pushed(job["id"], {"SUCCESS", "FAILURE"}, timeout=30)
    assert done["state"] == "FAILURE"
    assert done["error"] == "The download from 127.0.0.1 took longer than 5 s."
    assert not (fetching.upload_dir / job["id"]).exists()


def test_missing_file_fails_with_the_servers_answer(fetching, fetcher, files_server):
    """A URL the server does not have: FAILURE saying what it answered."""
    job = import_url(fetcher, files_server.url + "/nothing.txt")
    done = fetcher.wait_pushed(job["id"], {"SUCCESS", "FAILURE"}, timeout=30)
    assert done["state"] == "FAILURE"
    assert "answered 404" in done["error"]


def test_url_on_this_machine_is_refused_without_the_setting(user, files_server):
    """Without FETCH_ALLOW_PRIVATE, 127.0.0.1 is refused at once: 400 url_not_allowed."""
    response = user.http.post(
        user.url + "/api/jobs", json={"url": files_server.url + "/a.csv", "processor": "checksum"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "url_not_allowed"
    assert user.http.get(user.url + "/api/jobs").json()["jobs"] == []


@pytest.fixture
def public_address():
    """Add an address Python counts as global (not private, not reserved) to the loopback
    interface for the test, and remove it after: a server on this machine then looks public to
    the stack's address rules. Needs root (CAP_NET_ADMIN), which the test tier has."""
    import ipaddress
    import random
    import subprocess

    for _ in range(20):
        address = f"1.2.3.{random.randint(2, 254)}"  # APNIC's unrouted research block
        assert ipaddress.ip_address(address).is_global
        added = subprocess.run(
            ["ip", "addr", "add", f"{address}/32", "dev", "lo"], capture_output=True, text=True
        )
        if added.returncode == 0:
            break
        assert "exists" in added.stderr, (
            f"{added.stderr.strip()}: adding an address to the loopback interface needs root with "
            "CAP_NET_ADMIN (a container: docker run --cap-add NET_ADMIN)"
        )
    else:
        raise AssertionError("no free address to add to the loopback interface")
    try:
        yield address
    finally:
        subprocess.run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], check=True)


def test_redirect_to_a_private_address_is_refused(stack, user, files_server, public_address):
    """On a stack without FETCH_ALLOW_PRIVATE, a URL on a public address is taken, and its
    redirect to a private address (127.0.0.2) is refused when the worker connects: FAILURE with
    a sentence, nothing on disk, and the private server never asked."""
    port = files_server.url.rsplit(":", 1)[1]
    job = import_url(user, f"http://{public_address}:{port}/to-private")
    done = user.wait_pushed(job["id"], {"SUCCESS", "FAILURE"}, timeout=30)
    assert done["state"] == "FAILURE"
    assert "private or link-local address" in done["error"]
    assert files_server.hits("/to-private")
    assert files_server.hits("/data/secret.csv") == []
    assert not (stack.upload_dir / job["id"]).exists()


def upload_at(user: User, run_at: str) -> dict:
    """Upload a small file to checksum, to run at ``run_at``; return its snapshot."""
    response = user.http.post(
        user.url + "/api/jobs",
        files={"file": ("later.txt", b"hello later\n")},
        data={"processor": "checksum", "run_at": run_at},
    )
    assert response.status_code == 202, response.text
    return response.json()


def first_pushed(user: User, job_id: str, states: set[str]) -> float:
    """Return when the first pushed snapshot of the job in one of ``states`` came."""
    wait_for(lambda: any(e.get("state") in states for e in user.updates(job_id)), timeout=15)
    with user._lock:
        pairs = list(zip(user.received, user.events, strict=True))
    return min(t for t, e in pairs if e.get("id") == job_id and e.get("state") in states)


def test_run_at_starts_within_a_second_of_its_time(fetching, fetcher):
    """An upload with run_at a few seconds ahead is SCHEDULED, then starts within 1 s."""
    run_at = iso(3)
    job = upload_at(fetcher, run_at)
    assert job["state"] == "SCHEDULED"
    assert fetcher.job(job["id"])["state"] == "SCHEDULED"
    first_seen = first_pushed(fetcher, job["id"], {"PENDING", "STARTED", "PROGRESS", "SUCCESS"})
    at = datetime.fromisoformat(run_at).timestamp()
    assert at - 0.05 <= first_seen <= at + 1.0, first_seen - at
    done = fetcher.wait_pushed(job["id"], {"SUCCESS"}, 15)
    assert done["state"] == "SUCCESS"


def test_cancel_before_its_time_means_it_never_runs(fetching, fetcher):
    """A job cancelled while SCHEDULED is REVOKED and never starts, even past its time."""
    run_at = iso(1.5)
    job = upload_at(fetcher, run_at)
    response = fetcher.http.post(f"{fetching.url}/api/jobs/{job['id']}/cancel")
    assert response.status_code == 202
    assert response.json()["state"] == "REVOKED"
    r = redis.Redis.from_url(fetching.redis_url, decode_responses=True)
    wait_for(lambda: r.zscore(later.DUE_KEY, job["id"]) is None, timeout=10)
    time.sleep(0.5)  # past its time: the sender has seen it and let it be
    assert fetcher.job(job["id"])["state"] == "REVOKED"
    assert not r.hget(f"taskboard:job:{job['id']}", "started_at")


def test_json_body_without_a_length_or_too_long_is_refused(user):
    """A URL import's body is read into memory: chunked (no length) is 411, over 64 KiB 400."""

    def chunks():
        yield b'{"url": "https://1.1.1.1/a.csv", '
        yield b'"processor": "checksum"}'

    headers = {"Content-Type": "application/json"}
    chunked = user.http.post(user.url + "/api/jobs", data=chunks(), headers=headers)
    assert chunked.status_code == 411
    assert chunked.json()["error"]["code"] == "length_required"
    padded = b'{"url": "https://1.1.1.1/a.csv", "processor": "checksum", "options": {"x": "'
    padded += b"y" * 70_000 + b'"}}'
    long = user.http.post(user.url + "/api/jobs", data=padded, headers=headers)
    assert long.status_code == 400
    assert long.json()["error"]["code"] == "bad_json"
    assert user.http.get(user.url + "/api/jobs").json()["jobs"] == []
