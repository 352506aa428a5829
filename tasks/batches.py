"""Batches: many jobs sent together as one Celery group, followed as one.

A batch is a hash ``taskboard:batch:<id>`` (owner, processor, options, its job ids in upload
order, each job's size, the refused files, times, and optionally its ``notify`` list and
``run_at``) and each user has a sorted set of their batch ids by creation time. Each job of a
batch is an ordinary job whose record has ``batch`` set. :func:`aggregate` turns the jobs'
snapshots into the batch's progress, weighted by bytes.

A batch also keeps the set ``taskboard:batch:<id>:open`` of its jobs not yet seen ended:
wherever a job's end is stored, :func:`job_ended` takes the job out of it, and the caller that
finds it empty knows the batch has ended (one Redis transaction, whatever number of workers and
web processes end its jobs at once; a caller told twice of one job's end finds it empty again,
which the notification's own claim makes harmless).

A batch goes with its jobs: every delete of a job (one, bulk, held for an Undo, retention)
passes :func:`tasks.jobstore.remove`, which runs :func:`leave` in the same transaction as the
job's own keys. The delete of the last job left removes the batch (a Redis script: of two
deletes at once, exactly one sees no job left), and :func:`tell_left` tells the web processes
(the batch changed, or is gone). A batch with some jobs deleted counts only the jobs left, and
says how many went in ``deleted_jobs``.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import redis
from celery import group

from tasks import jobstore
from tasks import registry
from tasks import settings
from tasks import snapshot as job_snapshot
from tasks.jobstore import FAILURE
from tasks.jobstore import PENDING
from tasks.jobstore import PROGRESS
from tasks.jobstore import REVOKED
from tasks.jobstore import SCHEDULED
from tasks.jobstore import STATES
from tasks.jobstore import SUCCESS
from tasks.jobstore import TERMINAL

BATCH_KEY = "taskboard:batch:{}"
OPEN_KEY = "taskboard:batch:{}:open"
USER_BATCHES_KEY = "taskboard:batches:{}"
# A batch's own states: a job's PENDING, PROGRESS, SUCCESS, FAILURE and REVOKED, and PARTIAL
# for a batch that ended with some jobs failed, cancelled or refused.
PARTIAL = "PARTIAL"
BATCH_STATES = (SCHEDULED, PENDING, PROGRESS, SUCCESS, PARTIAL, FAILURE, REVOKED)
# The states of a batch that has not ended.
UNFINISHED = frozenset({SCHEDULED, PENDING, PROGRESS})
# Where the due set (tasks/later.py) keeps a batch run later, beside the ids of single jobs.
DUE_MEMBER = "batch:{}"
# The delete of one of a batch's jobs, run after the job's keys are deleted. KEYS[1] the batch,
# KEYS[2] its open set, KEYS[3] its owner's list of batches, KEYS[4...] its jobs' records;
# ARGV[1] the batch's id, ARGV[2] the job's. Returns 0 (no such batch), 1 (jobs are left) or
# 2 (that was the last: the batch is removed).
LEAVE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
for i = 4, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 1 end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 2
"""
# What LEAVE_LUA returns.
LEFT, GONE = 1, 2
# The share of a batch's bytes done before its pace in bytes says anything of the rest: less
# (a few small files of a big batch) measures the cost of starting jobs, not of bytes.
ETA_BASIS = 0.01


def create(
    r: redis.Redis,
    batch_id: str,
    owner: str,
    processor: str,
    options: dict,
    jobs: list[tuple[str, int]],
    refused: list[dict],
    run_at: str | None = None,
    **fields: str,
) -> dict:
    """Record a batch of ``jobs`` (id, size in bytes) and the ``refused`` files (each
    ``{"filename", "error": {"code", "message"}}``); return its record. ``run_at`` (ISO 8601)
    marks a batch kept until then; ``fields`` (its ``notify`` list and address) go into the
    record as they are."""
    created = time.time()
    record = {
        "id": batch_id,
        "owner": owner,
        "processor": processor,
        "options": json.dumps(options),
        "jobs": json.dumps([job_id for job_id, _ in jobs]),
        "sizes": json.dumps({job_id: size for job_id, size in jobs}),
        "refused": json.dumps(refused),
        "created_at": jobstore.now_iso(created),
        **({"run_at": run_at} if run_at else {}),
        **fields,
    }
    # A batch is kept as long as its jobs (retention deletes them one by one); the user's list
    # forgets batches older than that as new ones come.
    keep_s = settings.RETENTION_HOURS * 3600
    with r.pipeline() as pipe:
        pipe.hset(BATCH_KEY.format(batch_id), mapping=record)
        pipe.expire(BATCH_KEY.format(batch_id), int(keep_s))
        if jobs:
            pipe.sadd(OPEN_KEY.format(batch_id), *(job_id for job_id, _ in jobs))
            pipe.expire(OPEN_KEY.format(batch_id), int(keep_s))
        pipe.zadd(USER_BATCHES_KEY.format(owner), {batch_id: created})
        pipe.zremrangebyscore(USER_BATCHES_KEY.format(owner), "-inf", created - keep_s)
        pipe.execute()
    return record


