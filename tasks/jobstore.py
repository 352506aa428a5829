"""What the web side and the worker's periodic jobs both know of a job's records in Redis.

The web side's registry (``webapp/jobs.py``) creates and reads them; retention and the stall
sweeper (``tasks/maintenance.py``) must forget jobs exactly as a user's delete does.
"""

from __future__ import annotations

import json
import time
from datetime import UTC
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import redis
from celery.signals import task_prerun

from tasks import files
from tasks import settings

JOB_KEY = "taskboard:job:{}"
USER_KEY = "taskboard:user:{}"
META_KEY = "celery-task-meta-{}"
EVENTS_CHANNEL = "taskboard:events"
TERMINAL = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
STALLED = "The worker running this job stopped and the job could not be finished."


class Stalled(Exception):
    """A job that stopped reporting and that no worker holds any more."""


@cache
def client() -> redis.Redis:
    """Return this process's Redis client for the job records (worker side)."""
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def now_iso(ts: float | None = None) -> str:
    """Return a Unix time as ISO 8601 UTC."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).isoformat()


@task_prerun.connect
def record_start(task_id: str | None = None, **kwargs: Any) -> None:
    """Record on the worker's clock when a job first starts, before Celery stores STARTED: the
    web side then shows start and end times from one clock."""
    key = JOB_KEY.format(task_id)
    r = client()
    if task_id and r.exists(key):
        r.hsetnx(key, "started_at", now_iso())


def give_up(r: redis.Redis, job_id: str) -> None:
    """Remember that a job was failed for good, whatever message of it comes back later."""
    r.hset(JOB_KEY.format(job_id), "gave_up", "1")


def given_up(r: redis.Redis, job_id: str) -> bool:
    """Tell whether a job was failed for good."""
    return bool(r.hget(JOB_KEY.format(job_id), "gave_up"))


def parse_meta(raw: str | bytes | None) -> dict | None:
    """Decode a result backend entry, or None."""
    if not raw:
        return None
    try:
        meta = json.loads(raw)
    except ValueError:
        return None
    return meta if isinstance(meta, dict) else None


def announce(r: redis.Redis, owner: str, payload: dict[str, Any]) -> None:
    """Tell every web process about a job event from the worker side that the backend does
    not publish (the web side's own events go through Flask-SocketIO's message queue)."""
    r.publish(EVENTS_CHANNEL, json.dumps({"owner": owner, "job": payload}))


def remove(r: redis.Redis, record: dict, root: Path | None = None) -> None:
    """Delete a job: its record, its place in the history, its result, its files."""
    job_id = record["id"]
    with r.pipeline() as pipe:
        pipe.delete(JOB_KEY.format(job_id), META_KEY.format(job_id))
        pipe.zrem(USER_KEY.format(record["owner"]), job_id)
        pipe.execute()
    files.remove_job(job_id, root)


def forget(r: redis.Redis, record: dict, root: Path | None = None) -> None:
    """Delete a job from a worker or beat, and tell the web processes so tabs drop its row."""
    remove(r, record, root)
    announce(r, record["owner"], {"id": record["id"], "deleted": True})
