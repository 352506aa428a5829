"""The HTML pages: the dashboard and one job's page."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import render_template

from webapp.api import current_user
from webapp.live import canonical_id

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """Show the dashboard: the upload form and the user's jobs."""
    current_user()
    # The page refuses larger files itself, before sending them.
    return render_template("index.html", max_upload_bytes=current_app.config["MAX_UPLOAD_BYTES"])


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """Show one job: details, result, timeline."""
    current_user()
    canonical = canonical_id(job_id)
    if canonical is None:
        abort(404)
    return render_template("job.html", job_id=canonical)
