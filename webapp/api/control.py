"""Job control beyond one cancel: run a job again (retry), and act on many jobs in one request.

A retry is a new job on a copy of the first one's input (a hard link where the file system
allows), with ``retry_of`` naming the first; it goes through :func:`webapp.api.jobs.queue_job`
like an upload. A bulk action takes ids or a filter of the list (:mod:`webapp.api.jobquery`)
and answers, per job, what was done and what was skipped and why; another user's ids are
skipped as not found, exactly like unknown ones.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from typing import Any

from flask import current_app
from flask import request

from tasks import app as celery_app
from tasks import files
from tasks import joblist
from tasks import jobstore
from tasks import notify
from tasks import queueline
from tasks import registry
from tasks.jobstore import TERMINAL
from tasks.jobstore import state_of
from webapp import live
from webapp.api import bp
from webapp.api import cancel
from webapp.api import jobquery
from webapp.api import options as job_options
from webapp.api.jobs import check_active_cap
from webapp.api.jobs import owned
from webapp.api.jobs import queue_job
from webapp.api.jobs import remove_job
from webapp.auth import current_user
from webapp.errors import ApiError
from webapp.extensions import socketio
from webapp.extensions import store
from webapp.live import canonical_id
from webapp.live import deletes
from webapp.live import snapshot_of

ACTIONS = ("cancel", "delete", "retry", "restore")
MAX_BULK = 10_000


def json_object() -> dict:
    """Return the request's JSON object body ({} when there is none), or answer 400."""
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "Send a JSON object.")
    return body


@bp.post("/api/jobs/<job_id>/retry")
def retry_job(job_id: str):
    """Run a finished job again as a new job on the same input, options edited if given."""
    body = json_object()
    unknown = set(body) - {"options"}
    if unknown:
        raise ApiError(400, "bad_json", f"Unknown field {sorted(unknown)[0]!r}: only 'options'.")
    record, meta = owned(job_id)
    check_active_cap(current_user())
    snapshot = run_again(record, meta, body.get("options"))
    return snapshot, 202, {"Location": f"/api/jobs/{snapshot['id']}"}


