"""A user's job list, filtered, searched, sorted and counted in Redis, at any number of jobs.

Each user has sorted sets of their job ids, kept as jobs are created, end and are deleted:

- by creation time (Unix seconds): all jobs, per state, per processor, per state and processor;
  the unfinished jobs share one state set, ``OPEN``;
- by duration (seconds from start to end; -1 while unfinished): all jobs, and the ended ones
  per state, per state and processor;
- each job's file name, case-folded, as one line of a string per user, for the search.

A filter without a search reads one sorted set per state asked for, from the cursor: its cost is
a few range reads whatever the number of jobs. Counts are the sets' sizes. A sort by duration
of unfinished jobs, or by processor alone, intersects those sets with the duration set first.
A search runs in Redis as one script over the user's file names. Jobs that ended since the list
was last read are moved out of ``OPEN`` first (:func:`settle`), so no process has to watch every
job end.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from celery import states

OPEN = "OPEN"
OPEN_STATES = (states.PENDING, states.STARTED, "PROGRESS", states.RETRY)
ENDED_STATES = (states.SUCCESS, states.FAILURE, states.REVOKED)
SORTS = ("newest", "oldest", "duration")
PREFIX = "taskboard:list:{}:"
# Temporary sets of one query (intersections, a subset of the unfinished jobs).
TEMP_TTL_S = 10
SETTLE_BATCH = 500

# Counts the jobs whose name holds ARGV[1] and that are in one of KEYS[2..], and returns the
# first ARGV[5] of them after the cursor (ARGV[3] score, ARGV[4] id) in the order ARGV[2]
# ("1" descending), each as its id and its score as Redis wrote it. KEYS[1] is the user's
# names: one line "<case-folded name>\t<id>\n" per job, deleted jobs' lines included (they
# are in no set); a match that starts past a line's tab is in an id, and is passed over.
SEARCH = r"""
local blob = redis.call('GET', KEYS[1]) or ''
local needle, desc, limit = ARGV[1], ARGV[2] == '1', tonumber(ARGV[5])
local cs, cid = tonumber(ARGV[3]), ARGV[4]
local function before(s1, id1, s2, id2)
  if s1 ~= s2 then if desc then return s1 > s2 else return s1 < s2 end end
  if desc then return id1 > id2 else return id1 < id2 end
end
local total, best, pos = 0, {}, 1
while true do
  local _, last = string.find(blob, needle, pos, true)
  if not last then break end
  local tab = string.find(blob, '\t', last + 1, true)
  local nl = string.find(blob, '\n', last + 1, true)
  if not nl then break end
  if tab and tab < nl then
    local id = string.sub(blob, tab + 1, nl - 1)
    for k = 2, #KEYS do
      local raw = redis.call('ZSCORE', KEYS[k], id)
      if raw then
        total = total + 1
        local s = tonumber(raw)
        if cs == nil or before(cs, cid, s, id) then
          local n = #best
          if n <= limit or before(s, id, best[n][1], best[n][2]) then
            local lo, hi = 1, n + 1
            while lo < hi do
              local mid = math.floor((lo + hi) / 2)
              if before(s, id, best[mid][1], best[mid][2]) then hi = mid else lo = mid + 1 end
            end
            table.insert(best, lo, {s, id, raw})
            if #best > limit + 1 then table.remove(best) end
          end
        end
        break
      end
    end
  end
  pos = nl + 1
