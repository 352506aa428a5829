"""The job registry in Redis: what the result backend does not keep (owner, file, times).

A hash per job (``taskboard:job:<id>``) and a sorted set per user (``taskboard:user:<user>``,
scored by creation time) for the user's history, newest first.
"""

from __future__ import annotations

import json
import time
from datetime import UTC
from datetime import datetime

import redis

from tasks.jobstore import EVENTS_CHANNEL  # noqa: F401 - part of the registry's interface
from tasks.jobstore import JOB_KEY
from tasks.jobstore import META_KEY
from tasks.jobstore import USER_KEY
from tasks.jobstore import announce  # noqa: F401
from tasks.jobstore import forget  # noqa: F401
from tasks.jobstore import parse_meta


def now_iso(ts: float | None = None) -> str:
    """Return a Unix time as ISO 8601 UTC."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).isoformat()


def create(
    r: redis.Redis, job_id: str, owner: str, filename: str, size: int, processor: str, options: dict
) -> dict:
    """Record a new job and return its record."""
    created = time.time()
    record = {
        "id": job_id,
        "owner": owner,
        "filename": filename,
        "size": size,
        "processor": processor,
        "options": json.dumps(options),
        "created_at": now_iso(created),
    }
    with r.pipeline() as pipe:
        pipe.hset(JOB_KEY.format(job_id), mapping=record)
        pipe.zadd(USER_KEY.format(owner), {job_id: created})
        pipe.execute()
    return record


def get(r: redis.Redis, job_id: str, owner: str | None = None) -> dict | None:
    """Return a job's record, or None when it does not exist or belongs to someone else."""
    record = r.hgetall(JOB_KEY.format(job_id))
    if not record or (owner is not None and record.get("owner") != owner):
        return None
    return record


def get_with_meta(r: redis.Redis, job_ids: list[str]) -> list[tuple[dict, dict | None]]:
    """Return records and backend metas of several jobs in one round trip, skipping gone ones."""
    with r.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hgetall(JOB_KEY.format(job_id))
            pipe.get(META_KEY.format(job_id))
        replies = pipe.execute()
    found = []
    for record, raw in zip(replies[::2], replies[1::2], strict=True):
        if record:
            found.append((record, parse_meta(raw)))
    return found


def page(r: redis.Redis, owner: str, limit: int, before: str | None = None) -> list[str] | None:
    """Return the ids of a user's jobs, newest first, older than ``before``; None if unknown."""
    key = USER_KEY.format(owner)
    if before is None:
        return r.zrevrange(key, 0, limit - 1)
    rank = r.zrevrank(key, before)
    if rank is None:
        return None
    return r.zrevrange(key, rank + 1, rank + limit)


def mark_times(r: redis.Redis, job_id: str, **times: str) -> None:
    """Record started_at or finished_at once: the first writer wins."""
    with r.pipeline(transaction=False) as pipe:
        for name, value in times.items():
            pipe.hsetnx(JOB_KEY.format(job_id), name, value)
        pipe.execute()