def run_again(record: dict, meta: dict | None, options: Any = None) -> dict:
    """Queue a new job on a finished job's input; return its snapshot, or raise the ApiError
    that says why not (409 unfinished, 410 input gone, 400 bad options)."""
    state = state_of(meta)
    if state not in TERMINAL:
        raise ApiError(409, "not_finished", f"The job is still {state.lower()}: cancel it first.")
    processor = registry.get(record.get("processor", ""))
    if processor is None:
        raise ApiError(410, "processor_gone", "The job's processor is no longer offered.")
    if options is None:
        options = json.loads(record.get("options") or "{}")
    options = job_options.check(processor, options)
    root = current_app.config["UPLOAD_DIR"]
    source = files.input_path(record["id"], root)
    new_id = str(uuid.uuid4())
    target = files.input_path(new_id, root)
    try:
        target.parent.mkdir(parents=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    except FileNotFoundError:
        files.remove_job(new_id, root)
        raise ApiError(410, "input_gone", "The job's input file is gone.") from None
    size = int(record.get("size") or 0)
    return queue_job(
        new_id,
        record["owner"],
        processor,
        options,
        record.get("filename", ""),
        size,
        retry_of=record["id"],
    )


@bp.post("/api/jobs/bulk")
def bulk_action():
    """Cancel, delete or run again many of the user's jobs: listed by id, or by a filter."""
    body = json_object()
    unknown = set(body) - {"action", "ids", "filter", "undo_s"}
    if unknown:
        raise ApiError(400, "bad_json", f"Unknown field {sorted(unknown)[0]!r}.")
    action = body.get("action")
    if action not in ACTIONS:
        raise ApiError(400, "bad_action", f"action must be one of {', '.join(ACTIONS)}.")
    undo_s = undo_seconds(body, action)
    user = current_user()
    if ("ids" in body) == ("filter" in body):
        raise ApiError(400, "bad_selection", "Send either 'ids' or 'filter', not both.")
    remaining = 0
    if "ids" in body:
        ids = body["ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, "bad_ids", "ids must be a list of job ids (strings).")
        if len(ids) > MAX_BULK:
            raise ApiError(
                400,
                "too_many_ids",
                f"At most {MAX_BULK:,} ids a request; send {len(ids):,} "
                "in several requests, or use a filter.",
            )
    else:
        ids, remaining = filtered_ids(body["filter"], user)
    done, skipped = act(action, ids, user, undo_s)
    answer: dict[str, Any] = {"done": done, "skipped": skipped}
    if "filter" in body:
        answer["remaining"] = remaining
    current_app.logger.info(
        "bulk %s: %d done, %d skipped",
        action,
        len(done),
        len(skipped),
        extra={"event": f"jobs.bulk_{action}"},
    )
    return answer


def undo_seconds(body: dict, action: str) -> float | None:
    """Return how long a delete is held for an Undo (None: at once), or answer 400."""
    if "undo_s" not in body:
        return None
    undo_s = body["undo_s"]
    if action != "delete":
        raise ApiError(400, "bad_undo", "undo_s goes with the delete action only.")
    if isinstance(undo_s, bool) or not isinstance(undo_s, int | float):
        raise ApiError(400, "bad_undo", "undo_s must be a number of seconds.")
    if not 1 <= undo_s <= deletes.MAX_UNDO_S:
        raise ApiError(400, "bad_undo", f"undo_s must be 1 to {deletes.MAX_UNDO_S} seconds.")
    return float(undo_s)


def filtered_ids(selection: Any, user: str) -> tuple[list[str], int]:
    """Return the ids (at most ``MAX_BULK``) of the user's jobs a filter matches, and how many
    more match."""
    if not isinstance(selection, dict):
        raise ApiError(400, "bad_filter", "filter must be an object of state, processor, q, batch.")
    unknown = set(selection) - {"state", "processor", "q", "batch"}
    if unknown:
        raise ApiError(400, "bad_filter", f"Unknown filter field {sorted(unknown)[0]!r}.")
    if not all(isinstance(value, str) for value in selection.values()):
        raise ApiError(400, "bad_filter", "state, processor, q and batch are text.")
    states, processor, q = jobquery.parse_filter(selection)
    no_batch = jobquery.parse_batch(selection.get("batch"))
    query = joblist.Query(states, processor, q, limit=MAX_BULK, no_batch=no_batch)
    page = joblist.search(store(), user, query)
    return page.ids, page.total - len(page.ids)


def act(
    action: str, ids: list[Any], user: str, undo_s: float | None = None
) -> tuple[list[str], list[dict]]:
    """Do the action on each job; return the ids done and the skipped ones with their error.
    A delete with ``undo_s`` is held that long (:mod:`webapp.live.deletes`); ``restore`` takes
    held deletes back."""
    done: list[str] = []
    skipped: list[dict] = []
    found = owned_jobs(ids, user)
    to_cancel: list[tuple[dict, str]] = []
    to_hold: list[tuple[dict, dict | None]] = []
    for raw in ids:
        job_id = canonical_id(raw)
        if job_id is None or job_id not in found:
            skipped.append(skip(raw, 404, "not_found", "No such job."))
            continue
        record, meta = found[job_id]
        state = state_of(meta)
        try:
            if action == "cancel":
                if state in TERMINAL:
                    raise ApiError(409, "already_finished", f"The job has already ended ({state}).")
                to_cancel.append((record, state))
            elif action == "delete":
                if state not in TERMINAL:
                    raise ApiError(409, "still_running", "Cancel the job before deleting it.")
                if record.get("delete_at"):
                    raise ApiError(409, "being_deleted", "The job is being deleted already.")
                if undo_s is None:
                    remove_job(record)
                else:
                    to_hold.append((record, meta))
            elif action == "restore":
                if not deletes.restore(store(), record):
                    raise ApiError(409, "not_being_deleted", "The job is not being deleted.")
                live.push(user, snapshot_of(record, meta))
            else:
                check_active_cap(user)
                run_again(record, meta)
        except ApiError as exc:
            skipped.append(skip(job_id, exc.status, exc.code, exc.message))
            continue
        done.append(job_id)
    if to_cancel:
        cancel_many(to_cancel)
    if to_hold:
        deletes.hold(store(), [record for record, _ in to_hold], undo_s)
        for record, meta in to_hold:
            live.push(user, snapshot_of(record, meta))
    return done, skipped


def owned_jobs(ids: list[Any], user: str) -> dict[str, tuple[dict, dict | None]]:
    """Return the user's jobs among the ids (records and backend entries), by id."""
    wanted = list(dict.fromkeys(j for j in map(canonical_id, ids) if j is not None))
    found = jobstore.get_with_meta(store(), wanted)
    return {record["id"]: (record, meta) for record, meta in found if record.get("owner") == user}


def skip(job_id: Any, status: int, code: str, message: str) -> dict:
    """Return a skipped job's entry of a bulk answer."""
    return {"id": job_id, "error": {"code": code, "message": message, "status": status}}


def cancel_many(jobs: list[tuple[dict, str]]) -> None:
    """Cancel jobs as one cancel each would, with one revoke broadcast for all of them."""
    r = store()
    ids = [record["id"] for record, _ in jobs]
    with r.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.set(jobstore.CANCEL_KEY.format(job_id), "1", ex=jobstore.CANCEL_FLAG_TTL_S)
        pipe.execute()
    celery_app.control.revoke(ids)
    app = current_app._get_current_object()
    queueline.leave(r, *(record["id"] for record, state in jobs if state == "PENDING"))
    running = []
    for record, state in jobs:
        if state == "PENDING":
            celery_app.backend.mark_as_revoked(record["id"], "cancelled")
            # As one cancel does: a queued job (or one run later) is told now, and the last
            # of a batch tells its batch; no worker may ever see its message.
            notify.job_ended(r, record["id"])
        else:
            running.append(record["id"])
    for job_id in running:
        socketio.start_background_task(cancel.enforce, app, job_id)