def send_group(processor: registry.Processor, options: dict, job_ids: list[str]) -> None:
    """Send the processor's task for each recorded job as one Celery group, each task under
    its job's id; raise what the broker raises when it cannot take them."""
    group(processor.task.s(options).set(task_id=job_id) for job_id in job_ids).apply_async()


def get(r: redis.Redis, batch_id: str) -> dict | None:
    """Return a batch's record, or None when there is no such batch."""
    return r.hgetall(BATCH_KEY.format(batch_id)) or None


def owned(r: redis.Redis, batch_id: str, owner: str) -> dict | None:
    """Return a batch's record when ``owner`` owns it; None for unknown and foreign alike."""
    record = get(r, batch_id)
    return record if record and record.get("owner") == owner else None


def job_ids(record: dict) -> list[str]:
    """Return the ids of a batch's jobs, in the order their files were sent."""
    return json.loads(record.get("jobs") or "[]")


def page(r: redis.Redis, owner: str, limit: int) -> list[str]:
    """Return the ids of a user's newest batches, newest first."""
    return r.zrevrange(USER_BATCHES_KEY.format(owner), 0, limit - 1)


def mark_cancelled(r: redis.Redis, batch_id: str) -> None:
    """Remember that the batch's owner cancelled it."""
    r.hset(BATCH_KEY.format(batch_id), "cancelled", "1")


def remove(r: redis.Redis, record: dict) -> None:
    """Delete a batch's record and its place in its owner's list (its jobs are deleted apart)."""
    with r.pipeline() as pipe:
        pipe.delete(BATCH_KEY.format(record["id"]), OPEN_KEY.format(record["id"]))
        pipe.zrem(USER_BATCHES_KEY.format(record["owner"]), record["id"])
        pipe.execute()


def leave(r: redis.Redis, pipe: redis.client.Pipeline, record: dict) -> bool:
    """Queue on ``pipe`` (the transaction deleting a job of ``record``) the removal of the job
    from its batch, and of the batch when no other job of it is left; return False, queuing
    nothing, for a job of no batch. Its reply, last of the pipe's, is ``LEFT`` or ``GONE``."""
    batch_id = record.get("batch")
    if not batch_id:
        return False
    # A batch's jobs never change once it is made: read before the transaction, they are its.
    owner, listed = r.hmget(BATCH_KEY.format(batch_id), ["owner", "jobs"])
    keys = leave_keys(batch_id, owner or record.get("owner", ""), json.loads(listed or "[]"))
    r.register_script(LEAVE_LUA)(keys=keys, args=[batch_id, record["id"]], client=pipe)
    return True


def leave_keys(batch_id: str, owner: str, listed: list[str]) -> list[str]:
    """Return the keys LEAVE_LUA reads and writes for a batch of ``owner`` and its jobs."""
    keys = [BATCH_KEY.format(batch_id), OPEN_KEY.format(batch_id), USER_BATCHES_KEY.format(owner)]
    return keys + [jobstore.JOB_KEY.format(job_id) for job_id in listed]


def drop_if_empty(r: redis.Redis, record: dict) -> bool:
    """Remove a batch none of whose jobs is left (its jobs deleted before a batch went with its
    last job); return True when it was removed."""
    keys = leave_keys(record["id"], record["owner"], job_ids(record))
    return r.register_script(LEAVE_LUA)(keys=keys, args=[record["id"], ""]) == GONE


def tell_left(r: redis.Redis, record: dict, outcome: int) -> None:
    """Tell every web process that a job of a batch was deleted: ``{"id", "deleted": true}``
    when the batch went with it, ``{"id"}`` (changed) when jobs are left."""
    if outcome not in (LEFT, GONE):
        return
    batch = {"id": record["batch"]} | ({"deleted": True} if outcome == GONE else {})
    r.publish(jobstore.EVENTS_CHANNEL, json.dumps({"owner": record["owner"], "batch": batch}))


def job_ended(r: redis.Redis, batch_id: str, job_id: str) -> bool:
    """Take an ended job out of its batch's open set; return True when no job of the batch is
    left unfinished (so the caller tells the batch's end)."""
    with r.pipeline() as pipe:  # MULTI: the removal and the count see the same set
        pipe.srem(OPEN_KEY.format(batch_id), job_id)
        pipe.scard(OPEN_KEY.format(batch_id))
        pipe.exists(BATCH_KEY.format(batch_id))
        _, left, exists = pipe.execute()
    return bool(exists) and left == 0


def snapshot(r: redis.Redis, record: dict) -> dict:
    """Return a batch's snapshot as a worker sees it (no rates: those are a web process's)."""
    found = jobstore.get_with_meta(r, job_ids(record))
    return aggregate(record, [job_snapshot.build(rec, meta) for rec, meta in found])


