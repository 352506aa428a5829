"""The periodic jobs beat sends: retention, the stall sweeper; and their schedule."""

from __future__ import annotations

import os
import time

import pytest
import redis
from celery import Celery

from tasks import jobstore
from tasks import settings
from tasks.maintenance import heartbeat
from tests.parts import User
from tests.parts import wait_for
from tests.system.test_batches_live import BatchWatcher
from tests.system.test_batches_live import send_batch

PURGE = "tasks.retention.purge_expired"
EIGHT_DAYS = 8 * 24 * 3600


def test_beat_sends_the_workers_check_and_retention_and_workers_know_them():
    """The beat schedule names the workers check (lost workers, then the stall sweep when due)
    and retention, each expiring before the next is due; the check comes as often as the
    shorter of its two periods."""
    from tasks import app

    schedule = settings.celery_config()["beat_schedule"]
    tasks = {entry["task"]: entry for entry in schedule.values()}
    assert set(tasks) == {"tasks.maintenance.check_workers", PURGE}
    assert set(tasks) | {"tasks.maintenance.sweep_stalled", "tasks.maintenance.recover_lost"} <= (
        set(app.tasks)
    )
    for entry in tasks.values():
        assert entry["options"]["expires"] <= entry["schedule"]
    check = tasks["tasks.maintenance.check_workers"]["schedule"]
    assert check == min(settings.WORKER_CHECK_S, settings.STALL_SWEEP_S)


@pytest.mark.parametrize(
    ("meta", "record", "expected"),
    [
        ({"status": "PROGRESS", "result": {"ts": 100.0}}, {}, 100.0),
        ({"status": "PROGRESS", "result": {"ts": 100.0}}, {"redelivered_at": "150"}, 150.0),
        ({"status": "STARTED"}, {"started_at": "1970-01-01T00:03:20+00:00"}, 200.0),
        ({"status": "RETRY"}, {"created_at": "1970-01-01T00:05:00+00:00"}, 300.0),
        ({"status": "STARTED"}, {}, None),
    ],
)
def test_heartbeat_is_the_last_sign_of_life(meta, record, expected):
    """A running job's heartbeat is its last progress, start, or redelivery, whichever is last."""
    assert heartbeat(meta, record) == expected


@pytest.fixture
def sender(redis_server) -> Celery:
    """Return a Celery client that sends tasks as beat does."""
    return Celery(broker=redis_server.url, backend=redis_server.url)


def backdate(r: redis.Redis, user: User, job_id: str) -> None:
    """Make a job look created eight days ago, in the user's history and the jobs index."""
    r.zadd(jobstore.USER_KEY.format(user.id), {job_id: time.time() - EIGHT_DAYS})
    r.zadd(jobstore.JOBS_KEY, {job_id: time.time() - EIGHT_DAYS})


def test_retention_removes_old_finished_jobs_and_tells_their_tabs(stack, user, sender):
    """A finished job older than RETENTION_HOURS is deleted with its files; tabs are told."""
    old, fresh = user.submit("checksum"), user.submit("checksum")
    for job_id in (old, fresh):
        user.wait_pushed(job_id, {"SUCCESS"})
    r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    backdate(r, user, old)
    removed = sender.send_task(PURGE, queue="default").get(timeout=20)
    assert removed["removed"] >= 1
    wait_for(lambda: {"id": old, "deleted": True} in user.updates(old))
    assert user.http.get(f"{user.url}/api/jobs/{old}").status_code == 404
    assert not (stack.upload_dir / old).exists()
    assert user.job(fresh)["state"] == "SUCCESS" and (stack.upload_dir / fresh).exists()


def test_retention_of_a_batchs_jobs_takes_the_batch_with_the_last(stack, user, sender):
    """A batch of two finished jobs: retention of one leaves the batch counting one job and
    one deleted; retention of the other deletes the batch too, and its tabs are told."""
    watcher = BatchWatcher(user)
    batch = send_batch(user, [("a.txt", b"aa\n"), ("b.txt", b"bb\n")], "checksum").json()
    watcher.wait_state(batch["id"], {"SUCCESS"})
    r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    url = f"{user.url}/api/batches/{batch['id']}"
    for job_id in batch["jobs"]:
        backdate(r, user, job_id)
        sender.send_task(PURGE, queue="default").get(timeout=20)
        wait_for(lambda j=job_id: {"id": j, "deleted": True} in user.updates(j))
        if job_id == batch["jobs"][0]:
            left = user.http.get(url).json()
            assert left["jobs"] == batch["jobs"][1:] and left["deleted_jobs"] == 1
    wait_for(lambda: {"id": batch["id"], "deleted": True} in watcher.of(batch["id"]))
    assert user.http.get(url).status_code == 404
    listed = user.http.get(f"{user.url}/api/batches").json()["batches"]
    assert batch["id"] not in {b["id"] for b in listed}


def test_retention_removes_orphan_folders_and_stale_partial_uploads(stack, sender):
    """Folders no job claims and half-received uploads are removed once old, not before."""
    orphan = stack.upload_dir / "0d5c2f0e-0000-4000-8000-000000000000"
    orphan.mkdir(parents=True)
    (orphan / "input").write_bytes(b"left behind")
    partial = stack.upload_dir / ".incoming" / "deadbeef"
    partial.parent.mkdir(exist_ok=True)
    partial.write_bytes(b"half")
    recent = stack.upload_dir / "0d5c2f0e-0000-4000-8000-000000000001"
    recent.mkdir()
    long_ago = time.time() - EIGHT_DAYS
    for path in (orphan, partial):
        os.utime(path, (long_ago, long_ago))
    sender.send_task(PURGE, queue="default").get(timeout=20)
    assert not orphan.exists() and not partial.exists()
    assert recent.exists()
    recent.rmdir()


def test_retention_leaves_running_jobs_alone(stack, sender):
    """An old job that still runs is kept, whatever its age."""
    user = User(stack.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 100, "interval_ms": 50})
        user.wait_pushed(job_id, {"PROGRESS"})
        r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
        backdate(r, user, job_id)
        sender.send_task(PURGE, queue="default").get(timeout=20)
        assert user.job(job_id)["state"] in ("STARTED", "PROGRESS")
        user.http.post(f"{user.url}/api/jobs/{job_id}/cancel")
        wait_for(lambda: user.job(job_id)["state"] == "REVOKED")
    finally:
        user.close()
