"""The indexes periodic work reads, so that it costs what is running, not what is retained:
every job by creation time (retention), the unfinished ones (the stall sweeper, the operations
counts), and the finished ones per state by finish time (the operations counts)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis

from tasks.jobstore.keys import DONE_KEY
from tasks.jobstore.keys import JOB_KEY
from tasks.jobstore.keys import JOBS_KEY
from tasks.jobstore.keys import OPEN_KEY
from tasks.jobstore.keys import SEEDED_KEY
from tasks.jobstore.keys import TERMINAL
from tasks.jobstore.records import read_many
from tasks.jobstore.values import parse_meta
from tasks.jobstore.values import state_of
from tasks.jobstore.values import timestamp


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
        for job_id, (record, raw) in zip(ids, read_many(r, ids), strict=True):
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
    time); each batch costs Redis one bounded range read and one read of the records, so
    retention never holds it up for long. Unfinished old jobs are passed over."""
    seed_indexes(r)
    offset = 0
    while ids := r.zrangebyscore(JOBS_KEY, "-inf", cutoff, start=offset, num=batch):
        expired, gone = [], []
        for job_id, (record, raw) in zip(ids, read_many(r, ids), strict=True):
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
