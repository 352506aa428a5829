"""One big file over several workers: the job's task replaces itself with a Celery chord of
part tasks (each reads one byte range of the input) and a merge task that runs under the job's
own id, so the job's result and final state are the merge's.

A processor that can be split declares a :class:`Splitter` (``@processor(..., split=...)``):
where to cut, the work on one part, and the merge of the parts' results. Everything Celery does
is left to Celery: the chord's bookkeeping (Redis backend), a failed part retried alone
(``task.retry``), a part of a lost worker delivered again (``acks_late``).

Progress: each part's :class:`~tasks.progress.Progress` stores its bytes in a hash of the
job (``taskboard:parts:<job id>``) and then the sum, with the parts' counts, as the job's own
PROGRESS state: the job stays one bar. Its message is the whole job's ("4 parts: 2 done, 2
running"), not the reporting part's own (a part's rows, say, which jumped from part to part).
A part's bytes only grow (the best of its runs), and the sum is computed and stored under a
short lock, so the bar never moves back, not even while a part lost with its worker is done
again (it holds still until the new run passes the old).
Cancel: every part reads the job's cancel flag at each report; the first to see it marks the
job REVOKED, the others stop too.

A part is a task of its own, not a job: the job's stored state names no worker while its parts
run. So each part also keeps, in the same hash, the worker running it, when it last reported,
and how to send it again (its Celery signature as its request had it, chord and group
included, as ``Task.retry`` rebuilds it). The lost-worker check, the stall sweeper and a
restarting worker (``tasks/maintenance.py``) read them through ``tasks.partruns`` and send a
lost part again alone; a pool process killed mid-part gives its
message back by itself (``acks_late`` with ``reject_on_worker_lost``). A message of a part that
comes back after the part or the job ended is dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from celery import chord
from celery import shared_task
from celery.exceptions import Ignore

from tasks import files
from tasks import jobstore
from tasks import registry
from tasks.formats import FormatError
from tasks.formats.binary import is_transient
from tasks.progress import Cancelled
from tasks.progress import Progress
from tasks.progress import keep_last

log = logging.getLogger(__name__)
PARTS_KEY = "taskboard:parts:{}"
PARTS_LOCK = "taskboard:parts-lock:{}"
PARTS_TTL_S = 24 * 3600
PART_ID = "{}-part-{}"
# ``"parallel": true`` makes a part per this many bytes (so small files are not split), at
# most MAX_PARTS; a number asks for that many parts, each at least MIN_PART_BYTES.
PART_BYTES = 32 * 1024 * 1024
MIN_PART_BYTES = 64 * 1024
MAX_PARTS = 64
MAX_RETRIES = 3

# The options of a processor that can be split.
PARALLEL_OPTION = {
    "parallel": {
        "type": ["boolean", "integer"],
        "minimum": 1,
        "maximum": MAX_PARTS,
        "default": False,
        "description": "Split a big file over several workers: true (a part per 32 MiB) "
        "or a number of parts.",
    }
}


@dataclass
class Splitter:
    """How a processor's work is split: ``prepare(src, options)`` returns a JSON context (or
    None to run in one task), ``cuts(src, context, targets)`` the byte offsets where parts may
    start, ``part(src, start, end, index, context, progress)`` one part's JSON state, and
    ``merge(states, context)`` the job's result. Keys of the context that start with ``_`` are
    for ``cuts`` only (what the preparing pass found on the way): the parts and the merge get
    the context without them."""

    prepare: Callable[[Path, dict], dict | None]
    cuts: Callable[[Path, dict, list[int]], list[int]]
    part: Callable[[Path, int, int, int, dict, Progress], dict]
    merge: Callable[[list[dict], dict], dict]

    def plan(self, task: Any, name: str, options: dict) -> Any | None:
        """Return the chord that does the task's job in parts, or None (see :func:`plan`)."""
        return plan(task, name, self, options)


