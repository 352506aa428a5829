"""Cancel, the web side: set the job's flag, revoke it, and kill it if it stops listening.

A queued job is revoked and marked REVOKED at once, so it never starts. A running job sees its
flag at its next progress report (``tasks.progress``) and stops itself; one that has not stopped
after the grace period is terminated, and its partial outputs are removed.
"""

from __future__ import annotations

import logging
import time

import redis
from flask import Flask
from flask import current_app

from tasks import app as celery_app
from tasks import files
from tasks import jobstore
from tasks import notify
from tasks import queueline
from webapp.extensions import socketio

log = logging.getLogger(__name__)
POLL_S = 0.05


def request_cancel(r: redis.Redis, job_id: str, state: str) -> dict | None:
    """Ask a job to stop; return its backend entry when it is already REVOKED."""
    jobstore.request_cancel(r, job_id)
    celery_app.control.revoke(job_id)
    app = current_app._get_current_object()
    if state == "PENDING":
        queueline.leave(r, job_id)
        celery_app.backend.mark_as_revoked(job_id, "cancelled")
        notify.job_ended(r, job_id)
    socketio.start_background_task(enforce, app, job_id)
    return (
        jobstore.parse_meta(r.get(jobstore.META_KEY.format(job_id))) if state == "PENDING" else None
    )


def enforce(app: Flask, job_id: str) -> None:
    """Terminate a cancelled job that is still running after the grace period."""
    r = app.extensions["redis"]
    grace = app.config["CANCEL_GRACE_S"]
    if wait_terminal(r, job_id, grace):
        files.clear_outputs(job_id, app.config["UPLOAD_DIR"])
        return
    log.warning("job %s did not stop within %.1f s of its cancel: terminating it", job_id, grace)
    celery_app.control.revoke(job_id, terminate=True)
    if not wait_terminal(r, job_id, 2.0):
        # No worker holds it (it died, or the message is in flight): record the cancel.
        celery_app.backend.mark_as_revoked(job_id, "cancelled")
        notify.job_ended(r, job_id)
    files.clear_outputs(job_id, app.config["UPLOAD_DIR"])


def wait_terminal(r: redis.Redis, job_id: str, seconds: float) -> bool:
    """Wait up to ``seconds`` for a job to finish; tell whether it did."""
    deadline = time.monotonic() + seconds
    while True:
        meta = jobstore.parse_meta(r.get(jobstore.META_KEY.format(job_id)))
        if meta and meta.get("status") in jobstore.TERMINAL:
            return True
        if time.monotonic() >= deadline:
            return False
        socketio.sleep(POLL_S)
