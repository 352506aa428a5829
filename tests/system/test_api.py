"""The HTTP API's answers to bad requests: clear JSON errors, and nothing changed."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import redis as redis_client
import requests

from tasks import queueline
from tests.parts import MAX_UPLOAD_BYTES
from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User
from tests.parts import wait_for
from webapp import processes as parts


def job_count(user: User) -> int:
    """Return how many jobs the user has."""
    return len(user.http.get(user.url + "/api/jobs?limit=200").json()["jobs"])


def incoming(stack) -> list:
    """Return the files left half-received in the upload folder."""
    folder = stack.upload_dir / ".incoming"
    return list(folder.iterdir()) if folder.exists() else []


def test_upload_is_stored_under_a_generated_name(stack, user):
    """The client's file name never reaches the disk; it is cleaned for display."""
    job_id = user.submit("checksum", filename="..\\../etc/pass\twd\x7f.txt")
    job = user.job(job_id)
    assert job["filename"] == "passwd.txt"
    assert sorted(p.name for p in (stack.upload_dir / job_id).iterdir()) in (
        ["input"],
        ["input", "output"],
    )


def test_create_answers_202_with_location_and_snapshot(user):
    """A good upload answers 202, the job's snapshot and its Location."""
    response = user.upload("simulate", options={"steps": 1, "interval_ms": 0})
    assert response.status_code == 202
    job = response.json()
    assert response.headers["Location"] == f"/api/jobs/{job['id']}"
    assert set(job) == {
        "id",
        "processor",
        "filename",
        "size",
        "state",
        "progress",
        "result",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "notify",
        "attempt",
        "max_attempts",
        "retry_at",
        "queue_position",
        "retry_of",
        "options",
    }
    assert job["notify"] == []
    assert set(job["progress"]) == {
        "current",
        "total",
        "unit",
        "percent",
        "message",
        "rate",
        "eta_s",
        "ts",
    }
    assert job["state"] == "PENDING" and job["size"] == 6


ENDPOINTS = [
    ("get", "/api/jobs/{}"),
    ("post", "/api/jobs/{}/cancel"),
    ("get", "/api/jobs/{}/result"),
    ("delete", "/api/jobs/{}"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_another_users_job_is_answered_like_a_missing_one(user, other_user, method, path):
    """Every job endpoint answers 404 for another user's job, exactly as for an unknown id."""
    job_id = user.submit("checksum")
    user.wait_pushed(job_id, {"SUCCESS"})
    for target in (job_id, str(uuid.uuid4()), "not-a-uuid", "..%2F..%2Fetc"):
        response = getattr(other_user.http, method)(other_user.url + path.format(target))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    response = getattr(other_user.http, method)(other_user.url + path.format(job_id))
    assert response.json() == {"error": {"code": "not_found", "message": "No such job."}}
    assert user.job(job_id)["state"] == "SUCCESS"


def test_subscribe_to_another_users_job_is_not_found(user, other_user):
    """``subscribe`` answers not_found for another user's job and for ids that are not jobs."""
    job_id = user.submit("checksum")
    for target in (job_id, str(uuid.uuid4()), "x" * 1000, None, 42):
        answer = other_user.sio.call("subscribe", {"job_id": target}, timeout=5)
        assert answer["error"]["code"] == "not_found"
    answer = other_user.sio.call("subscribe", "not a dict", timeout=5)
    assert answer["error"]["code"] == "not_found"


def test_result_of_unfinished_job_is_a_conflict(user):
    """The result of a running job answers 409; a job without a file answers 404."""
    job_id = user.submit("simulate", options={"steps": 100, "interval_ms": 20})
    response = user.http.get(f"{user.url}/api/jobs/{job_id}/result")
    assert response.status_code == 409
    assert user.http.delete(f"{user.url}/api/jobs/{job_id}").status_code == 409
    user.http.post(f"{user.url}/api/jobs/{job_id}/cancel")
    user.wait_pushed(job_id, {"REVOKED"})
    response = user.http.get(f"{user.url}/api/jobs/{job_id}/result")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_result_file"


def test_healthz_counts_workers(stack):
    """/healthz says Redis is up and counts the workers that answer."""

    def answer() -> dict | None:
        response = requests.get(stack.url + "/healthz")
        assert response.status_code == 200
        body = response.json()
        return body if body["workers"] == 1 else None

    # A worker an earlier test stopped on this Redis counts as online for OPS_ONLINE_GRACE_S
    # (one missed answer is a busy worker, not a gone one); then only the stack's own answers.
    assert wait_for(answer, timeout=30, interval=0.5) == {"redis": "ok", "workers": 1}


@pytest.fixture(scope="module")
def broken_stack(tmp_path_factory):
    """Start a web server whose broker does not answer, and no worker, on a Redis of its own."""
    redis = RedisServer(tmp_path_factory.mktemp("broken-redis"))
    dead = f"redis://127.0.0.1:{parts.free_port()}/0"
    running = Stack(
        redis, tmp_path_factory.mktemp("broken"), worker=False, healthy=False, BROKER_URL=dead
    )
    yield running
    running.stop()
    redis.stop()


def test_healthz_is_503_without_workers(broken_stack):
    """/healthz answers 503, same shape, when no worker replies."""
    response = requests.get(broken_stack.url + "/healthz")
    assert response.status_code == 503
    assert response.json() == {"redis": "ok", "workers": 0}


def test_job_that_cannot_be_queued_is_503_and_leaves_nothing(broken_stack):
    """When the broker cannot be reached, the upload answers 503 and no job or file remains."""
    user = User(broken_stack.url)
    response = user.upload("checksum")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "queue_unavailable"
    assert job_count(user) == 0
    assert [p.name for p in broken_stack.upload_dir.iterdir() if p.name != ".incoming"] == []
    # Nor a place in a queue's line, which every later job would count ahead of it.
    r = redis_client.Redis.from_url(broken_stack.redis_url)
    assert r.hlen(queueline.PLACE_KEY) == 0 and r.zcard(queueline.line_key("default")) == 0


def test_upload_larger_than_a_read_buffer_is_taken_whole(user):
    """A file of many 64 KiB reads, with line breaks everywhere, arrives byte for byte."""
    content = b"".join(b"%07d,some text,1.5\n" % n for n in range(40_000))[: MAX_UPLOAD_BYTES - 1]
    job_id = user.submit("checksum", content=content, filename="big.csv")
    final = user.wait_pushed(job_id, {"SUCCESS"})
    assert final["size"] == len(content)
    assert final["result"]["digests"]["sha256"] == hashlib.sha256(content).hexdigest()
