"""A queue's line heals when a leave is missed because Redis was down: the worker takes its
jobs out later, and the read of places takes out the jobs that ended or are gone."""

from __future__ import annotations

import json

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tasks import jobstore
from tasks import queueline
from tests.unit.test_jobstore import make_job
from webapp.processes import free_port


def line(r: redis.Redis, queue: str = "default") -> list[str]:
    """Return the ids in a queue's line, first first."""
    return r.zrange(queueline.line_key(queue), 0, -1)


def end(r: redis.Redis, job_id: str, state: str) -> None:
    """Store a job's end in its backend entry as Celery does."""
    meta = {"status": state, "result": None, "date_done": jobstore.now_iso(), "task_id": job_id}
    r.set(jobstore.META_KEY.format(job_id), json.dumps(meta))


def unreachable() -> redis.Redis:
    """Return a client of a Redis that is down (nothing listens on its port), not retrying."""
    return redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0), decode_responses=True)


@pytest.mark.parametrize("how", ["SUCCESS", "FAILURE", "REVOKED", "deleted"])
def test_a_job_that_ended_without_leaving_is_no_longer_counted(r, how):
    """A job whose start could not take it out of the line (Redis was down) and that then
    ended, or was deleted, stops counting for the jobs behind it at the next read of places,
    which tells the web processes that the line moved."""
    first, second, third = (make_job(r, None) for _ in range(3))
    for job_id in (first, second, third):
        queueline.enter(r, job_id, "default")
    if how == "deleted":
        r.delete(jobstore.JOB_KEY.format(first))
    else:
        end(r, first, how)
    moved = r.pubsub(ignore_subscribe_messages=True)
    moved.subscribe(queueline.MOVED_CHANNEL)
    moved.get_message(timeout=1)
    assert queueline.positions(r, [third, second]) == {third: 1, second: 0}
    assert line(r) == [second, third]
    assert r.hget(queueline.PLACE_KEY, first) is None
    message = moved.get_message(timeout=2)
    assert message and message["data"] == "default"
    moved.close()


def test_a_waiting_or_running_job_in_the_line_keeps_its_place(r):
    """Jobs with no backend entry (queued) or a running one (sent again after its worker was
    lost) are not taken out: they wait in the broker's queue."""
    resent, queued, last = (make_job(r, None) for _ in range(3))
    r.set(jobstore.META_KEY.format(resent), json.dumps({"status": "PROGRESS", "result": {}}))
    for job_id in (resent, queued, last):
        queueline.enter(r, job_id, "default")
    assert queueline.positions(r, [last]) == {last: 2}
    assert line(r) == [resent, queued, last]


def test_a_line_is_healed_at_most_once_an_interval(r):
    """The heal of a queue runs once per interval whatever the reads, so a job that ends
    between two heals is taken out by the next one only."""
    first, second = make_job(r, None), make_job(r, None)
    queueline.enter(r, first, "default")
    queueline.enter(r, second, "default")
    assert queueline.positions(r, [second]) == {second: 1}
    end(r, first, "SUCCESS")
    assert queueline.positions(r, [second]) == {second: 1}
    r.delete(queueline.HEALED_KEY.format("default"))  # the interval has passed
    assert queueline.positions(r, [second]) == {second: 0}


def test_a_worker_takes_out_at_the_end_the_job_redis_missed_at_its_start(r, monkeypatch):
    """When Redis cannot be reached as a worker starts a job, the job still runs and is
    remembered; at its end, Redis back, the worker takes it out of its line."""
    job_id, behind = make_job(r, None), make_job(r, None)
    queueline.enter(r, job_id, "default")
    queueline.enter(r, behind, "default")
    down = unreachable()
    monkeypatch.setattr(jobstore, "client", lambda: down)
    queueline.started(task_id=job_id)
    assert job_id in queueline._missed and line(r) == [job_id, behind]
    monkeypatch.setattr(jobstore, "client", lambda: r)
    queueline.ended(task_id=job_id)
    assert job_id not in queueline._missed
    assert line(r) == [behind] and r.hget(queueline.PLACE_KEY, job_id) is None


def test_a_worker_takes_out_missed_jobs_at_its_next_call_that_reaches_redis(r, monkeypatch):
    """A revoked job dropped while Redis was down leaves its line with the next job the
    worker starts."""
    dropped, starting = make_job(r, None), make_job(r, None)
    queueline.enter(r, dropped, "default")
    queueline.enter(r, starting, "default")
    down = unreachable()
    monkeypatch.setattr(jobstore, "client", lambda: down)
    queueline.dropped(request=type("Request", (), {"id": dropped})())
    monkeypatch.setattr(jobstore, "client", lambda: r)
    queueline.started(task_id=starting)
    assert line(r) == [] and not queueline._missed
