"""The HTML pages: the dashboard, one job's page, schedules, the account, and the sign-in page
in accounts mode."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from webapp.auth import accounts_mode
from webapp.auth import current_user
from webapp.auth import email_of
from webapp.auth import signed_in_user
from webapp.live import canonical_id

bp = Blueprint("pages", __name__)


@bp.before_request
def require_sign_in():
    """Send someone who has not signed in to the sign-in page, in accounts mode."""
    if accounts_mode() and not signed_in_user() and request.endpoint != "pages.login":
        return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    return None


def local_path(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else the dashboard's."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("pages.index")


@bp.get("/login")
def login():
    """Show the sign-in form (accounts mode only)."""
    if not accounts_mode():
        abort(404)
    next_url = local_path(request.args.get("next"))
    if signed_in_user():
        return redirect(next_url)
    return render_template("login.html", next_url=next_url)


@bp.get("/")
def index():
    """Show the dashboard: the upload form and the user's jobs."""
    user = current_user()
    # The page refuses larger files itself, before sending them.
    return render_template(
        "index.html",
        max_upload_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        notify_email=bool(email_of(user)),
    )


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """Show one job: details, result, timeline."""
    return page_of_one("job.html", job_id=job_id)


@bp.get("/batches/<batch_id>")
def batch(batch_id: str):
    """Show one batch: its one bar, counts per state, its jobs, cancel and download all."""
    return page_of_one("batch.html", batch_id=batch_id)


def page_of_one(template: str, **ids: str):
    """Render the page of one job or batch (``ids``: its one id by the template's name for it);
    404 for an id that is not a UUID. The page reads the record itself, through the API."""
    current_user()
    ((name, raw),) = ids.items()
    canonical = canonical_id(raw)
    if canonical is None:
        abort(404)
    return render_template(template, **{name: canonical})


@bp.get("/account")
def account():
    """Show the account page: the user's API tokens."""
    current_user()
    return render_template("account.html")


@bp.get("/schedules")
def schedules():
    """Show the schedules page: the user's schedules, their runs, a form to add one."""
    current_user()
    return render_template("schedules.html")
