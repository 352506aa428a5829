"""A job's record and the user's indexes of it: created, read (a page of jobs in one round
trip of two commands), marked, deleted; the cancel flag.

A job is a hash ``taskboard:job:<id>`` (owner, file, processor, options, times) beside Celery's
result entry ``celery-task-meta-<id>``; each user has a sorted set of their job ids scored by
creation time (their history, newest first) and a set of those queued or running.
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import redis

from tasks import files
from tasks import joblist
from tasks import settings
from tasks.jobstore.keys import ACTIVE_KEY
from tasks.jobstore.keys import CANCEL_FLAG_TTL_S
from tasks.jobstore.keys import CANCEL_KEY
from tasks.jobstore.keys import EVENTS_CHANNEL
from tasks.jobstore.keys import JOB_KEY
from tasks.jobstore.keys import JOB_LOG_KEY
from tasks.jobstore.keys import JOB_LOG_SEQ_KEY
from tasks.jobstore.keys import JOBS_KEY
from tasks.jobstore.keys import META_KEY
from tasks.jobstore.keys import OPEN_KEY
from tasks.jobstore.keys import TERMINAL
from tasks.jobstore.keys import USER_JOBS_CHANNEL
from tasks.jobstore.keys import USER_KEY
from tasks.jobstore.values import now_iso
from tasks.jobstore.values import parse_meta

# Reads the records of many jobs as one JSON text, so that a page of 50 jobs costs one reply
# to parse (json.loads, in C) rather than 50 parsed by redis-py. KEYS: the records' keys.
# Returns [the record's fields as a flat list, or false when it is gone, ...].
_READ = """
local out = {}
for i = 1, #KEYS do
  local fields = redis.call('HGETALL', KEYS[i])
  if #fields == 0 then out[i] = false else out[i] = fields end
end
return cjson.encode(out)
"""
_READ_SHA = hashlib.sha1(_READ.encode()).hexdigest()


class Stalled(Exception):
    """A job that stopped reporting and that no worker holds any more."""


@cache
def client() -> redis.Redis:
    """Return this process's Redis client for the job records (worker side)."""
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def request_cancel(r: redis.Redis, job_id: str) -> None:
    """Set the job's cancel flag, which its next progress report reads."""
    r.set(CANCEL_KEY.format(job_id), "1", ex=CANCEL_FLAG_TTL_S)


def cancel_requested(r: Any, job_id: str) -> bool:
    """Tell whether someone asked to cancel the job."""
    return bool(r.exists(CANCEL_KEY.format(job_id)))


def create(
    r: redis.Redis,
    job_id: str,
    owner: str,
    filename: str,
    size: int,
    processor: str,
    options: dict,
    **fields: str,
) -> dict:
    """Record a new job and return its record; ``fields`` are extra strings to keep in it."""
    created = time.time()
    record = {
        "id": job_id,
        "owner": owner,
        "filename": filename,
        "size": size,
        "processor": processor,
        "options": json.dumps(options),
        "created_at": now_iso(created),
        **fields,
    }
    with r.pipeline() as pipe:
        pipe.hset(JOB_KEY.format(job_id), mapping=record)
        pipe.zadd(USER_KEY.format(owner), {job_id: created})
        pipe.sadd(ACTIVE_KEY.format(owner), job_id)
        pipe.zadd(JOBS_KEY, {job_id: created})
        pipe.zadd(OPEN_KEY, {job_id: created})
        joblist.index_new(pipe, owner, job_id, created, processor, filename, fields.get("batch"))
        pipe.publish(USER_JOBS_CHANNEL.format(owner), job_id)
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


def read_many(r: redis.Redis, job_ids: list[str]) -> list[tuple[dict, str | None]]:
    """Return each job's record ({} when gone) and raw backend entry (None when it has none),
    in the order of ``job_ids``: two commands (the records from a script, the entries in one
    ``MGET``) in one round trip, however many jobs."""
    if not job_ids:
        return []
    try:
        records, metas = _read(r, job_ids)
    except redis.exceptions.NoScriptError:  # a new or restarted Redis
        r.script_load(_READ)
        records, metas = _read(r, job_ids)
    return [
        (dict(zip(fields[::2], fields[1::2], strict=True)) if fields else {}, raw)
        for fields, raw in zip(json.loads(records), metas, strict=True)
    ]


def _read(r: redis.Redis, job_ids: list[str]) -> list:
    """Send the two reads of :func:`read_many` in one pipeline and return their replies."""
    with r.pipeline(transaction=False) as pipe:
        pipe.evalsha(_READ_SHA, len(job_ids), *(JOB_KEY.format(job_id) for job_id in job_ids))
        pipe.mget([META_KEY.format(job_id) for job_id in job_ids])
        return pipe.execute()


def get_with_meta(r: redis.Redis, job_ids: list[str]) -> list[tuple[dict, dict | None]]:
    """Return records and backend metas of several jobs in one round trip, skipping gone ones."""
    return [(record, parse_meta(raw)) for record, raw in read_many(r, job_ids) if record]


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


def note_retry(r: redis.Redis, job_id: str, when: float) -> None:
    """Record when a job that failed for a passing reason runs again (Unix time)."""
    r.hset(JOB_KEY.format(job_id), "retry_at", now_iso(when))


def give_up(r: redis.Redis, job_id: str) -> None:
    """Remember that a job was failed for good, whatever message of it comes back later."""
    r.hset(JOB_KEY.format(job_id), "gave_up", "1")


def given_up(r: redis.Redis, job_id: str) -> bool:
    """Tell whether a job was failed for good."""
    return bool(r.hget(JOB_KEY.format(job_id), "gave_up"))


def announce(r: redis.Redis, owner: str, payload: dict[str, Any]) -> None:
    """Tell every web process about a job event from the worker side that the backend does
    not publish (the web side's own events go through Flask-SocketIO's message queue)."""
    r.publish(EVENTS_CHANNEL, json.dumps({"owner": owner, "job": payload}))


def remove(r: redis.Redis, record: dict, root: Path | None = None) -> None:
    """Delete a job: its record, its place in the history and in a queue's line, its result,
    its files; and its batch's record with its last job (every delete of a job passes here)."""
    from tasks import batches  # they import this module
    from tasks import queueline

    job_id = record["id"]
    with r.pipeline() as pipe:
        queueline.leave(pipe, job_id)  # a job sent that the broker then refused
        pipe.delete(JOB_KEY.format(job_id), META_KEY.format(job_id))
        pipe.delete(JOB_LOG_KEY.format(job_id), JOB_LOG_SEQ_KEY.format(job_id))
        pipe.zrem(USER_KEY.format(record["owner"]), job_id)
        pipe.zrem(JOBS_KEY, job_id)
        pipe.zrem(OPEN_KEY, job_id)
        joblist.unindex(pipe, record["owner"], job_id, record.get("processor", ""))
        in_batch = batches.leave(r, pipe, record)
        replies = pipe.execute()
    if in_batch:
        batches.tell_left(r, record, replies[-1])
    files.remove_job(job_id, root)


def forget(r: redis.Redis, record: dict, root: Path | None = None) -> None:
    """Delete a job from a worker or beat, and tell the web processes so tabs drop its row."""
    remove(r, record, root)
    announce(r, record["owner"], {"id": record["id"], "deleted": True})
