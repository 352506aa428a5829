"""Schedules over HTTP: create, list, read (with the last runs), change, run now, delete.

The timing and the runs themselves are :mod:`tasks.schedules`'s; each run is an ordinary
URL-import job with ``"schedule": <id>``.
"""

from __future__ import annotations

import json
import uuid

from flask import current_app

from tasks import imports as task_imports
from tasks import jobstore
from tasks import registry
from tasks import schedules
from tasks.timing import ScheduleError
from tasks.timing import check_cron
from tasks.timing import check_every
from webapp.api import bp
from webapp.api.imports import display_name
from webapp.api.imports import parse_source
from webapp.api.imports import read_json
from webapp.api.notify import record_fields
from webapp.auth import current_user
from webapp.errors import ApiError
from webapp.extensions import store
from webapp.live import canonical_id
from webapp.live import snapshot_of

CREATE_FIELDS = frozenset({"url", "processor", "options", "every_s", "cron", "notify"})
PATCH_FIELDS = frozenset({"paused", "every_s", "cron"})
# How many of its last runs a schedule shows in the list (all kept ones on its own).
LISTED_RUNS = 5
MAX_SCHEDULES = 100


def view(record: dict, runs: int = LISTED_RUNS) -> dict:
    """Return a schedule as the API shows it, with its last ``runs`` runs' snapshots."""
    paused = record.get("paused") == "1"
    ids = schedules.run_ids(store(), record["id"])[:runs]
    return {
        "id": record["id"],
        "url": record["url"],
        "filename": display_name(record["url"]),
        "processor": record["processor"],
        "options": json.loads(record.get("options") or "{}"),
        "every_s": float(record["every_s"]) if record.get("every_s") else None,
        "cron": record.get("cron") or None,
        "notify": json.loads(record.get("notify") or "[]"),
        "paused": paused,
        "created_at": record.get("created_at"),
        "next_run_at": None if paused else record.get("next_run_at"),
        "last_run_at": record.get("last_run_at"),
        "runs": [snapshot_of(r, m) for r, m in jobstore.get_with_meta(store(), ids)],
    }


def owned(schedule_id: str) -> dict:
    """Return the user's schedule, or answer 404 alike for unknown and foreign ones."""
    canonical = canonical_id(schedule_id)
    record = schedules.owned(store(), canonical, current_user()) if canonical else None
    if record is None:
        raise ApiError(404, "not_found", "No such schedule.")
    return record


def timing(body: dict) -> dict:
    """Return the checked ``every_s`` or ``cron`` of a body (one of them at most)."""
    if "every_s" in body and "cron" in body:
        raise ApiError(400, "bad_schedule", "Give every_s or cron, not both.")
    try:
        if "every_s" in body:
            return {"every_s": check_every(body["every_s"])}
        if "cron" in body:
            return {"cron": check_cron(body["cron"])}
    except ScheduleError as exc:
        code = "bad_cron" if "cron" in body else "bad_interval"
        raise ApiError(400, code, str(exc)) from None
    return {}


@bp.post("/api/schedules")
def create_schedule():
    """Make a schedule that imports a URL and processes it every N seconds or on a cron."""
    user = current_user()
    body = read_json(CREATE_FIELDS)
    when = timing(body)
    if not when:
        raise ApiError(400, "bad_schedule", "Give every_s (seconds) or cron (an expression).")
    url, processor, options, notify = parse_source(body)
    r = store()
    if r.zcard(schedules.USER_SCHEDULES_KEY.format(user)) >= MAX_SCHEDULES:
        raise ApiError(
            409, "too_many_schedules", f"You have {MAX_SCHEDULES} schedules, the most allowed."
        )
    record = schedules.create(
        r, user, url, processor.name, options, when.get("every_s"), when.get("cron"), notify
    )
    # Each run mails the address the owner had when the schedule was made (runs are made by
    # workers, which do not read the users file).
    email = record_fields(notify).get("notify_email")
    if email:
        r.hset(schedules.SCHEDULE_KEY.format(record["id"]), "notify_email", email)
        record["notify_email"] = email
    current_app.logger.info(
        "schedule %s created: %s every %s",
        record["id"],
        processor.name,
        record["every_s"] or record["cron"],
        extra={"event": "schedule.created", "schedule": record["id"]},
    )
    return view(record), 201, {"Location": f"/api/schedules/{record['id']}"}


@bp.get("/api/schedules")
def list_schedules():
    """List the user's schedules, newest first, each with its last runs."""
    return {"schedules": [view(record) for record in schedules.list_of(store(), current_user())]}


@bp.get("/api/schedules/<schedule_id>")
def get_schedule(schedule_id: str):
    """Return one of the user's schedules with its last runs."""
    return view(owned(schedule_id), runs=schedules.RUNS_KEPT)


@bp.patch("/api/schedules/<schedule_id>")
def change_schedule(schedule_id: str):
    """Pause or resume a schedule, or change its timing."""
    record = owned(schedule_id)
    body = read_json(PATCH_FIELDS)
    if not body:
        raise ApiError(400, "bad_json", "Give paused, every_s or cron.")
    changes = timing(body)
    if "paused" in body:
        if not isinstance(body["paused"], bool):
            raise ApiError(400, "bad_json", "paused must be true or false.")
        changes["paused"] = body["paused"]
    return view(schedules.update(store(), record, changes))


@bp.post("/api/schedules/<schedule_id>/run")
def run_schedule(schedule_id: str):
    """Run a schedule now, besides its timing; answer the run's job."""
    from webapp.api.jobs import check_active_cap
    from webapp.api.jobs import queue_job

    record = owned(schedule_id)
    processor = registry.get(record["processor"])
    if processor is None:
        raise ApiError(409, "unknown_processor", "The schedule's processor is not installed.")
    check_active_cap(record["owner"])
    job_id = str(uuid.uuid4())
    snapshot = queue_job(
        job_id,
        record["owner"],
        processor,
        json.loads(record.get("options") or "{}"),
        display_name(record["url"]),
        0,
        task=task_imports.fetch,
        url=record["url"],
        schedule=record["id"],
        notify=record.get("notify") or "[]",
        notify_email=record.get("notify_email") or "",
    )
    job = {"id": job_id, "created_at": snapshot["created_at"]}
    schedules.note_run(store(), record["id"], job)
    return snapshot, 202, {"Location": f"/api/jobs/{job_id}"}


@bp.delete("/api/schedules/<schedule_id>")
def delete_schedule(schedule_id: str):
    """Delete a schedule; its runs stay as ordinary jobs."""
    schedules.delete(store(), owned(schedule_id))
    return "", 204