def parts_wanted(size: int, parallel: bool | int) -> int:
    """Return how many parts a file of ``size`` bytes is cut into for the option's value."""
    if parallel is True:
        wanted = size // PART_BYTES
    elif isinstance(parallel, int) and not isinstance(parallel, bool):
        wanted = parallel
    else:
        return 1
    return max(1, min(wanted, MAX_PARTS, size // MIN_PART_BYTES))


def plan(task: Any, name: str, splitter: Splitter, options: dict) -> Any | None:
    """Return the chord that does the job's work in parts, or None when it runs in one task
    (the option is off, the file is small, or the processor says this file cannot be cut)."""
    job_id = task.request.id
    src = files.input_path(job_id)
    size = src.stat().st_size
    wanted = parts_wanted(size, options.get("parallel", False))
    if wanted < 2:
        return None
    cpu = time.process_time()
    context = splitter.prepare(src, options)
    if context is None:
        return None
    targets = [size * i // wanted for i in range(1, wanted)]
    starts = [0] + sorted({c for c in splitter.cuts(src, context, targets) if 0 < c < size})
    context = {key: value for key, value in context.items() if not key.startswith("_")}
    bounds = list(zip(starts, [*starts[1:], size], strict=True))
    if len(bounds) < 2:
        return None
    client = jobstore.client()
    cpu = time.process_time() - cpu
    with client.pipeline() as pipe:
        pipe.delete(PARTS_KEY.format(job_id))
        # CPU seconds of each step (the plan, each part, the merge): what a quiet machine's
        # wall time would follow, read by the split benchmark.
        pipe.hset(PARTS_KEY.format(job_id), "cpu_s:plan", round(cpu, 4))
        pipe.expire(PARTS_KEY.format(job_id), PARTS_TTL_S)
        pipe.execute()
    log.info(
        "job %s split into %d parts (%.2f CPU s to plan)",
        job_id,
        len(bounds),
        cpu,
        extra={"job_id": job_id, "event": "job.split", "parts": len(bounds)},
    )
    header = [
        run_part.s(job_id, name, i, start, end, size, len(bounds), context).set(
            task_id=PART_ID.format(job_id, i)
        )
        for i, (start, end) in enumerate(bounds)
    ]
    return chord(header, merge_parts.s(name, context))


# One part's report: its bytes only grow (the best of its runs), its worker and the time; then
# the parts' sums; nothing is written once the job's cancel flag is set (nil is returned).
# KEYS[1] the parts hash, KEYS[2] the job's cancel flag; ARGV index, bytes, worker, now, ttl.
REPORT_LUA = """
local key, i = KEYS[1], ARGV[1]
if redis.call('EXISTS', KEYS[2]) == 1 then return nil end
local before = tonumber(redis.call('HGET', key, 'bytes:' .. i) or '0')
if tonumber(ARGV[2]) > before then redis.call('HSET', key, 'bytes:' .. i, ARGV[2]) end
redis.call('HSET', key, 'worker:' .. i, ARGV[3], 'beat:' .. i, ARGV[4])
redis.call('HSETNX', key, 'started:' .. i, '1')
redis.call('EXPIRE', key, ARGV[5])
local current, done, started = 0, 0, 0
local fields = redis.call('HGETALL', key)
for n = 1, #fields, 2 do
  local f = fields[n]
  if string.sub(f, 1, 6) == 'bytes:' then current = current + tonumber(fields[n + 1])
  elseif string.sub(f, 1, 5) == 'done:' then done = done + 1
  elseif string.sub(f, 1, 8) == 'started:' then started = started + 1 end
end
return {current, done, started}
"""


def report(client: Any, task: Any, job_id: str, index: int, count: int, size: int):
    """Return a progress store for one part: its bytes into the job's hash (never less than
    an earlier run of the part had), then the sum and the parts' counts as the job's PROGRESS
    state. Sum and store are done under a short lock, so a later store never carries a smaller
    sum; a report that cannot take the lock within 0.5 s is skipped (its bytes are in the hash
    for the next one). A report made after the job's cancel flag was set writes nothing and
    raises :class:`~tasks.progress.Cancelled` (the flag is read in the script: a part that read
    it unset a moment before cannot write over the job's end)."""
    key = PARTS_KEY.format(job_id)
    flag = jobstore.CANCEL_KEY.format(job_id)
    script = client.register_script(REPORT_LUA)
    worker = task.request.hostname or ""

    def store(meta: dict) -> None:
        lock = client.lock(PARTS_LOCK.format(job_id), timeout=5, blocking_timeout=0.5)
        if not lock.acquire():
            return
        try:
            args = [index, int(meta["current"]), worker, time.time(), PARTS_TTL_S]
            sums = script(keys=[key, flag], args=args)
            if sums is None:
                raise Cancelled()
            current, done, started = sums
            task.backend.store_result(
                job_id,
                meta
                | {
                    "current": current,
                    "total": size,
                    "message": parts_message(count, done, started - done),
                    "parts": {"total": count, "done": done, "running": started - done},
                },
                "PROGRESS",
            )
        finally:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()

    return store


def parts_message(count: int, done: int, running: int) -> str:
    """Return the message of a job in parts: the whole job's ("4 parts: 2 done, 2 running"),
    never one part's (its rows, say), which would jump between the parts' counts."""
    return f"{count} parts: {done} done, {running} running"


@shared_task(bind=True, acks_late=True)
def run_part(
    self: Any,
    job_id: str,
    name: str,
    index: int,
    start: int,
    end: int,
    size: int,
    count: int,
    context: dict,
) -> dict:
    """Work on one byte range of a job's file; return the part's JSON state for the merge."""
    splitter = registry.get(name).split
    client = jobstore.client()
    part_id = self.request.id
    if state_of(self, part_id) == "SUCCESS" or state_of(self, job_id) in jobstore.TERMINAL:
        # A message that came back after the part, or its job, ended: nothing to do again.
        log.info("job %s part %d already ended; dropped", job_id, index)
        raise Ignore()
    # How to send this part again should its worker be lost (see the module's note).
    resend = json.dumps(dict(self.signature_from_request()))
    client.hset(PARTS_KEY.format(job_id), f"sig:{index}", resend)
    progress = Progress(
        store=report(client, self, job_id, index, count, size),
        is_cancelled=lambda: jobstore.cancel_requested(client, job_id),
        unit="bytes",
    )
    progress.total = end - start
    cpu = time.process_time()
    try:
        progress.update(0, message=f"part {index + 1} of {count}", force=True)
        state = splitter.part(files.input_path(job_id), start, end, index, context, progress)
        # Cancelled after the part's last report: it ends as the others do, and is not counted.
        progress.check_cancelled()
    except Cancelled:
        if state_of(self, job_id) not in jobstore.TERMINAL:
            self.backend.mark_as_revoked(job_id, "cancelled")
        log.info("job %s part %d cancelled", job_id, index, extra={"job_id": job_id})
        raise Ignore() from None
    except OSError as exc:
        if is_transient(exc) and self.request.retries < MAX_RETRIES:
            raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
        fail(self, client, job_id, f"Reading the file failed: {exc.strerror or exc}.")
    except (FormatError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        fail(self, client, job_id, str(exc) or "The part could not be read.")
    cpu = round(time.process_time() - cpu, 4)
    client.hset(PARTS_KEY.format(job_id), mapping={f"done:{index}": "1", f"cpu_s:{index}": cpu})
    return state


def state_of(task: Any, job_id: str) -> str:
    """Return the job's state as the backend has it."""
    return task.backend.get_task_meta(job_id).get("status") or jobstore.PENDING


def fail(task: Any, client: Any, job_id: str, message: str) -> None:
    """Fail the whole job with a part's reason, stop the other parts, and end this one."""
    if state_of(task, job_id) not in jobstore.TERMINAL:
        task.backend.mark_as_failure(job_id, registry.ProcessorError(message))
    # The other parts stop at their next report; the chord never completes, so no merge runs.
    jobstore.request_cancel(client, job_id)
    raise Ignore()


@shared_task(bind=True, acks_late=True)
def merge_parts(self: Any, states: list[dict], name: str, context: dict) -> dict:
    """Merge the parts' states into the job's result (this task runs under the job's id)."""
    started = time.process_time()
    result = registry.get(name).split.merge(states, context)
    cpu = time.process_time() - started
    client = jobstore.client()
    client.hset(PARTS_KEY.format(self.request.id), "cpu_s:merge", round(cpu, 4))
    # The parts counted the file's bytes: all of them are done.
    size = int((jobstore.get(client, self.request.id) or {}).get("size") or 0)
    done = {"current": size, "total": size, "unit": "bytes", "message": "done", "ts": time.time()}
    keep_last(client, self.request.id, done)
    log.info(
        "job %s merged %d parts in %.3f CPU s",
        self.request.id,
        len(states),
        cpu,
        extra={"job_id": self.request.id, "event": "job.merged"},
    )
    return result | {"parts": {"total": len(states), "done": len(states), "running": 0}}
