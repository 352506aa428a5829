"""Upkeep of a user's list indexes done when the list is read: jobs that ended are moved out
of ``OPEN`` (:func:`settle`), the search lines are compacted after deletes (:func:`compact`),
and jobs recorded before the indexes (or their current shape) are indexed once (:func:`seed`).
"""

from __future__ import annotations

import uuid

import redis

from tasks.joblist.indexes import ENDED_STATES
from tasks.joblist.indexes import GONE_MAX
from tasks.joblist.indexes import OPEN
from tasks.joblist.indexes import SEEDED
from tasks.joblist.indexes import SETTLE_BATCH
from tasks.joblist.indexes import Unfinished
from tasks.joblist.indexes import all_jobs
from tasks.joblist.indexes import by_state
from tasks.joblist.indexes import fold
from tasks.joblist.indexes import index_ended
from tasks.joblist.indexes import index_new
from tasks.joblist.indexes import key
from tasks.joblist.indexes import unfinished


def compact(r: redis.Redis, owner: str, force: bool = False) -> int:
    """Drop deleted jobs' lines from the user's search string when they are ``GONE_MAX`` or a
    quarter of its lines (or whenever ``force``); return how many lines were dropped.

    The string is read and filtered here and written back in a transaction that only runs if
    neither it nor the deleted set changed meanwhile (``WATCH``), so Redis is held only for the
    write; a compaction that lost that race is left to the next list."""
    names, gone, generation = key(owner, "names"), key(owner, "gone"), key(owner, "names-gen")
    with r.pipeline(transaction=False) as pipe:
        pipe.scard(gone)
        pipe.zcard(all_jobs(owner))
        pipe.zcard(by_state(owner, OPEN))
        count, jobs, unfinished = pipe.execute()
    ended = max(0, jobs - unfinished)
    if count == 0 or not (force or count >= GONE_MAX or 4 * count >= ended + count):
        return 0
    with r.pipeline() as pipe:
        try:
            pipe.watch(names, gone)
            text, deleted = pipe.get(names) or "", pipe.smembers(gone)
            if isinstance(text, bytes):
                text, deleted = text.decode(), {d.decode() for d in deleted}
            lines = text.splitlines(keepends=True)
            kept = [line for line in lines if line.partition("\t")[2][:36] not in deleted]
            pipe.multi()
            pipe.set(names, "".join(kept))
            pipe.delete(gone)
            pipe.set(generation, uuid.uuid4().hex)
            pipe.execute()
        except redis.WatchError:
            return 0
    return len(lines) - len(kept)


def settle(r: redis.Redis, owner: str) -> dict[str, Unfinished]:
    """Move the user's jobs that ended since the last look to their state's sets, compact the
    search string when due; return the unfinished jobs by id.

    Costs two commands whatever the number of unfinished jobs (their states in one ``MGET``,
    what else the list needs of them in one hash), and a read of each job that ended."""
    from tasks import jobstore

    seed(r, owner)
    compact(r, owner)
    entries = r.zrange(by_state(owner, OPEN), 0, -1, withscores=True)
    still: dict[str, Unfinished] = {}
    for start in range(0, len(entries), SETTLE_BATCH):
        batch = entries[start : start + SETTLE_BATCH]
        with r.pipeline(transaction=False) as pipe:
            pipe.mget([jobstore.META_KEY.format(job_id) for job_id, _ in batch])
            pipe.hmget(unfinished(owner), [job_id for job_id, _ in batch])
            metas, infos = pipe.execute()
        ended: list[tuple[str, float, dict | None]] = []
        for (job_id, created), raw, info in zip(batch, metas, infos, strict=True):
            meta = jobstore.parse_meta(raw)
            state = jobstore.state_of(meta)
            if state in ENDED_STATES or info is None:
                ended.append((job_id, created, meta))
            else:
                processor, in_batch, name = info.split("\t", 2)
                still[job_id] = Unfinished(created, state, processor, name, in_batch == "B")
        if ended:
            _end(r, owner, ended, still)
    return still


def _end(
    r: redis.Redis,
    owner: str,
    ended: list[tuple[str, float, dict | None]],
    still: dict[str, Unfinished],
) -> None:
    """Move jobs that ended out of OPEN (and forget deleted ones); a job found unfinished
    after all (indexed before the unfinished jobs' hash existed) joins ``still``."""
    from tasks import jobstore

    fields = ("processor", "started_at", "filename", "batch")
    with r.pipeline(transaction=False) as pipe:
        for job_id, _, _ in ended:
            pipe.hmget(jobstore.JOB_KEY.format(job_id), *fields)
        records = pipe.execute()
    with r.pipeline(transaction=False) as pipe:
        for (job_id, created, meta), (processor, started_at, filename, in_batch) in zip(
            ended, records, strict=True
        ):
            state = jobstore.state_of(meta)
            if processor is None:
                pipe.zrem(by_state(owner, OPEN), job_id)  # deleted under us
            elif state in ENDED_STATES:
                done = jobstore.timestamp((meta or {}).get("date_done"))
                began = jobstore.timestamp(started_at)
                duration = done - began if done and began else 0.0
                name = filename or ""
                index_ended(
                    pipe, owner, job_id, created, processor, state, duration, name, in_batch
                )
            else:
                name = fold(filename or "")
                still[job_id] = Unfinished(created, state, processor, name, bool(in_batch))
                tag = f"{processor}\t{'B' if in_batch else '-'}\t{name}"
                pipe.hset(unfinished(owner), job_id, tag)
        pipe.execute()


def seed(r: redis.Redis, owner: str) -> None:
    """Once per user (and shape of the indexes), index the jobs recorded before them: each is
    indexed as new, and :func:`settle` then moves the ended ones."""
    from tasks import jobstore

    if not r.set(key(owner, SEEDED), "1", nx=True):
        return
    ids = r.zrange(jobstore.USER_KEY.format(owner), 0, -1, withscores=True)
    r.delete(key(owner, "names"), key(owner, "gone"), key(owner, "seeded"), unfinished(owner))
    r.set(key(owner, "names-gen"), uuid.uuid4().hex)
    for start in range(0, len(ids), SETTLE_BATCH):
        batch = ids[start : start + SETTLE_BATCH]
        with r.pipeline(transaction=False) as pipe:
            for job_id, _ in batch:
                pipe.hmget(jobstore.JOB_KEY.format(job_id), "processor", "filename", "batch")
            replies = pipe.execute()
        with r.pipeline(transaction=False) as pipe:
            for (job_id, created), (processor, name, in_batch) in zip(batch, replies, strict=True):
                if processor is not None:
                    # Ended jobs are first put back among the unfinished, to be moved once.
                    for state in ENDED_STATES:
                        pipe.zrem(by_state(owner, state), job_id)
                    index_new(pipe, owner, job_id, created, processor, name or "", in_batch)
            pipe.execute()