end
local out = {total}
for _, item in ipairs(best) do out[#out + 1] = item[2]; out[#out + 1] = item[3] end
return out
"""


def name_line(job_id: str, filename: str) -> str:
    """Return a job's line of its owner's names, as the search reads it."""
    name = filename.casefold().replace("\t", " ").replace("\n", " ")
    return f"{name}\t{job_id}\n"


@dataclass(frozen=True)
class Query:
    """What a list asks for: states (None: all), a processor, a search, an order, a page."""

    states: frozenset[str] | None = None
    processor: str | None = None
    q: str | None = None
    sort: str = "newest"
    limit: int = 50
    cursor: tuple[float, str] | None = None


@dataclass
class Page:
    """A page of job ids, how many match in all, and the cursor of the next page (or None)."""

    ids: list[str]
    total: int
    next: str | None


def key(owner: str, *parts: str) -> str:
    """Return the key of one of a user's list indexes."""
    return PREFIX.format(owner) + ":".join(parts)


def by_state(owner: str, state: str, processor: str | None = None) -> str:
    """Return the creation-time set of a user's jobs in a state group (and of a processor)."""
    return key(owner, "sp", state, processor) if processor else key(owner, "s", state)


def all_jobs(owner: str, processor: str | None = None) -> str:
    """Return the creation-time set of all a user's jobs (or those of a processor)."""
    return key(owner, "p", processor) if processor else key(owner, "all")


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


def index_new(
    pipe: Any, owner: str, job_id: str, created: float, processor: str, filename: str
) -> None:
    """Add a new (unfinished) job to its owner's indexes, on a pipeline."""
    pipe.zadd(all_jobs(owner), {job_id: created})
    pipe.zadd(all_jobs(owner, processor), {job_id: created})
    pipe.zadd(by_state(owner, OPEN), {job_id: created})
    pipe.zadd(by_state(owner, OPEN, processor), {job_id: created})
    pipe.zadd(key(owner, "duration"), {job_id: -1})
    pipe.append(key(owner, "names"), name_line(job_id, filename))


def index_ended(
    pipe: Any, owner: str, job_id: str, created: float, processor: str, state: str, duration: float
) -> None:
    """Move a job that ended from its owner's unfinished set to its state's, on a pipeline."""
    pipe.zrem(by_state(owner, OPEN), job_id)
    pipe.zrem(by_state(owner, OPEN, processor), job_id)
    pipe.zadd(by_state(owner, state), {job_id: created})
    pipe.zadd(by_state(owner, state, processor), {job_id: created})
    pipe.zadd(key(owner, "duration"), {job_id: max(0.0, duration)}, xx=True)
    pipe.zadd(key(owner, "d", "s", state), {job_id: max(0.0, duration)})
    pipe.zadd(key(owner, "d", "sp", state, processor), {job_id: max(0.0, duration)})


def unindex(pipe: Any, owner: str, job_id: str, processor: str) -> None:
    """Remove a deleted job from its owner's indexes, on a pipeline."""
    pipe.zrem(all_jobs(owner), job_id)
    pipe.zrem(all_jobs(owner, processor), job_id)
    pipe.zrem(key(owner, "duration"), job_id)
    for state in (OPEN, *ENDED_STATES):
        pipe.zrem(by_state(owner, state), job_id)
        pipe.zrem(by_state(owner, state, processor), job_id)
    for state in ENDED_STATES:
        pipe.zrem(key(owner, "d", "s", state), job_id)
        pipe.zrem(key(owner, "d", "sp", state, processor), job_id)


def settle(r: redis.Redis, owner: str) -> dict[str, tuple[float, str]]:
    """Move the user's jobs that ended since the last look to their state's sets; return the
    unfinished ones as id -> (creation time, state)."""
    from tasks import jobstore

    seed(r, owner)
    entries = r.zrange(by_state(owner, OPEN), 0, -1, withscores=True)
    still: dict[str, tuple[float, str]] = {}
    for start in range(0, len(entries), SETTLE_BATCH):
        batch = entries[start : start + SETTLE_BATCH]
        with r.pipeline(transaction=False) as pipe:
            for job_id, _ in batch:
                pipe.hmget(jobstore.JOB_KEY.format(job_id), "processor", "started_at")
                pipe.get(jobstore.META_KEY.format(job_id))
            replies = pipe.execute()
        with r.pipeline(transaction=False) as pipe:
            for (job_id, created), fields, raw in zip(
                batch, replies[::2], replies[1::2], strict=True
            ):
                processor, started_at = fields
                meta = jobstore.parse_meta(raw)
                state = jobstore.state_of(meta)
                if processor is None:
                    pipe.zrem(by_state(owner, OPEN), job_id)  # deleted under us
                elif state in ENDED_STATES:
                    ended = jobstore.timestamp((meta or {}).get("date_done"))
                    began = jobstore.timestamp(started_at)
                    duration = ended - began if ended and began else 0.0
                    index_ended(pipe, owner, job_id, created, processor, state, duration)
                else:
                    still[job_id] = (created, state)
            pipe.execute()
    return still


def seed(r: redis.Redis, owner: str) -> None:
    """Once per user, index the jobs recorded before these indexes existed."""
    from tasks import jobstore

    if not r.set(key(owner, "seeded"), "1", nx=True):
        return
    ids = r.zrange(jobstore.USER_KEY.format(owner), 0, -1, withscores=True)
    r.delete(key(owner, "names"))
    for start in range(0, len(ids), SETTLE_BATCH):
        batch = ids[start : start + SETTLE_BATCH]
        with r.pipeline(transaction=False) as pipe:
            for job_id, _ in batch:
                pipe.hmget(jobstore.JOB_KEY.format(job_id), "processor", "filename")
            replies = pipe.execute()
        with r.pipeline(transaction=False) as pipe:
            for (job_id, created), (processor, filename) in zip(batch, replies, strict=True):
                if processor is not None:
                    index_new(pipe, owner, job_id, created, processor, filename or "")
            pipe.execute()


def search(r: redis.Redis, owner: str, query: Query) -> Page:
    """Return a page of the user's job ids that match the query, and how many match in all."""
    unfinished = settle(r, owner)
    temp: list[str] = []
    try:
        sources = _sources(r, owner, query, unfinished, temp)
        desc = query.sort != "oldest"
        if query.sort == "duration":
            sources = [_by_duration(r, owner, source, temp) for source in sources]
        if query.q:
            return _search_names(r, owner, query, sources, desc)
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
    unfinished: dict[str, tuple[float, str]],
    temp: list[str],
) -> list[str]:
    """Return the creation-time sets whose union is what the filter asks for."""
    if query.states is None:
        return [all_jobs(owner, query.processor)]
    sources = [by_state(owner, s, query.processor) for s in ENDED_STATES if s in query.states]
    open_asked = query.states.intersection(OPEN_STATES)
    if open_asked == set(OPEN_STATES):
        sources.append(by_state(owner, OPEN, query.processor))
    elif open_asked:
        # Which unfinished state a job is in changes often: read from the jobs themselves
        # (few: a user's unfinished jobs are capped).
        wanted = {
            job_id: created
            for job_id, (created, state) in unfinished.items()
            if state in open_asked
        }
        if wanted and query.processor:
            kept = r.zmscore(by_state(owner, OPEN, query.processor), list(wanted))
            wanted = {j: c for (j, c), s in zip(wanted.items(), kept, strict=True) if s is not None}
        subset = key(owner, "tmp", uuid.uuid4().hex)
        temp.append(subset)
        if wanted:
            with r.pipeline(transaction=False) as pipe:
                pipe.zadd(subset, wanted)
                pipe.expire(subset, TEMP_TTL_S)
                pipe.execute()
        sources.append(subset)
    return sources


