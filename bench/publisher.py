"""A synthetic worker side: jobs in the registry, and PROGRESS states stored and published on
the result backend as Celery's Redis backend does, at a chosen rate, from a process of its own.

Celery stores a state with a GET (it never overwrites SUCCESS), then SET and PUBLISH of the same
JSON on ``celery-task-meta-<id>`` in one pipeline. The publisher sends SET and PUBLISH only, in
one pipeline per tick for every update due: the web side sees exactly what it would see from
workers, for a fraction of the CPU that hundreds of real workers would take on two cores.
"""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid

import redis

from tasks import jobstore

TICK_S = 0.002


def create_jobs(redis_url: str, owners: list[str]) -> list[str]:
    """Record one simulate job for each owner, as the API does, and return their ids."""
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    ids = []
    for owner in owners:
        job_id = str(uuid.uuid4())
        jobstore.create(r, job_id, owner, "bench.bin", 1024, "simulate", {})
        ids.append(job_id)
    r.close()
    return ids


def meta(job_id: str, current: int, total: int, ts: float) -> str:
    """Return a PROGRESS state as Celery stores it, made at ``ts``."""
    progress = {
        "current": current,
        "total": total,
        "unit": "steps",
        "message": f"step {current} of {total}",
        "ts": ts,
    }
    return json.dumps(
        {
            "status": "PROGRESS",
            "result": progress,
            "traceback": None,
            "children": [],
            "date_done": None,
            "name": "tasks.simulate.simulate",
            "args": [{"steps": total, "interval_ms": 100}],
            "kwargs": {},
            "worker": "bench-publisher@localhost",
            "retries": 0,
            "queue": "default",
            "task_id": job_id,
        }
    )


def publish(redis_url: str, job_ids: list[str], rate: float, seconds: float, out) -> None:
    """Store and publish ``rate`` updates a second for each job, for ``seconds``; put the count
    sent, when sending started and ended, and each update's job and ``ts``."""
    r = redis.Redis.from_url(redis_url)
    r.ping()
    out.put("ready")
    interval = 1.0 / rate
    start = time.time() + 0.01
    total = int(seconds * rate)
    # Jobs spread evenly over one interval, as independent workers would be.
    due = [start + i * interval / len(job_ids) for i in range(len(job_ids))]
    done = [0] * len(job_ids)
    sent = 0
    made: list[tuple[str, float]] = []
    end = start + seconds
    while True:
        now = time.time()
        if now >= end:
            break
        with r.pipeline(transaction=False) as pipe:
            for i, job_id in enumerate(job_ids):
                while due[i] <= now and done[i] < total:
                    done[i] += 1
                    ts = time.time()
                    made.append((job_id, ts))
                    value = meta(job_id, done[i], total, ts)
                    pipe.set(jobstore.META_KEY.format(job_id), value)
                    pipe.publish(jobstore.META_KEY.format(job_id), value)
                    due[i] += interval
                    sent += 1
            if pipe.command_stack:
                pipe.execute()
        time.sleep(max(0.0, TICK_S - (time.time() - now)))
    r.close()
    out.put({"sent": sent, "start": start, "end": time.time(), "updates": made})


class Publisher:
    """Publish in the background from another process; :meth:`wait` returns what it sent."""

    def __init__(self, redis_url: str, job_ids: list[str], rate: float, seconds: float):
        context = multiprocessing.get_context("spawn")
        self.out: multiprocessing.Queue = context.Queue()
        self.process = context.Process(
            target=publish, args=(redis_url, job_ids, rate, seconds, self.out), daemon=True
        )
        self.process.start()
        # Started (imports and all) before the caller's measurements begin.
        if self.out.get(timeout=60) != "ready":
            raise RuntimeError("the publisher did not start")

    def wait(self) -> dict:
        """Wait until the publisher is done; return how many updates it sent, and when."""
        result = self.out.get(timeout=600)
        self.process.join(timeout=10)
        return result
