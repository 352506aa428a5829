"""Cancel, as the contract says: queued jobs never start, running ones stop within 2 s."""

from __future__ import annotations

import time

import redis
from celery import Celery

from tasks import jobstore
from tasks import registry
from tests.parts import wait_for

LONG = {"steps": 400, "interval_ms": 50}


def cancel(user, job_id: str):
    """Ask for a cancel over HTTP."""
    return user.http.post(f"{user.url}/api/jobs/{job_id}/cancel")


def test_cancel_stops_running_job(stack, user):
    """A running job reaches REVOKED within 2 s of its cancel, and its outputs are gone."""
    job_id = user.submit("simulate", options=LONG)
    user.wait_pushed(job_id, {"PROGRESS"})
    started = time.monotonic()
    response = cancel(user, job_id)
    assert response.status_code == 202
    user.wait_pushed(job_id, {"REVOKED"}, timeout=2)
    elapsed = time.monotonic() - started
    print(f"running job revoked in {elapsed * 1000:.0f} ms")
    final = user.job(job_id)
    assert final["state"] == "REVOKED" and final["progress"]["current"] < 400
    assert final["finished_at"] and final["error"] is None
    assert not (stack.upload_dir / job_id / "output").exists()


def test_cancel_of_queued_job_means_it_never_starts(user):
    """A job cancelled while queued behind busy workers is REVOKED and never runs."""
    blockers = [user.submit("simulate", options=LONG) for _ in range(2)]
    for job_id in blockers:
        user.wait_pushed(job_id, {"PROGRESS"})
    queued = user.submit("simulate", options={"steps": 3, "interval_ms": 10})
    response = cancel(user, queued)
    assert response.status_code == 202 and response.json()["state"] == "REVOKED"
    for job_id in blockers:
        cancel(user, job_id)
        user.wait_pushed(job_id, {"REVOKED"})
    time.sleep(1)  # time for a wrongly started job to show itself
    states = [u["state"] for u in user.updates(queued)]
    # Queued, possibly with its place in the queue pushed as an update of its own, then the end
    # once: never started.
    assert states[-1] == "REVOKED" and set(states[:-1]) == {"PENDING"}, states
    assert user.job(queued)["state"] == "REVOKED"


def test_cancel_terminates_job_that_stopped_reporting(user):
    """A job that does not report is killed after the grace period, and still ends REVOKED."""
    job_id = user.submit("simulate", options={"steps": 2, "interval_ms": 30000})
    user.wait_pushed(job_id, {"PROGRESS"})
    started = time.monotonic()
    assert cancel(user, job_id).status_code == 202
    user.wait_pushed(job_id, {"REVOKED"}, timeout=3)
    print(f"silent job revoked in {(time.monotonic() - started) * 1000:.0f} ms")
    time.sleep(0.5)
    assert user.job(job_id)["state"] == "REVOKED"


def test_worker_still_works_after_a_terminate(user):
    """After a job was killed, the worker's pool takes new jobs."""
    job_id = user.submit("checksum")
    assert user.wait_pushed(job_id, {"SUCCESS"})


def test_cancel_of_finished_job_is_a_conflict(user):
    """Cancelling a finished job answers 409 and changes nothing."""
    job_id = user.submit("checksum")
    user.wait_pushed(job_id, {"SUCCESS"})
    response = cancel(user, job_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_finished"
    assert wait_for(lambda: user.job(job_id)["state"] == "SUCCESS")


def test_cancelled_job_is_never_started_by_a_worker_that_missed_its_revoke(
    stack, redis_server, user
):
    """A worker that never heard a job's revoke (restarted since: Celery keeps revokes in
    memory) still drops it: the job stays REVOKED, never STARTED, and gets no start time."""
    blockers = [user.submit("simulate", options=LONG) for _ in range(2)]
    for job_id in blockers:
        user.wait_pushed(job_id, {"PROGRESS"})
    job_id = user.submit("simulate", options={"steps": 3, "interval_ms": 10})
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    # The cancel as the web side records it, without the broadcast a restarted worker misses.
    jobstore.request_cancel(r, job_id)
    sender = Celery(broker=redis_server.url, backend=redis_server.url)
    sender.conf.result_serializer = "json"
    sender.backend.mark_as_revoked(job_id, "cancelled")
    # And the message delivered a second time, as after a restart with the job unacknowledged.
    task = registry.get("simulate").task.name
    sender.send_task(task, args=[{"steps": 3, "interval_ms": 10}], task_id=job_id)
    for blocker in blockers:
        cancel(user, blocker)
        user.wait_pushed(blocker, {"REVOKED"})
    wait_for(lambda: f"job {job_id} was cancelled before it ran" in stack.log("worker"), 10)
    time.sleep(0.5)  # time for a wrongly started job to show itself
    states = [u["state"] for u in user.updates(job_id)]
    assert "STARTED" not in states and "PROGRESS" not in states, states
    final = user.job(job_id)
    assert final["state"] == "REVOKED" and final["started_at"] is None
