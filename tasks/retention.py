"""Retention, a periodic job of beat: finished jobs older than ``RETENTION_HOURS`` are
deleted with their files, and files no job claims (a web process stopped between saving an
upload and recording its job; a half-received upload) are removed."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import redis
from celery import shared_task

from tasks import files
from tasks import jobstore
from tasks import settings

log = logging.getLogger(__name__)
# How old a half-received upload may get before it is removed.
INCOMING_MAX_AGE_S = 24 * 3600


@shared_task
def purge_expired() -> dict:
    """Delete finished jobs, and their files, older than ``RETENTION_HOURS``."""
    r = jobstore.client()
    cutoff = time.time() - settings.RETENTION_HOURS * 3600
    removed = 0
    for batch in jobstore.expired_jobs(r, cutoff):
        for record in batch:
            jobstore.forget(r, record)
        removed += len(batch)
    orphans = purge_orphan_files(r, cutoff, time.time() - INCOMING_MAX_AGE_S)
    if removed or orphans:
        log.info(
            "retention removed %d job(s) and %d orphan file(s) older than %s h",
            removed,
            orphans,
            settings.RETENTION_HOURS,
        )
    return {"removed": removed, "orphans": orphans}


def purge_orphan_files(r: redis.Redis, cutoff: float, incoming_cutoff: float) -> int:
    """Remove job folders no record claims (a web process stopped between saving an upload and
    recording its job) older than ``cutoff``, and half-received uploads older than
    ``incoming_cutoff``."""
    root = settings.UPLOAD_DIR
    removed = 0
    for entry in root.iterdir() if root.is_dir() else ():
        if entry.name == files.INCOMING:
            for part in entry.iterdir():
                if modified_before(part, incoming_cutoff):
                    part.unlink(missing_ok=True)
                    removed += 1
        elif (
            entry.is_dir()
            and modified_before(entry, cutoff)
            and not r.exists(jobstore.JOB_KEY.format(entry.name))
        ):
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def modified_before(path: Path, cutoff: float) -> bool:
    """Tell whether a file was last changed before ``cutoff`` (False if it is gone)."""
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