def state_of(record: dict, counts: Counter) -> str:
    """Return a batch's state from its jobs' counts per state.

    Unfinished: SCHEDULED while every unfinished job waits for the batch's ``run_at``, PENDING
    while every job waits in the queue, else PROGRESS. Ended: REVOKED when its owner
    cancelled it (or every job was cancelled), SUCCESS when every file ran and ended well,
    FAILURE when every job failed, PARTIAL otherwise (some failed, were cancelled or refused).
    """
    total = sum(counts.values())
    ended = sum(counts[s] for s in TERMINAL)
    if ended < total:
        if counts[SCHEDULED] == total - ended:
            return SCHEDULED
        return PENDING if counts[PENDING] == total else PROGRESS
    refused = bool(json.loads(record.get("refused") or "[]"))
    if record.get("cancelled") or (total and counts[REVOKED] == total):
        return REVOKED
    if counts[SUCCESS] == total and not refused:
        return SUCCESS
    if counts[FAILURE] == total and not refused:
        return FAILURE
    return PARTIAL


def aggregate(record: dict, jobs: list[dict], now: float | None = None) -> dict:
    """Return the batch snapshot of the contract from its record and its jobs' snapshots.

    Only the jobs left count: ``jobs`` lists them, ``counts`` their states, ``deleted_jobs``
    says how many of the batch's jobs were deleted (a job not found is one). It is not named
    ``deleted``: ``{"id", "deleted": true}`` is the event of a deleted batch.

    ``progress`` is in bytes, over the jobs left: each job weighs its file's size and counts
    the work it did. A job that ended SUCCESS or FAILURE counts whole (its work is over); a
    cancelled one (REVOKED) counts the share it had done when it stopped, as its own bar stays
    where it stopped (nothing if it never started); a queued or running one the share of its own
    progress done. So a batch cancelled early reads what was done, not 100 %. ``rate`` is the
    bytes per second of the running jobs together (each job's rate in its own unit turned into
    bytes by its size over its total). ``eta_s`` is the bytes the unfinished jobs have left, at
    the pace the batch has kept: its bytes done (a cancelled job's share included: that work was
    done) over the time since its first job started (until ``now``, Unix time, by default the
    clock's); a cancelled job's undone share is not work left. None while it has no basis (no
    job started, or less than ``ETA_BASIS`` of its bytes done). The running jobs' rates do not
    make it: they know nothing of the files still queued, and a job whose work is not bytes
    (steps, images) gives a rate in bytes that says nothing of another file's.
    """
    sizes = json.loads(record.get("sizes") or "{}")
    counts: Counter = Counter({state: 0 for state in STATES})
    current = total = left = 0.0
    rate = 0.0
    finished: list[str] = []
    starts = [jobstore.timestamp(job.get("started_at")) for job in jobs]
    for job in jobs:
        state = job["state"]
        counts[state] += 1
        size = float(sizes.get(job["id"], job.get("size") or 0))
        # A job of 0 bytes still counts a little, so a batch of empty-ish files moves.
        weight = max(size, 1.0)
        total += weight
        progress = job.get("progress") or {}
        if state in TERMINAL and job.get("finished_at"):
            finished.append(job["finished_at"])
        if state in (SUCCESS, FAILURE):
            current += weight
            continue
        part_total, part_done = progress.get("total"), progress.get("current") or 0
        share = 0.0
        if part_total:
            share = min(1.0, max(0.0, float(part_done) / float(part_total)))
        current += weight * share
        if state == REVOKED:
            continue
        left += weight * (1.0 - share)
        if part_total and progress.get("rate"):
            rate += float(progress["rate"]) * weight / float(part_total)
    seen = {job["id"] for job in jobs}
    listed = job_ids(record)
    state = state_of(record, counts)
    running = state in UNFINISHED
    percent = round(100.0 * current / total, 2) if total else 100.0
    return {
        "id": record["id"],
        "processor": record.get("processor", ""),
        "state": state,
        "jobs": [job_id for job_id in listed if job_id in seen],
        "counts": {s: n for s, n in counts.items() if n},
        "deleted_jobs": sum(1 for job_id in listed if job_id not in seen),
        "progress": {
            "current": round(current),
            "total": round(total),
            "unit": "bytes",
            "percent": 100.0 if state == SUCCESS else min(percent, 100.0),
            "rate": round(rate, 3) if running and rate else None,
            "eta_s": time_left(current, left, total, starts, now) if running else None,
        },
        "refused": json.loads(record.get("refused") or "[]"),
        "created_at": record.get("created_at"),
        "finished_at": max(finished) if finished and not running else None,
        "notify": snapshot_notify(record),
        **({"run_at": record["run_at"]} if record.get("run_at") else {}),
    }


def time_left(
    done: float, left: float, total: float, starts: list[float | None], now: float | None
) -> float | None:
    """Return the seconds ``left`` bytes take at the ``done`` bytes a second since the first of
    ``starts``, or None without a basis (see :func:`aggregate`)."""
    known = [start for start in starts if start is not None]
    if not known or not total or done < ETA_BASIS * total:
        return None
    elapsed = (time.time() if now is None else now) - min(known)
    if elapsed <= 0:  # a start read on a clock ahead of this one
        return None
    return round(left * elapsed / done, 1)


def snapshot_notify(record: dict) -> list:
    """Return who the batch's end is told to: ``"email"`` and ``{"webhook": url}`` items."""
    return job_snapshot.notify_of(record)
