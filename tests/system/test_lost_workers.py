"""A worker that stops answering loses its jobs to the others within seconds; a worker that
answers keeps its job, however long the job stays silent."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import redis
from celery import Celery

from tasks import jobstore
from tasks.maintenance import recover
from tasks.worker import liveness
from tasks.worker import status
from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User
from tests.parts import wait_for
from webapp import stack as parts


@pytest.fixture
def two_workers(tmp_path):
    """Start web + worker A, worker B and a real beat on a Redis of their own, with the given
    stall limit; beat checks the workers every second and counts one silent for 3 s as lost."""
    started = []

    def start(stall_after_s: str) -> Stack:
        """Start the parts with STALL_AFTER_S set as given."""
        redis_server = RedisServer(tmp_path / "redis")
        stack = Stack(
            redis_server,
            tmp_path,
            concurrency=1,
            healthy=False,  # the second worker and beat boot meanwhile
            STALL_AFTER_S=stall_after_s,
            STALL_SWEEP_S="1",
            WORKER_CHECK_S="1",
            WORKER_LOST_S="3",
        )
        started.append((redis_server, stack))
        stack.extra = stack.start_worker("worker2")
        stack.beat = stack.start_beat()
        stack.wait_healthy()
        # Both workers answering beat's checks before a test starts: on a slow machine the
        # second one may take several seconds to boot.
        r = redis.Redis.from_url(redis_server.url)
        wait_for(lambda: r.hlen("taskboard:workers:seen") == 2, timeout=60)
        return stack

    yield start
    for redis_server, stack in started:
        parts.stop([p for p in (stack.extra, stack.beat) if p.poll() is None])
        stack.stop()
        redis_server.stop()


def holder(r: redis.Redis, job_id: str) -> str:
    """Return the name of the worker the result backend says runs the job."""
    return json.loads(r.get(f"celery-task-meta-{job_id}"))["worker"]


def test_job_of_a_killed_worker_finishes_on_another_within_seconds(two_workers):
    """SIGKILL of the worker running a job: the job is sent again once the worker has been
    silent for WORKER_LOST_S, without waiting for the stall limit, and ends SUCCESS elsewhere."""
    # The stall sweeper (5 minutes of silence) is not what finds it.
    stack = two_workers("300")
    r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    user = User(stack.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 30, "interval_ms": 100})
        user.wait_pushed(job_id, {"PROGRESS"})
        running_on = holder(r, job_id)
        victim = stack.worker if running_on.startswith("worker-") else stack.extra
        killed_at = time.monotonic()
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=30)
        took = time.monotonic() - killed_at
        print(f"killed worker's job ended SUCCESS elsewhere {took:.1f} s after the kill")
        assert final["state"] == "SUCCESS"
        assert holder(r, job_id) != running_on
        assert r.hget(f"taskboard:job:{job_id}", "redelivered") == "1"
        # Lost after 3 s, checked every second, then 3 s of work: about 7 s (14 s seen in a
        # container on a busy 2-core host), far below the 300 s stall limit.
        assert took < 25
        assert "lost its worker" in stack.log("worker") + stack.log("worker2")
        # The person following the job reads why it started over, in the job's own log.
        lines = user.http.get(f"{stack.url}/api/jobs/{job_id}/logs").json()["lines"]
        told = [line for line in lines if "its worker stopped answering" in line["message"]]
        assert told and "it starts again (time 1 of" in told[0]["message"], lines
        assert told[0]["level"] == "warning"
        # Its own message was taken back from the dead worker's hold: the broker will not give
        # it back once more after the visibility timeout.
        assert not [m for m in r.hvals("unacked") if job_id in m]
    finally:
        user.close()


def test_slow_but_alive_worker_keeps_its_silent_job(two_workers):
    """A job silent for three times the stall limit, on a worker that answers, is never sent
    to the idle second worker: it runs once and ends SUCCESS."""
    stack = two_workers("2")
    r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    user = User(stack.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 1, "interval_ms": 6000})
        user.wait_pushed(job_id, {"PROGRESS"})
        running_on = holder(r, job_id)
        final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=20)
        assert final["state"] == "SUCCESS"
        assert holder(r, job_id) == running_on
        assert r.hget(f"taskboard:job:{job_id}", "redelivered") is None
        logs = stack.log("worker") + stack.log("worker2")
        assert logs.count(f"job {job_id} started") == 1
        # The checks did run meanwhile: both workers were seen answering.
        assert len(r.hgetall("taskboard:workers:seen")) == 2
    finally:
        user.close()


def test_no_answer_at_all_is_a_failed_broadcast_not_lost_workers(redis_server):
    """When not one worker answers (not even the one running the check), nobody is lost."""
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    r.hset(jobstore.WORKERS_SEEN_KEY, "celery@gone-quiet", time.time() - 3600)
    try:
        assert recover(r, {}, time.time())["skipped"] is True
        assert liveness.lost_workers(r, {"celery@other"}, time.time()) != {}
        assert r.hexists(jobstore.WORKERS_SEEN_KEY, "celery@gone-quiet")
    finally:
        r.delete(jobstore.WORKERS_SEEN_KEY)


def test_the_status_call_ends_once_every_expected_worker_answered(two_workers):
    """Asked with the names of the workers seen lately, the status broadcast returns their
    answers as soon as all have come (the check holds a worker process for milliseconds, not
    the whole timeout); with one of them dead it waits the timeout and returns the others'."""
    stack = two_workers("300")
    r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    names = set(r.hgetall(jobstore.WORKERS_SEEN_KEY))
    app = Celery(broker=stack.redis.url)
    try:
        started = time.monotonic()
        replies = status.ask(60, names, app=app)
        assert {name for reply in replies for name in reply} == names
        assert time.monotonic() - started < 30, "it waited for the timeout"
        os.killpg(stack.extra.pid, signal.SIGKILL)
        stack.extra.wait()
        started = time.monotonic()
        replies = status.ask(2, names, app=app)
        assert time.monotonic() - started >= 2
        assert [name for reply in replies for name in reply] == [
            n for n in names if n.startswith("worker-")
        ]
    finally:
        app.close()
