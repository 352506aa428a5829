"""Several web processes and workers on one Redis: one dashboard, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import pytest
import redis
from celery import Celery

from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User
from tests.parts import wait_for


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Start web A with one worker, web B with two more, on one Redis; stalls show after 2 s."""
    redis_server = RedisServer(tmp_path_factory.mktemp("cluster-redis"))
    # Every part boots at once; then each web server must answer healthy.
    settings = {"STALL_AFTER_S": "2", "healthy": False}
    a = Stack(redis_server, tmp_path_factory.mktemp("web-a"), concurrency=1, **settings)
    b = Stack(
        redis_server,
        tmp_path_factory.mktemp("web-b"),
        upload_dir=a.upload_dir,
        concurrency=1,
        **settings,
    )
    b.extra = b.start_worker("worker2")
    a.wait_healthy()
    b.wait_healthy()
    wait_for(lambda: User(a.url).http.get(a.url + "/healthz").json()["workers"] == 3, 30)
    yield a, b
    parts_alive = [p for p in (b.extra,) if p.poll() is None]
    for p in parts_alive:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(10)
    b.stop()
    a.stop()
    redis_server.stop()


def test_job_submitted_on_one_web_is_watched_live_from_another_once(cluster):
    """A tab on web B gets every update of a job sent through web A, each exactly once."""
    a, b = cluster
    on_a = User(a.url)
    on_b = User(b.url)
    on_b.http.cookies.update(on_a.http.cookies)
    on_a.connect()
    on_b.connect()
    try:
        job_id = on_a.submit("simulate", options={"steps": 20, "interval_ms": 50})
        on_b.wait_pushed(job_id, {"SUCCESS"})
        on_a.wait_pushed(job_id, {"SUCCESS"})
        # A queued job's place pushed once it is sent is an update of its own.
        seen_a, seen_b = (
            [
                (u["state"], u["progress"]["ts"], u.get("queue_position"))
                for u in tab.updates(job_id)
            ]
            for tab in (on_a, on_b)
        )
        assert len(seen_b) == len(set(seen_b)), "an update arrived twice"
        assert len(seen_a) == len(set(seen_a)), "an update arrived twice"
        # Each web's relay reads a queued job's state when its subscription is confirmed: one
        # may read it before the job's place is set (and push the place after), the other
        # after, or not at all when the job starts first. So the queued updates may differ in
        # number; from the start on, each tab gets the same updates.
        started = [u for u in seen_a if u[0] != "PENDING"]
        assert [u for u in seen_b if u[0] != "PENDING"] == started, (seen_a, seen_b)
        # The created event (PENDING) reaches each web through the Socket.IO message queue, the
        # states through its own relay: no order holds between the two, and a job that starts
        # at once can be seen STARTED first (a tab keeps the later state: joblist.isStale).
        # Each tab gets it all the same.
        for seen in (seen_a, seen_b):
            assert "PENDING" in {state for state, _, _ in seen}, (seen_a, seen_b)
        assert sum(1 for s, _, _ in seen_b if s == "PROGRESS") >= 5
    finally:
        on_a.close()
        on_b.close()


def test_jobs_are_shared_among_all_workers(cluster):
    """Thirty jobs spread over the three workers, and every one of them finishes."""
    a, _ = cluster
    user = User(a.url)
    user.connect()
    try:
        ids = [user.submit("simulate", options={"steps": 4, "interval_ms": 50}) for _ in range(30)]
        for job_id in ids:
            user.wait_pushed(job_id, {"SUCCESS"}, timeout=60)
        r = redis.Redis.from_url(a.redis.url, decode_responses=True)
        workers = Counter(
            json.loads(r.get(f"celery-task-meta-{job_id}"))["worker"] for job_id in ids
        )
        print(f"jobs per worker: {dict(workers)}")
        assert len(workers) == 3 and sum(workers.values()) == 30
    finally:
        user.close()


def test_job_of_a_killed_worker_is_redelivered_and_finishes(cluster):
    """SIGKILL of the worker running a job: the sweeper sends it again and another finishes it."""
    a, b = cluster
    user = User(a.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 40, "interval_ms": 100})
        running = user.wait_pushed(job_id, {"PROGRESS"})
        assert running
        r = redis.Redis.from_url(a.redis.url, decode_responses=True)
        holder = json.loads(r.get(f"celery-task-meta-{job_id}"))["worker"]
        victim = next(
            p
            for s, p in (("worker-", a.worker), ("worker-", b.worker), ("worker2-", b.extra))
            if holder.startswith(s + str((a if p is a.worker else b).port) + "@")
        )
        killed_at = time.monotonic()
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        # Beat is not part of this stack: run the sweep as beat would, until it takes the job.
        sender = Celery(broker=a.redis.url, backend=a.redis.url)

        def redelivered():
            sender.send_task("tasks.maintenance.sweep_stalled", queue="default").get(timeout=10)
            return r.hget(f"taskboard:job:{job_id}", "redelivered")

        wait_for(redelivered, timeout=30, interval=1)
        final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=60)
        print(f"redelivered and finished {time.monotonic() - killed_at:.1f} s after the kill")
        assert final["state"] == "SUCCESS"
        meta = json.loads(r.get(f"celery-task-meta-{job_id}"))
        assert meta["worker"] != holder
    finally:
        user.close()
