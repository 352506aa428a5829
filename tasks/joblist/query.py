"""A user's job list read from its indexes: filtered, searched, sorted, counted, a page at a time.

A filter without a search reads one sorted set per state asked for, from the cursor (a sort
score and an id, never an offset): a few range reads whatever the number of jobs. Counts are
the sets' sizes. A sort by duration of unfinished jobs, or by processor alone, intersects those
sets with the duration set first; ``batch=none`` intersects them with the jobs in no batch
(unless nothing else is asked, when that set is read as it is).

A search scans this process's copy of the ended jobs' search lines (:mod:`tasks.joblist.mirror`,
brought up to date by reading what was appended since), and the unfinished jobs from their
records; Redis is not held for the scan.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import redis

from tasks.joblist import mirror
from tasks.joblist.indexes import ENDED_STATES
from tasks.joblist.indexes import OPEN
from tasks.joblist.indexes import OPEN_STATES
from tasks.joblist.indexes import PREFIX
from tasks.joblist.indexes import Unfinished
from tasks.joblist.indexes import all_jobs
from tasks.joblist.indexes import by_state
from tasks.joblist.indexes import fold
from tasks.joblist.indexes import key
from tasks.joblist.indexes import no_batch
from tasks.joblist.upkeep import settle

SORTS = ("newest", "oldest", "duration")
# Temporary sets of one query (intersections, a subset of the unfinished jobs).
TEMP_TTL_S = 10


@dataclass(frozen=True)
class Query:
    """What a list asks for: states (None: all), a processor, a search, an order, a page, and
    whether only the jobs in no batch are listed."""

    states: frozenset[str] | None = None
    processor: str | None = None
    q: str | None = None
    sort: str = "newest"
    limit: int = 50
    cursor: tuple[float, str] | None = None
    no_batch: bool = False


@dataclass
class Page:
    """A page of job ids, how many match in all, and the cursor of the next page (or None)."""

    ids: list[str]
    total: int
    next: str | None


def encode_cursor(score: float, job_id: str) -> str:
    """Return the cursor that pages on after a job with this sort score."""
    return f"{score!r}_{job_id}"


def decode_cursor(text: str) -> tuple[float, str]:
    """Return a cursor's sort score and job id; raise ValueError for anything else."""
    score, sep, job_id = text.partition("_")
    value = float(score)
    if not sep or not math.isfinite(value):
        raise ValueError("not a cursor")
    return value, str(uuid.UUID(job_id))


def search(r: redis.Redis, owner: str, query: Query) -> Page:
    """Return a page of the user's job ids that match the query, and how many match in all."""
    unfinished = settle(r, owner)
    if query.q:
        return _search_names(r, owner, query, unfinished)
    temp: list[str] = []
    try:
        sources = _sources(r, owner, query, unfinished, temp)
        if query.no_batch and sources != [no_batch(owner)]:
            sources = [_intersect(r, owner, s, no_batch(owner), temp) for s in sources]
        if query.sort == "duration":
            sources = [_by_duration(r, owner, source, temp) for source in sources]
        desc = query.sort != "oldest"
        with r.pipeline(transaction=False) as pipe:
            for source in sources:
                pipe.zcard(source)
            total = sum(pipe.execute())
        found: list[tuple[float, str]] = []
        for source in sources:
            found += _after(r, source, desc, query.cursor, query.limit + 1)
        found.sort(reverse=desc)
        return _page(found, total, query.limit)
    finally:
        if temp:
            r.delete(*temp)


def _sources(
    r: redis.Redis,
    owner: str,
    query: Query,
    unfinished: dict[str, Unfinished],
    temp: list[str],
) -> list[str]:
    """Return the creation-time sets whose union is what the filter asks for."""
    if query.states is None:
        if query.no_batch and not query.processor:
            return [no_batch(owner)]
        return [all_jobs(owner, query.processor)]
    sources = [by_state(owner, s, query.processor) for s in ENDED_STATES if s in query.states]
    open_asked = query.states.intersection(OPEN_STATES)
    if open_asked == set(OPEN_STATES):
        sources.append(by_state(owner, OPEN, query.processor))
    elif open_asked:
        # Which unfinished state a job is in changes often: read from the jobs themselves
        # (few: a user's unfinished jobs are capped).
        wanted = {
            job_id: job.created
            for job_id, job in unfinished.items()
            if job.state in open_asked and query.processor in (None, job.processor)
        }
        subset = _temp(owner, temp)
        if wanted:
            with r.pipeline(transaction=False) as pipe:
                pipe.zadd(subset, wanted)
                pipe.expire(subset, TEMP_TTL_S)
                pipe.execute()
        sources.append(subset)
    return sources


