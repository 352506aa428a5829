"""One big file over several workers: the job's task replaces itself with a Celery chord of
part tasks (each reads one byte range of the input) and a merge task that runs under the job's
own id, so the job's result and final state are the merge's.

A processor that can be split declares a :class:`Splitter` (``@processor(..., split=...)``):
where to cut, the work on one part, and the merge of the parts' results. Everything Celery does
is left to Celery: the chord's bookkeeping (Redis backend), a failed part retried alone
(``task.retry``), a part of a lost worker delivered again (``acks_late``).

Progress: each part's :class:`~tasks.progress.Progress` stores its bytes in a hash of the
job (``taskboard:parts:<job id>``) and then the sum, with the parts' counts, as the job's own
PROGRESS state: the job stays one bar. Cancel: every part reads the job's cancel flag at each
report; the first to see it marks the job REVOKED, the others stop too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

log = logging.getLogger(__name__)
PARTS_KEY = "taskboard:parts:{}"
PARTS_TTL_S = 24 * 3600
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
    ``merge(states, context)`` the job's result."""

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
    context = splitter.prepare(src, options)
    if context is None:
        return None
    targets = [size * i // wanted for i in range(1, wanted)]
    starts = [0] + sorted({c for c in splitter.cuts(src, context, targets) if 0 < c < size})
    bounds = list(zip(starts, [*starts[1:], size], strict=True))
    if len(bounds) < 2:
        return None
    client = jobstore.client()
    client.delete(PARTS_KEY.format(job_id))
    log.info(
        "job %s split into %d parts",
        job_id,
        len(bounds),
        extra={"job_id": job_id, "event": "job.split", "parts": len(bounds)},
    )
    header = [
        run_part.s(job_id, name, i, start, end, size, len(bounds), context).set(
            task_id=f"{job_id}-part-{i}"
        )
        for i, (start, end) in enumerate(bounds)
    ]
    return chord(header, merge_parts.s(name, context))


def report(client: Any, task: Any, job_id: str, index: int, count: int, size: int):
    """Return a progress store for one part: its bytes into the job's hash, then the sum and
    the parts' counts as the job's PROGRESS state."""
    key = PARTS_KEY.format(job_id)

    def store(meta: dict) -> None:
        with client.pipeline() as pipe:
            pipe.hset(key, f"bytes:{index}", int(meta["current"]))
            pipe.hsetnx(key, f"started:{index}", "1")
            pipe.expire(key, PARTS_TTL_S)
            pipe.hgetall(key)
            seen = pipe.execute()[-1]
        done = sum(1 for field in seen if field.startswith("done:"))
        started = sum(1 for field in seen if field.startswith("started:"))
        current = sum(int(v) for f, v in seen.items() if f.startswith("bytes:"))
        task.backend.store_result(
            job_id,
            meta
            | {
                "current": current,
                "total": size,
                "parts": {"total": count, "done": done, "running": started - done},
            },
            "PROGRESS",
        )

    return store


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
    progress = Progress(
        store=report(client, self, job_id, index, count, size),
        is_cancelled=lambda: jobstore.cancel_requested(client, job_id),
        unit="bytes",
    )
    progress.total = end - start
    try:
        progress.update(0, message=f"part {index + 1} of {count}", force=True)
        state = splitter.part(files.input_path(job_id), start, end, index, context, progress)
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
    client.hset(PARTS_KEY.format(job_id), f"done:{index}", "1")
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
    started = time.monotonic()
    result = registry.get(name).split.merge(states, context)
    log.info(
        "job %s merged %d parts in %.3f s",
        self.request.id,
        len(states),
        time.monotonic() - started,
        extra={"job_id": self.request.id, "event": "job.merged"},
    )
    return result | {"parts": {"total": len(states), "done": len(states), "running": 0}}
