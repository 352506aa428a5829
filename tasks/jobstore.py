"""The job contract, owned here and used by the web side and the workers alike: states, every
Redis key, the shared reads and writes of job records, the cancel flag, and time helpers.

A job is a hash ``taskboard:job:<id>`` (owner, file, processor, options, times) beside Celery's
result entry ``celery-task-meta-<id>``; each user has a sorted set of their job ids scored by
creation time (their history, newest first) and a set of those queued or running.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import redis
from celery import states

from tasks import files
from tasks import joblist
from tasks import settings

# States: Celery's, and the one Taskboard's progress reports add.
PENDING = states.PENDING
STARTED = states.STARTED
PROGRESS = "PROGRESS"
# A job given a later time (run_at) that has not been sent yet (tasks/later.py).
SCHEDULED = "SCHEDULED"
RETRY = states.RETRY
SUCCESS = states.SUCCESS
FAILURE = states.FAILURE
REVOKED = states.REVOKED
# Every state a snapshot may show, in the order a job goes through them.
STATES = (SCHEDULED, PENDING, STARTED, PROGRESS, RETRY, SUCCESS, FAILURE, REVOKED)
TERMINAL = frozenset(states.READY_STATES)
RUNNING = frozenset({STARTED, PROGRESS, RETRY})

# Keys: a job's record, its backend entry (Celery's name), a user's history and open jobs.
JOB_KEY = "taskboard:job:{}"
META_KEY = "celery-task-meta-{}"
USER_KEY = "taskboard:user:{}"
ACTIVE_KEY = "taskboard:active:{}"
# A job's own log lines (tasks/joblog.py), and the number of the last one.
JOB_LOG_KEY = "taskboard:joblog:{}"
JOB_LOG_SEQ_KEY = "taskboard:joblog-seq:{}"
# Set by a cancel, read by the job's progress reports.
CANCEL_KEY = "taskboard:cancel:{}"
# Job events from the worker side that the backend does not publish (deleted by retention).
EVENTS_CHANNEL = "taskboard:events"
# Each new job's id, on its owner's channel: web processes follow the jobs of their users.
USER_JOBS_CHANNEL = "taskboard:user-jobs:{}"
# Indexes, so that periodic work costs what is running, not what is retained: every job by
# creation time (retention), the unfinished ones (the sweeper, the operations counts), and the
# finished ones per state by finish time over the last hour (the operations counts).
JOBS_KEY = "taskboard:jobs"
OPEN_KEY = "taskboard:ops:open"
DONE_KEY = "taskboard:ops:done:{}"
SEEDED_KEY = "taskboard:indexes-seeded"
# The operations page: the workers' last answers.
WORKERS_KEY = "taskboard:ops:workers"
WORKERS_VIEW_KEY = "taskboard:ops:workers-view"
OPS_TURN_KEY = "taskboard:ops:turn"
# One stall sweep, and one lost-worker check, at a time across beat processes; one resend of
# a job at a time; when each worker last answered.
SWEEP_LOCK = "taskboard:sweep-lock"
LOST_LOCK = "taskboard:lost-lock"
REDELIVER_CLAIM = "taskboard:redelivering:{}"
WORKERS_SEEN_KEY = "taskboard:workers:seen"
# Personal API tokens: a token's record by the SHA-256 of the token, and each user's
# token ids (id -> that digest), for listing and revoking (webapp/tokens.py).
TOKEN_KEY = "taskboard:token:{}"
USER_TOKENS_KEY = "taskboard:tokens:{}"
# The Socket.IO connections opened with a token (by token id), closed when it is revoked.
TOKEN_SOCKETS_KEY = "taskboard:token-sockets:{}"

CANCEL_FLAG_TTL_S = 24 * 3600
STALLED = "The worker running this job stopped and the job could not be finished."


class Stalled(Exception):
    """A job that stopped reporting and that no worker holds any more."""


@cache
def client() -> redis.Redis:
    """Return this process's Redis client for the job records (worker side)."""
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def now_iso(ts: float | None = None) -> str:
    """Return a Unix time (now by default) as ISO 8601 UTC."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).isoformat()


def parse_time(value: object) -> datetime | None:
    """Return an ISO 8601 time as an aware datetime (naive means UTC), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def timestamp(value: object) -> float | None:
    """Return an ISO 8601 time as Unix time, or None."""
    moment = parse_time(value)
    return moment.timestamp() if moment else None


def parse_meta(raw: str | bytes | None) -> dict | None:
    """Decode a result backend entry, or None."""
    if not raw:
        return None
    try:
        meta = json.loads(raw)
    except ValueError:
        return None
    return meta if isinstance(meta, dict) else None


