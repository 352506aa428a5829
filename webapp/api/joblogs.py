"""A job's own log over HTTP; the same lines come live as the Socket.IO event ``log``."""

from __future__ import annotations

from flask import request

from tasks import joblog
from webapp.api import bp
from webapp.api.jobs import owned
from webapp.errors import ApiError
from webapp.extensions import store


@bp.get("/api/jobs/<job_id>/logs")
def get_logs(job_id: str):
    """Return the job's log lines after ``after`` (a line's ``seq``), oldest first."""
    record, _ = owned(job_id)
    raw = request.args.get("after", "0") or "0"
    try:
        after = int(raw)
    except ValueError:
        raise ApiError(400, "bad_after", "after must be a whole number (a line's seq).") from None
    if after < 0:
        raise ApiError(400, "bad_after", "after must be 0 or more.")
    return {"lines": joblog.read(store(), record["id"], after)}
