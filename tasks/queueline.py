"""Each queue's line of waiting jobs, so that a queued job can say its place in it.

A job's ``queue_position`` is the number of jobs ahead of it in its Celery queue: jobs sent to
the same queue before it (by any user) that no worker has started and nobody has cancelled or
deleted yet. 0 means it is next. The Redis broker keeps a queue as a list that messages enter
at one end and leave from the other (kombu: LPUSH, BRPOP), so the order of sending is the
broker's order; messages a worker has prefetched but not started still count as waiting, as
they are.

The line is a sorted set per queue (``taskboard:queue-line:<queue>``, job id -> send number
from one counter) kept beside the broker's list, because a Redis list cannot tell where an
element is without reading it all:

- a job enters when its message is published (``before_task_publish``, so before any worker
  can take it), at the back; a message with an ``eta`` (a retry's countdown) is held by a
  worker, not the broker, and does not enter;
- it leaves when a worker starts it (``task_prerun``, before STARTED is stored), when a queued
  job is cancelled, when it is deleted, and when a worker drops it as revoked;
- each entry and leave is published on ``taskboard:queue-moved`` (the queue's name), so web
  processes can push new places without polling.

Each of these is one Redis call (a script); a job's place is one ZRANK.

The line heals itself when a leave was missed (Redis down as a worker started a job, or
dropped a revoked one): the worker keeps the ids it could not take out and takes them out at
the job's end or its next call that reaches Redis; and the read of places, at most once every
``HEAL_EVERY_S`` per queue, takes out of the first ``HEAL_HEAD`` of a line the jobs that ended
(SUCCESS, FAILURE or REVOKED in their backend entry) or were deleted, which no broker message
can start again. A job that started while Redis was down and still runs, in a worker that then
died, is counted until it ends: a running state in a backend entry does not tell it from a
job sent again after its worker was lost, which does wait in the line.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery.signals import before_task_publish
from celery.signals import task_postrun
from celery.signals import task_prerun
from celery.signals import task_revoked

from tasks import jobstore

log = logging.getLogger(__name__)
LINE_KEY = "taskboard:queue-line:{}"
# job id -> the queue whose line it is in, so a leave needs only the id.
PLACE_KEY = "taskboard:queue-line-of"
SEQ_KEY = "taskboard:queue-line-seq"
MOVED_CHANNEL = "taskboard:queue-moved"
# Set for HEAL_EVERY_S when a queue's line was last healed (once per queue across processes).
HEALED_KEY = "taskboard:queue-line-healed:{}"
HEAL_EVERY_S = 5
# How many of a line's first jobs a heal looks at: a job whose leave was missed was at the
# front when it started, and only moves nearer the front after.
HEAL_HEAD = 100
# Jobs this worker process started (or dropped) whose leave did not reach Redis.
_missed: set[str] = set()

# KEYS: seq, place, new line; ARGV: job id, queue, old line prefix.
_ENTER = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and old ~= ARGV[2] then redis.call('ZREM', ARGV[3] .. old, ARGV[1]) end
local n = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[3], n, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return n
"""
# KEYS: place; ARGV: line prefix, channel, job ids...
_LEAVE = """
local left = 0
for i = 3, #ARGV do
  local queue = redis.call('HGET', KEYS[1], ARGV[i])
  if queue then
    redis.call('HDEL', KEYS[1], ARGV[i])
    left = left + redis.call('ZREM', ARGV[1] .. queue, ARGV[i])
    redis.call('PUBLISH', ARGV[2], queue)
  end
end
return left
"""

# KEYS: place; ARGV: line prefix, record prefix, backend entry prefix, healed prefix, heal
# interval (s), head length, channel, job ids... Heals each asked queue (at most once an
# interval), then reads the places.
_POSITIONS = """
local ended = {ENDED}
local function stale(id)
  if redis.call('EXISTS', ARGV[2] .. id) == 0 then return true end
  local raw = redis.call('GET', ARGV[3] .. id)
  if not raw then return false end
  local ok, meta = pcall(cjson.decode, raw)
  return ok and type(meta) == 'table' and ended[meta['status']] == true
end
local function heal(queue)
  if not redis.call('SET', ARGV[4] .. queue, '1', 'NX', 'EX', ARGV[5]) then return end
  local line = ARGV[1] .. queue
  local removed = 0
  for _, id in ipairs(redis.call('ZRANGE', line, 0, tonumber(ARGV[6]) - 1)) do
    if stale(id) then
      redis.call('HDEL', KEYS[1], id)
      removed = removed + redis.call('ZREM', line, id)
    end
  end
  if removed > 0 then redis.call('PUBLISH', ARGV[7], queue) end
end
local out, healed = {}, {}
for i = 8, #ARGV do
  local queue = redis.call('HGET', KEYS[1], ARGV[i])
  out[i - 7] = false
  if queue then
    if not healed[queue] then heal(queue); healed[queue] = true end
    out[i - 7] = redis.call('ZRANK', ARGV[1] .. queue, ARGV[i])
  end
end
return out
""".replace("ENDED", ", ".join(f'["{state}"] = true' for state in sorted(jobstore.TERMINAL)))