def state_of(meta: dict | None) -> str:
    """Return a job's state from its backend entry; a job with none yet is queued."""
    return (meta or {}).get("status") or PENDING


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
    its files."""
    from tasks import queueline  # it imports this module

    job_id = record["id"]
    with r.pipeline() as pipe:
        queueline.leave(pipe, job_id)  # a job sent that the broker then refused
        pipe.delete(JOB_KEY.format(job_id), META_KEY.format(job_id))
        pipe.delete(JOB_LOG_KEY.format(job_id), JOB_LOG_SEQ_KEY.format(job_id))
        pipe.zrem(USER_KEY.format(record["owner"]), job_id)
        pipe.zrem(JOBS_KEY, job_id)
        pipe.zrem(OPEN_KEY, job_id)
        joblist.unindex(pipe, record["owner"], job_id, record.get("processor", ""))
        pipe.execute()
    files.remove_job(job_id, root)


def forget(r: redis.Redis, record: dict, root: Path | None = None) -> None:
    """Delete a job from a worker or beat, and tell the web processes so tabs drop its row."""
    remove(r, record, root)
    announce(r, record["owner"], {"id": record["id"], "deleted": True})


def note_finished(r: redis.Redis, job_id: str, state: str, finished_at: str | None) -> bool:
    """Move a job from the unfinished index to the finished one of its state; tell whether this
    call did it (the first of the processes that see a job end)."""
    with r.pipeline() as pipe:
        pipe.zrem(OPEN_KEY, job_id)
        pipe.zadd(DONE_KEY.format(state), {job_id: timestamp(finished_at) or time.time()}, nx=True)
        return bool(pipe.execute()[1])


def open_jobs(r: redis.Redis, batch: int = 500) -> Iterator[tuple[dict, dict | None]]:
    """Yield the record and backend entry of each unfinished job, reading the unfinished index
    a batch (one round trip) at a time; jobs found ended are moved to the finished index and
    vanished ones dropped, so the index stays the size of the work in hand."""
    seed_indexes(r)
    start = 0
    while ids := r.zrange(OPEN_KEY, start, start + batch - 1):
        kept = 0
        with r.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(JOB_KEY.format(job_id))
                pipe.get(META_KEY.format(job_id))
            replies = pipe.execute()
        for job_id, record, raw in zip(ids, replies[::2], replies[1::2], strict=True):
            meta = parse_meta(raw)
            if not record:
                r.zrem(OPEN_KEY, job_id)
            elif state_of(meta) in TERMINAL:
                note_finished(r, job_id, state_of(meta), (meta or {}).get("date_done"))
            else:
                kept += 1
                yield record, meta
        start += kept


def expired_jobs(r: redis.Redis, cutoff: float, batch: int = 500) -> Iterator[list[dict]]:
    """Yield, a batch at a time, the records of finished jobs created before ``cutoff`` (Unix
    time); each batch costs Redis one bounded range read and one pipeline of reads, so retention
    never holds it up for long. Unfinished old jobs are passed over."""
    seed_indexes(r)
    offset = 0
    while ids := r.zrangebyscore(JOBS_KEY, "-inf", cutoff, start=offset, num=batch):
        with r.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(JOB_KEY.format(job_id))
                pipe.get(META_KEY.format(job_id))
            replies = pipe.execute()
        expired, gone = [], []
        for job_id, record, raw in zip(ids, replies[::2], replies[1::2], strict=True):
            if not record:
                gone.append(job_id)
            elif raw is None and (timestamp(record.get("run_at")) or 0) < cutoff:
                expired.append(record)  # a job run later is kept until its time is past
            elif raw is not None and state_of(parse_meta(raw)) in TERMINAL:
                expired.append(record)
        if gone:
            r.zrem(JOBS_KEY, *gone)
        # What is removed leaves the range; what stays (still running) is stepped over.
        offset += len(ids) - len(gone) - len(expired)
        yield expired


def seed_indexes(r: redis.Redis) -> None:
    """Once per Redis, index the jobs recorded before the indexes existed (one SCAN)."""
    if not r.set(SEEDED_KEY, "1", nx=True):
        return
    for key in r.scan_iter(JOB_KEY.format("*"), count=1000):
        job_id, created_at = r.hmget(key, "id", "created_at")
        if job_id:
            created = timestamp(created_at) or time.time()
            r.zadd(JOBS_KEY, {job_id: created})
            r.zadd(OPEN_KEY, {job_id: created})