def _by_duration(r: redis.Redis, owner: str, source: str, temp: list[str]) -> str:
    """Return a set of the source's jobs scored by their duration."""
    if source == all_jobs(owner):
        return key(owner, "duration")
    # Ended jobs of one state (and processor) have duration sets of their own.
    prefix = PREFIX.format(owner)
    parts = source[len(prefix) :].split(":") if source.startswith(prefix) else []
    if len(parts) >= 2 and parts[0] in ("s", "sp") and parts[1] in ENDED_STATES:
        return key(owner, "d", *parts)
    scored = key(owner, "tmp", uuid.uuid4().hex)
    temp.append(scored)
    with r.pipeline(transaction=False) as pipe:
        pipe.zinterstore(scored, {source: 0, key(owner, "duration"): 1})
        pipe.expire(scored, TEMP_TTL_S)
        pipe.execute()
    return scored


def _after(
    r: redis.Redis, source: str, desc: bool, cursor: tuple[float, str] | None, count: int
) -> list[tuple[float, str]]:
    """Return up to ``count`` (score, id) of a set that come after the cursor, in order."""
    if cursor is None:
        rows = r.zrange(source, 0, count - 1, desc=desc, withscores=True)
        return [(score, job_id) for job_id, score in rows]
    score, job_id = cursor
    found: list[tuple[float, str]] = []
    offset = 0
    while len(found) < count:
        # From the cursor's score on (inclusive): ties are told apart by id, as Redis orders them.
        if desc:
            rows = r.zrevrangebyscore(source, score, "-inf", offset, count, withscores=True)
        else:
            rows = r.zrangebyscore(source, score, "+inf", offset, count, withscores=True)
        for member, value in rows:
            if value != score or (member < job_id if desc else member > job_id):
                found.append((value, member))
        if len(rows) < count:
            break
        offset += len(rows)
    return found[:count]


def _search_names(r: redis.Redis, owner: str, query: Query, sources: list[str], desc: bool) -> Page:
    """Return the page of a search by file name, run in Redis as one script."""
    score, job_id = query.cursor or ("", "")
    reply = r.eval(
        SEARCH,
        1 + len(sources),
        key(owner, "names"),
        *sources,
        (query.q or "").casefold().replace("\t", " ").replace("\n", " "),
        "1" if desc else "0",
        repr(score) if query.cursor else "",
        job_id,
        query.limit,
    )
    total, flat = int(reply[0]), reply[1:]
    found = [(float(raw), member) for member, raw in zip(flat[::2], flat[1::2], strict=True)]
    return _page(found, total, query.limit)


def _page(found: list[tuple[float, str]], total: int, limit: int) -> Page:
    """Return the first ``limit`` of the ordered (score, id) pairs as a page."""
    shown = found[:limit]
    more = len(found) > limit and shown
    return Page(
        [job_id for _, job_id in shown],
        total,
        encode_cursor(*shown[-1]) if more else None,
    )