def line_key(queue: str) -> str:
    """Return the key of a queue's line."""
    return LINE_KEY.format(queue)


def enter(r: redis.Redis, job_id: str, queue: str) -> None:
    """Put a job at the back of its queue's line (leaving any other line it was in)."""
    r.eval(
        _ENTER, 3, SEQ_KEY, PLACE_KEY, line_key(queue), job_id, queue, LINE_KEY.format(""),
        MOVED_CHANNEL,
    )  # fmt: skip


def leave(r: redis.Redis | Any, *job_ids: str) -> int:
    """Take jobs out of their lines; return how many were in one. ``r`` may be a pipeline."""
    if not job_ids:
        return 0
    return r.eval(_LEAVE, 1, PLACE_KEY, LINE_KEY.format(""), MOVED_CHANNEL, *job_ids)


def positions(r: redis.Redis, job_ids: list[str]) -> dict[str, int | None]:
    """Return each job's place in its line (jobs ahead of it), None for a job in no line,
    after taking out of those lines' fronts the jobs that ended or are gone; one Redis call."""
    if not job_ids:
        return {}
    ranks = r.eval(
        _POSITIONS, 1, PLACE_KEY, LINE_KEY.format(""), jobstore.JOB_KEY.format(""),
        jobstore.META_KEY.format(""), HEALED_KEY.format(""), HEAL_EVERY_S, HEAL_HEAD,
        MOVED_CHANNEL, *job_ids,
    )  # fmt: skip
    return dict(zip(job_ids, ranks, strict=True))


def leave_or_remember(*job_ids: str) -> None:
    """Take jobs out of their lines, with those whose leave this process missed before; when
    Redis cannot be reached, remember them all for the next call."""
    pending = {*job_ids, *_missed}
    try:
        leave(jobstore.client(), *pending)
    except redis.RedisError as exc:  # the job runs all the same
        _missed.update(job_ids)
        log.warning("jobs %s: could not leave the queue's line (%s)", ", ".join(job_ids), exc)
    else:
        _missed.difference_update(pending)


def job_task_names() -> frozenset[str]:
    """Return the names of the tasks whose id is a job's (processors' and URL imports')."""
    from tasks import imports
    from tasks import registry

    return frozenset(p.task.name for p in registry.PROCESSORS.values()) | {imports.fetch.name}


@before_task_publish.connect
def entered(
    sender: str | None = None,
    headers: dict | None = None,
    routing_key: str | None = None,
    **kwargs: Any,
) -> None:
    """Put a job's message in its queue's line as it is sent (not one held for an eta)."""
    if not headers or headers.get("eta") or sender not in job_task_names():
        return
    queue = routing_key or (kwargs.get("properties") or {}).get("delivery_info", {}).get(
        "routing_key"
    )
    if not queue or not headers.get("id"):
        return
    try:
        enter(jobstore.client(), headers["id"], queue)
    except redis.RedisError as exc:  # the broker may still take it; the place is then unknown
        log.warning("job %s: its place in the queue is not kept (%s)", headers["id"], exc)


@task_prerun.connect
def started(task_id: str | None = None, **kwargs: Any) -> None:
    """A worker starts a job: it leaves the line before STARTED is stored."""
    if task_id:
        leave_or_remember(task_id)


@task_postrun.connect
def ended(task_id: str | None = None, **kwargs: Any) -> None:
    """A job ended in this worker: take it out of its line now if its start could not."""
    if task_id in _missed:
        leave_or_remember(task_id)


@task_revoked.connect
def dropped(request: Any = None, **kwargs: Any) -> None:
    """A worker dropped a revoked job: it is in no line any more."""
    job_id = getattr(request, "id", None)
    if job_id:
        leave_or_remember(job_id)
