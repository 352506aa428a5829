"""Periodic jobs run by beat: the stall sweeper and retention.

A job whose worker died can stay STARTED or PROGRESS for ever: with the Redis broker its message
only comes back after the visibility timeout. The sweeper finds running jobs whose progress has
not moved for ``STALL_AFTER_S`` and that no live worker holds, sends them again (up to
``STALL_REDELIVERIES`` times) and otherwise marks them FAILURE with a message for a person.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import redis
from celery import current_app
from celery import shared_task

from tasks import jobstore
from tasks import settings

log = logging.getLogger(__name__)
RUNNING = ("STARTED", "PROGRESS", "RETRY")


def heartbeat(meta: dict, record: dict) -> float | None:
    """Return when a running job last showed life, as Unix time, or None if unknown."""
    result = meta.get("result")
    if meta.get("status") == "PROGRESS" and isinstance(result, dict) and result.get("ts"):
        return float(result["ts"])
    started = record.get("started_at") or record.get("created_at")
    return datetime.fromisoformat(started).timestamp() if started else None


def held_by_workers() -> set[str] | None:
    """Return the ids of the jobs live workers are running or hold, or None if none answered."""
    inspect = current_app.control.inspect(timeout=2.0)
    replies = [inspect.active(), inspect.reserved()]
    if all(reply is None for reply in replies):
        return None
    return {t["id"] for reply in replies for tasks in (reply or {}).values() for t in tasks}


def stalled_jobs(r: redis.Redis, now: float) -> list[tuple[dict, dict]]:
    """Return the running jobs whose heartbeat is older than the stall limit."""
    found = []
    for key in r.scan_iter(jobstore.JOB_KEY.format("*"), count=1000):
        record = r.hgetall(key)
        if not record.get("id"):
            continue
        meta = jobstore.parse_meta(r.get(jobstore.META_KEY.format(record["id"])))
        if not meta or meta.get("status") not in RUNNING:
            continue
        beat = heartbeat(meta, record)
        if beat is not None and now - beat > settings.STALL_AFTER_S:
            found.append((record, meta))
    return found


@shared_task
def sweep_stalled() -> dict:
    """Send again, or fail, the running jobs that no live worker holds any more."""
    r = jobstore.client()
    candidates = stalled_jobs(r, time.time())
    if not candidates:
        return {"redelivered": 0, "failed": 0}
    held = held_by_workers() or set()
    redelivered = failed = 0
    for record, meta in candidates:
        job_id = record["id"]
        if job_id in held:
            continue  # a long step that does not report: its worker is alive
        tries = r.hincrby(jobstore.JOB_KEY.format(job_id), "redelivered", 1)
        if tries <= settings.STALL_REDELIVERIES and meta.get("name"):
            log.warning("job %s stalled on %s; sending it again", job_id, meta.get("worker"))
            current_app.send_task(
                meta["name"],
                args=meta.get("args") or [],
                kwargs=meta.get("kwargs") or {},
                task_id=job_id,
                queue=meta.get("queue"),
            )
            redelivered += 1
        else:
            log.warning("job %s stalled on %s; marking it failed", job_id, meta.get("worker"))
            jobstore.give_up(r, job_id)
            current_app.backend.mark_as_failure(job_id, jobstore.Stalled(jobstore.STALLED))
            failed += 1
    return {"redelivered": redelivered, "failed": failed}


@shared_task
def purge_expired() -> dict:
    """Delete finished jobs, and their files, older than ``RETENTION_HOURS``."""
    r = jobstore.client()
    cutoff = time.time() - settings.RETENTION_HOURS * 3600
    removed = 0
    for key in r.scan_iter(jobstore.USER_KEY.format("*"), count=1000):
        for job_id in r.zrangebyscore(key, 0, cutoff):
            record = r.hgetall(jobstore.JOB_KEY.format(job_id))
            meta = jobstore.parse_meta(r.get(jobstore.META_KEY.format(job_id)))
            if not record:
                r.zrem(key, job_id)
            elif meta is None or meta.get("status") in jobstore.TERMINAL:
                jobstore.forget(r, record)
                removed += 1
    if removed:
        log.info("retention removed %d job(s) older than %s h", removed, settings.RETENTION_HOURS)
    return {"removed": removed}
