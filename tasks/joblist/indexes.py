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
from one hash of their processor, batch and name. ``upkeep.compact`` drops the deleted jobs'
lines once they are a quarter of the string or ``GONE_MAX``.

Jobs that ended since the list was last read are moved out of ``OPEN`` when it is read
(``upkeep.settle``), so no process has to watch every job end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