def _temp(owner: str, temp: list[str]) -> str:
    """Return the name of a new temporary set of this query (deleted when it is answered)."""
    name = key(owner, "tmp", uuid.uuid4().hex)
    temp.append(name)
    return name


def _intersect(r: redis.Redis, owner: str, source: str, other: str, temp: list[str]) -> str:
    """Return a temporary set of the source's jobs that are also in ``other``, scored as in the
    source."""
    both = _temp(owner, temp)
    with r.pipeline(transaction=False) as pipe:
        pipe.zinterstore(both, {source: 1, other: 0})
        pipe.expire(both, TEMP_TTL_S)
        pipe.execute()
    return both


def _by_duration(r: redis.Redis, owner: str, source: str, temp: list[str]) -> str:
    """Return a set of the source's jobs scored by their duration."""
    if source == all_jobs(owner):
        return key(owner, "duration")
    # Ended jobs of one state (and processor) have duration sets of their own.
    prefix = PREFIX.format(owner)
    parts = source[len(prefix) :].split(":") if source.startswith(prefix) else []
    if len(parts) >= 2 and parts[0] in ("s", "sp") and parts[1] in ENDED_STATES:
        return key(owner, "d", *parts)
    scored = _temp(owner, temp)
    with r.pipeline(transaction=False) as pipe:
        pipe.zinterstore(scored, {source: 0, key(owner, "duration"): 1})
        pipe.expire(scored, TEMP_TTL_S)
        pipe.execute()
    return scored


def _after(
    r: redis.Redis, source: str, desc: bool, cursor: tuple[float, str] | None, count: int
) -> list[tuple[float, str]]:
    """Return up to ``count`` (score, id) of a set that come after the cursor, in order.

    The cursor is a score: the read starts at it (inclusive, as ties are told apart by id, in
    the order Redis keeps them) and passes over the cursor's ties already listed, so its cost
    is a range read of ``count`` plus the ties, wherever the page is."""
    if cursor is None:
        rows = r.zrange(source, 0, count - 1, desc=desc, withscores=True)
        return [(score, job_id) for job_id, score in rows]
    score, job_id = cursor
    found: list[tuple[float, str]] = []
    offset = 0
    while len(found) < count:
        # One more than asked: the cursor's own job is usually the first row.
        if desc:
            rows = r.zrevrangebyscore(source, score, "-inf", offset, count + 1, withscores=True)
        else:
            rows = r.zrangebyscore(source, score, "+inf", offset, count + 1, withscores=True)
        for member, value in rows:
            if value != score or (member < job_id if desc else member > job_id):
                found.append((value, member))
        if len(rows) < count + 1:
            break
        offset += len(rows)
    return found[:count]


def _search_names(
    r: redis.Redis, owner: str, query: Query, unfinished: dict[str, Unfinished]
) -> Page:
    """Return the page of a search by file name: the ended jobs from this process's copy of
    the search lines, the unfinished ones from their records."""
    needle = fold(query.q or "")
    desc = query.sort != "oldest"
    asked = query.states if query.states is not None else frozenset((*OPEN_STATES, *ENDED_STATES))
    copy = mirror.copy_of(owner)
    with copy.lock:
        total, found = mirror.search(
            mirror.read(r, copy, owner),
            needle,
            asked,
            query.processor,
            query.no_batch,
            query.sort == "duration",
            desc,
            query.cursor,
            query.limit + 1,
        )
    for job_id, job in unfinished.items():
        if (
            needle in job.name
            and job.state in asked
            and query.processor in (None, job.processor)
            and not (query.no_batch and job.batch)
        ):
            total += 1
            # Unfinished jobs have no duration yet: -1, after every ended job.
            entry = (-1.0 if query.sort == "duration" else job.created, job_id)
            if query.cursor is None or _comes_after(entry, query.cursor, desc):
                found.append(entry)
    found.sort(reverse=desc)
    return _page(found, total, query.limit)


def _comes_after(entry: tuple[float, str], cursor: tuple[float, str], desc: bool) -> bool:
    """Tell whether a (score, id) comes after the cursor in the list's order."""
    return entry < cursor if desc else entry > cursor


def _page(found: list[tuple[float, str]], total: int, limit: int) -> Page:
    """Return the first ``limit`` of the ordered (score, id) pairs as a page."""
    shown = found[:limit]
    more = len(found) > limit and shown
    return Page(
        [job_id for _, job_id in shown],
        total,
        encode_cursor(*shown[-1]) if more else None,
    )
