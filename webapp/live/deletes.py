"""Deletes held for an Undo: a bulk delete with ``undo_s`` marks the jobs and deletes them only
once that time has passed, unless they are restored first.

A held job keeps everything (record, result, files) and its snapshot says ``delete_at``, so a
reload or another tab shows it as being deleted, never gone and then back. The holds live in
Redis (``taskboard:held-deletes``, job id -> when it goes), not in a page: a page that is
reloaded or closed changes nothing. Each web process runs :func:`sweep` in the background; a
due job is deleted by the process whose ZREM took it, once. A restore is the same ZREM: it wins
or finds the job already gone.
"""

from __future__ import annotations

import logging
import time

import redis
from flask import Flask

from tasks import jobstore
from webapp.extensions import socketio

log = logging.getLogger(__name__)
HELD_KEY = "taskboard:held-deletes"
# The longest a delete is held; how often each web process looks for due ones.
MAX_UNDO_S = 60
SWEEP_EVERY_S = 0.25


def hold(r: redis.Redis, records: list[dict], undo_s: float) -> str:
    """Mark jobs to be deleted ``undo_s`` seconds from now; return when (ISO time). The records
    get their ``delete_at``."""
    due = time.time() + undo_s
    when = jobstore.now_iso(due)
    with r.pipeline() as pipe:
        for record in records:
            pipe.hset(jobstore.JOB_KEY.format(record["id"]), "delete_at", when)
            pipe.zadd(HELD_KEY, {record["id"]: due})
            record["delete_at"] = when
        pipe.execute()
    return when


def restore(r: redis.Redis, record: dict) -> bool:
    """Take back a held delete; False when the job is not held (never was, or already gone)."""
    if not r.zrem(HELD_KEY, record["id"]):
        return False
    r.hdel(jobstore.JOB_KEY.format(record["id"]), "delete_at")
    record.pop("delete_at", None)
    return True


def delete_due(r: redis.Redis, upload_dir: str, now: float | None = None) -> list[str]:
    """Delete the held jobs whose time has come (those this process claims); return their ids."""
    from webapp.live.rooms import push

    deleted = []
    for job_id in r.zrangebyscore(HELD_KEY, 0, time.time() if now is None else now):
        if not r.zrem(HELD_KEY, job_id):
            continue  # restored, or taken by another web process
        record = jobstore.get(r, job_id)
        if record is None or not record.get("delete_at"):
            continue
        jobstore.remove(r, record, upload_dir)
        push(record["owner"], {"id": job_id, "deleted": True})
        deleted.append(job_id)
    if deleted:
        log.info("deleted %d job(s) whose undo time passed", len(deleted))
    return deleted


def sweep(app: Flask) -> None:
    """Delete due held jobs for ever, every ``SWEEP_EVERY_S``; Redis outages are waited out."""
    r = app.extensions["redis"]
    while True:
        socketio.sleep(SWEEP_EVERY_S)
        try:
            delete_due(r, app.config["UPLOAD_DIR"])
        except redis.RedisError:
            socketio.sleep(1.0)
        except Exception:  # one bad record must not stop the sweeps
            log.exception("held deletes: sweep failed")


def start(app: Flask) -> None:
    """Start this process's sweeper of held deletes."""
    socketio.start_background_task(sweep, app)
