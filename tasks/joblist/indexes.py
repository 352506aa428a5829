"""The indexes of a user's job list in Redis, kept as jobs are created, end and are deleted.

Each user has sorted sets of their job ids (keys ``taskboard:list:<user>:...``):

- by creation time (Unix seconds): all jobs, the jobs in no batch, per processor, per state,
  per state and processor; the unfinished jobs share one state set, ``OPEN``;
- by duration (seconds from start to end; -1 while unfinished): all jobs, and the ended ones
  per state, per state and processor;

and one string of the ended jobs' search lines (:func:`search_line`), appended once when a job
ends, with the set of deleted jobs whose lines are still in it (``gone``). A line keeps all a
search needs (case-folded name, id, state, batch or not, creation time, duration, processor),
so a search reads no other key per match; an ended job's line never changes, so it is written
once and never edited. The unfinished jobs (few: a user's active jobs are capped) are searched
from their records. :func:`compact` drops the deleted jobs' lines once they are a quarter of
the string or ``GONE_MAX``.

Jobs that ended since the list was last read are moved out of ``OPEN`` when it is read
(:func:`settle`), so no process has to watch every job end.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import redis
from celery import states

OPEN = "OPEN"
OPEN_STATES = (states.PENDING, states.STARTED, "PROGRESS", states.RETRY)
ENDED_STATES = (states.SUCCESS, states.FAILURE, states.REVOKED)
# One letter per ended state in a search line.
STATE_CODE = {states.SUCCESS: "S", states.FAILURE: "F", states.REVOKED: "R"}
PREFIX = "taskboard:list:{}:"
# Bumped when the indexes change shape: each user's indexes are then built again once.
SEEDED = "seeded-2"
SETTLE_BATCH = 500
# The deleted jobs' lines are dropped from the search string when they are this many, or a
# quarter of the string's lines, whichever comes first (a search reads the whole gone set).
GONE_MAX = 2000

# Moves a job that ended from OPEN to its state's sets and appends its search line, once:
# only the caller that removed it from OPEN does (another web process may settle it too, and a
# job deleted meanwhile is no longer in OPEN). KEYS: OPEN, OPEN of the processor, the state's
# set, the state and processor's, duration, the state's duration set, the state and
# processor's, the search lines, the unfinished jobs' names. ARGV: id, creation time, duration,
# line.
END = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[5], 'XX', ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[7], ARGV[3], ARGV[1])
redis.call('APPEND', KEYS[8], ARGV[4])
redis.call('HDEL', KEYS[9], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Unfinished:
    """An unfinished job as the list reads it from its record."""

    created: float
    state: str
    processor: str
    name: str
    batch: bool


def key(owner: str, *parts: str) -> str:
    """Return the key of one of a user's list indexes."""
    return PREFIX.format(owner) + ":".join(parts)


def by_state(owner: str, state: str, processor: str | None = None) -> str:
    """Return the creation-time set of a user's jobs in a state group (and of a processor)."""
    return key(owner, "sp", state, processor) if processor else key(owner, "s", state)


def all_jobs(owner: str, processor: str | None = None) -> str:
    """Return the creation-time set of all a user's jobs (or those of a processor)."""
    return key(owner, "p", processor) if processor else key(owner, "all")


def unfinished(owner: str) -> str:
    """Return the hash of a user's unfinished jobs: id -> ``processor<tab>B or -<tab>name``."""
    return key(owner, "open-info")


def no_batch(owner: str) -> str:
    """Return the creation-time set of a user's jobs that belong to no batch."""
    return key(owner, "nobatch")


def fold(text: str) -> str:
    """Return a name or a search as the search compares them: case-folded, on one line."""
    return text.casefold().replace("\t", " ").replace("\n", " ")


def search_line(
    job_id: str,
    filename: str,
    state: str,
    batch: bool,
    created: float,
    duration: float,
    processor: str,
) -> str:
    """Return an ended job's line of its owner's search string.

    ``<folded name>\\t<id 36> <state letter><B or -><created %017.6f> <duration> <processor>``:
    after the tab every field has a fixed place up to the duration, and nothing after the tab
    holds a tab, so a match that starts before the tab is in the name.
    """
    return (
        f"{fold(filename)}\t{job_id} {STATE_CODE[state]}{'B' if batch else '-'}"
        f"{created:017.6f} {max(0.0, duration)!r} {processor}\n"
    )


def index_new(
    pipe: Any,
    owner: str,
    job_id: str,
    created: float,
    processor: str,
    filename: str,
    batch: str | None = None,
) -> None:
    """Add a new (unfinished) job to its owner's indexes, on a pipeline."""
    # What the list reads of an unfinished job, beside its state: one hash for all of them.
    pipe.hset(unfinished(owner), job_id, f"{processor}\t{'B' if batch else '-'}\t{fold(filename)}")
    pipe.zadd(all_jobs(owner), {job_id: created})
    pipe.zadd(all_jobs(owner, processor), {job_id: created})
    if not batch:
        pipe.zadd(no_batch(owner), {job_id: created})
    pipe.zadd(by_state(owner, OPEN), {job_id: created})
    pipe.zadd(by_state(owner, OPEN, processor), {job_id: created})
    pipe.zadd(key(owner, "duration"), {job_id: -1})


def index_ended(
    pipe: Any,
    owner: str,
    job_id: str,
    created: float,
    processor: str,
    state: str,
    duration: float,
    filename: str,
    batch: str | None = None,
) -> None:
    """Move a job that ended from its owner's unfinished set to its state's and append its
    search line, on a pipeline; a job already moved, or deleted, is left as it is."""
    duration = max(0.0, duration)
    pipe.eval(
        END,
        9,
        by_state(owner, OPEN),
        by_state(owner, OPEN, processor),
        by_state(owner, state),
        by_state(owner, state, processor),
        key(owner, "duration"),
        key(owner, "d", "s", state),
        key(owner, "d", "sp", state, processor),
        key(owner, "names"),
        unfinished(owner),
        job_id,
        repr(created),
        repr(duration),
        search_line(job_id, filename, state, bool(batch), created, duration, processor),
    )


def unindex(pipe: Any, owner: str, job_id: str, processor: str) -> None:
    """Remove a deleted job from its owner's indexes, on a pipeline; its search line is
    marked gone until :func:`compact` drops it."""
    pipe.zrem(all_jobs(owner), job_id)
    pipe.zrem(all_jobs(owner, processor), job_id)
    pipe.zrem(no_batch(owner), job_id)
    pipe.zrem(key(owner, "duration"), job_id)
    pipe.hdel(unfinished(owner), job_id)
    for state in (OPEN, *ENDED_STATES):
        pipe.zrem(by_state(owner, state), job_id)
        pipe.zrem(by_state(owner, state, processor), job_id)
    for state in ENDED_STATES:
        pipe.zrem(key(owner, "d", "s", state), job_id)
        pipe.zrem(key(owner, "d", "sp", state, processor), job_id)
    pipe.sadd(key(owner, "gone"), job_id)


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
