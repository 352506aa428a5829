"""The parts of split jobs as the recovery sees them: which parts started and have not finished,
on which worker, when each last reported, and how to send one again alone (its Celery signature
as its request had it, chord and group included). Read and written in the job's parts hash
(``tasks/split.py``) by the lost-worker check, the stall sweeper and a restarting worker
(``tasks/maintenance.py``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis
from celery import current_app
from celery import signature

from tasks import jobstore
from tasks.split import PART_ID
from tasks.split import PARTS_KEY


@dataclass
class PartRun:
    """A started, unfinished part of a split job, as its job's parts hash has it."""

    job_id: str
    index: int
    worker: str
    beat: float  # when it last reported or was sent again, Unix time
    redelivered_at: float
    resend: str  # its signature, JSON

    @property
    def id(self) -> str:
        """The part's task id."""
        return PART_ID.format(self.job_id, self.index)


def is_split(meta: dict | None) -> bool:
    """Tell whether a running job's stored state is its parts' (no worker of its own)."""
    result = (meta or {}).get("result")
    return (
        (meta or {}).get("status") == jobstore.PROGRESS
        and isinstance(result, dict)
        and ("parts" in result)
    )


def open_parts(r: redis.Redis, job_id: str) -> list[PartRun]:
    """Return the parts of a job that started and have not finished."""
    fields = r.hgetall(PARTS_KEY.format(job_id))
    found = []
    for field in fields:
        if not field.startswith("started:"):
            continue
        i = field.split(":", 1)[1]
        if f"done:{i}" in fields or f"sig:{i}" not in fields:
            continue
        redelivered_at = float(fields.get(f"redelivered_at:{i}") or 0)
        found.append(
            PartRun(
                job_id,
                int(i),
                fields.get(f"worker:{i}", ""),
                max(float(fields.get(f"beat:{i}") or 0), redelivered_at),
                redelivered_at,
                fields[f"sig:{i}"],
            )
        )
    return sorted(found, key=lambda part: part.index)


def resend_part(r: redis.Redis, part: PartRun, limit: int) -> int:
    """Send a part again alone, as its request had it (chord and group included), unless it
    has been sent again ``limit`` times already; return its count of sendings again (above
    ``limit`` when it was not sent)."""
    key = PARTS_KEY.format(part.job_id)
    tries = r.hincrby(key, f"redelivered:{part.index}", 1)
    if tries <= limit:
        r.hset(key, f"redelivered_at:{part.index}", time.time())
        signature(json.loads(part.resend), app=current_app).apply_async()
    return tries


def give_up_part(r: redis.Redis, part: PartRun, message: str) -> None:
    """Fail a part's job for good (the part was lost too often) and stop its other parts."""
    jobstore.give_up(r, part.job_id)
    current_app.backend.mark_as_failure(part.job_id, jobstore.Stalled(message))
    jobstore.request_cancel(r, part.job_id)
