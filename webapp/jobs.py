"""The job registry in Redis: what the result backend does not keep (owner, file, times).

A hash per job (``taskboard:job:<id>``) and a sorted set per user (``taskboard:user:<user>``,
scored by creation time) for the user's history, newest first.
"""

from __future__ import annotations

import json
import time

import redis

from tasks.jobstore import EVENTS_CHANNEL
from tasks.jobstore import JOB_KEY
from tasks.jobstore import META_KEY
from tasks.jobstore import TERMINAL
from tasks.jobstore import USER_KEY
from tasks.jobstore import now_iso
from tasks.jobstore import parse_meta
from tasks.jobstore import remove

# The jobs of a user that were queued or running when last looked at (a set per user).
ACTIVE_KEY = "taskboard:active:{}"

# What the worker side shares with this registry, re-exported for the web modules.
__all__ = [
    "ACTIVE_KEY",
    "EVENTS_CHANNEL",
    "JOB_KEY",
    "META_KEY",
    "active_count",
    "create",
    "get",
    "get_with_meta",
    "mark_started",
    "now_iso",
    "owned",
    "page",
    "parse_meta",
    "remove",
]


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
        pipe.sadd(ACTIVE_KEY.format(owner), job_id)
        pipe.execute()
    return record


def active_count(r: redis.Redis, owner: str) -> int:
    """Return how many of a user's jobs are queued or running, forgetting those that ended."""
    key = ACTIVE_KEY.format(owner)
    ids = list(r.smembers(key))
    if not ids:
        return 0
    open_ids = {
        record["id"]
        for record, meta in get_with_meta(r, ids)
        if (meta or {}).get("status") not in TERMINAL
    }
    ended = [job_id for job_id in ids if job_id not in open_ids]
    if ended:
        r.srem(key, *ended)
    return len(open_ids)


def get(r: redis.Redis, job_id: str) -> dict | None:
    """Return a job's record, or None when there is no such job."""
    return r.hgetall(JOB_KEY.format(job_id)) or None


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


def owned(r: redis.Redis, job_id: str, owner: str) -> tuple[dict, dict | None] | None:
    """Return a job's record and backend entry when ``owner`` owns it; None for unknown and
    foreign jobs alike."""
    found = get_with_meta(r, [job_id])
    if not found or found[0][0].get("owner") != owner:
        return None
    return found[0]


def page(r: redis.Redis, owner: str, limit: int, before: str | None = None) -> list[str] | None:
    """Return the ids of a user's jobs, newest first, older than ``before``; None if unknown."""
    key = USER_KEY.format(owner)
    if before is None:
        return r.zrevrange(key, 0, limit - 1)
    rank = r.zrevrank(key, before)
    if rank is None:
        return None
    return r.zrevrange(key, rank + 1, rank + limit)


def mark_started(r: redis.Redis, job_id: str, when: str) -> str:
    """Record when a job started, once (the first web process to see it wins); return what
    is recorded."""
    with r.pipeline(transaction=False) as pipe:
        pipe.hsetnx(JOB_KEY.format(job_id), "started_at", when)
        pipe.hget(JOB_KEY.format(job_id), "started_at")
        return pipe.execute()[1] or when
