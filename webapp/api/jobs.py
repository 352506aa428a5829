"""Jobs over HTTP: create (upload), list, read, cancel, download the result, delete."""

from __future__ import annotations

import errno
import json
import uuid
from typing import Any

import redis
from flask import current_app
from flask import request
from flask import send_file

from tasks import files
from tasks import joblist
from tasks import jobstore
from tasks import later
from tasks import registry
from tasks.formats import binary
from tasks.formats.amounts import counted
from tasks.jobstore import TERMINAL
from tasks.jobstore import state_of
from tasks.snapshot import add_queue_positions
from webapp import live
from webapp.api import bp
from webapp.api import cancel
from webapp.api import imports
from webapp.api import jobquery
from webapp.api import notify
from webapp.api import options as job_options
from webapp.api import uploads
from webapp.auth import current_user
from webapp.errors import ApiError
from webapp.extensions import limiter
from webapp.extensions import store
from webapp.live import canonical_id
from webapp.live import snapshot_of


def job_id_arg(job_id: str) -> str:
    """Return a job id in canonical form, or answer 404 for anything that is not a UUID."""
    canonical = canonical_id(job_id)
    if canonical is None:
        raise ApiError(404, "not_found", "No such job.")
    return canonical


def owned(job_id: str) -> tuple[dict, dict | None]:
    """Return the user's job and its backend entry, or answer 404 alike for unknown and foreign."""
    found = jobstore.owned(store(), job_id_arg(job_id), current_user())
    if found is None:
        raise ApiError(404, "not_found", "No such job.")
    return found


@bp.post("/api/jobs")
@limiter.limit(lambda: current_app.config["UPLOAD_RATE_LIMIT"])
def create_job():
    """Take an uploaded file (or, as JSON, a URL to import) and queue it for its processor."""
    user = current_user()
    # Checked before the file is read, so a refused upload costs nothing.
    check_active_cap(user)
    if request.is_json:
        return imports.create_url_job(user)
    form, uploaded = read_upload()
    processor = registry.get(form.get("processor", ""))
    if processor is None:
        raise ApiError(400, "unknown_processor", "Choose one of the listed processors.")
    options = parse_options(processor, form.get("options"))
    notify_to = notify.parse_notify(form.get("notify"))
    run_at = imports.parse_run_at(form.get("run_at"))
    if uploaded is None or not isinstance(uploaded.stream, uploads.LimitedFile):
        raise ApiError(400, "no_file", "Send the file in a multipart field named 'file'.")
    unfit = refusal(uploaded.stream, processor)
    if unfit is not None:
        raise unfit
    snapshot = queue_upload(
        uploaded.stream,
        uploads.clean_filename(uploaded.filename),
        user,
        processor,
        options,
        run_at=run_at,
        **notify.record_fields(notify_to),
    )
    return snapshot, 202, {"Location": f"/api/jobs/{snapshot['id']}"}


def refusal(stream: uploads.LimitedFile, processor: registry.Processor) -> ApiError | None:
    """Return why a received file cannot be a job of ``processor`` (400 ``empty_file``, or 415
    ``unsupported_file`` when its content is not what the processor takes), or None."""
    if stream.size == 0:
        return ApiError(400, "empty_file", "The file is empty.")
    stream.seek(0)
    reason = processor.check_content(stream.read(binary.SNIFF_BYTES))
    if reason:
        return ApiError(
            415, "unsupported_file", f"{processor.title} cannot take this file: {reason}"
        )
    return None


def queue_upload(
    stream: uploads.LimitedFile,
    filename: str,
    user: str,
    processor: registry.Processor,
    options: dict,
    **more: Any,
) -> dict:
    """Make a received file the input of a new job and queue it (``more`` as for
    :func:`queue_job`: ``send``, ``run_at``, record fields); return the job's snapshot."""
    job_id = str(uuid.uuid4())
    uploads.claim(stream, files.input_path(job_id, current_app.config["UPLOAD_DIR"]))
    return queue_job(job_id, user, processor, options, filename, stream.size, **more)


def check_active_cap(user: str, adding: int = 1) -> None:
    """Answer 429 ``too_many_jobs`` when ``adding`` more jobs (one upload, or a batch's files)
    would take the user's queued, scheduled and running jobs past ``MAX_ACTIVE_JOBS``; the
    message names the numbers."""
    cap = current_app.config["MAX_ACTIVE_JOBS"]
    active = jobstore.active_count(store(), user)
    if active + adding <= cap:
        return
    if adding == 1:
        message = (
            f"You have {counted(active, 'job')} queued or running; {cap} is the most allowed: "
            "wait for some to finish, or cancel some."
        )
    else:
        message = (
            f"This batch would add {adding} jobs to the {active} you have queued or running; "
            f"{cap} is the most allowed at once: "
            + (
                f"send at most {counted(max(cap - active, 0), 'file')} now, or wait for some "
                "jobs to finish."
                if adding <= cap
                else f"send at most {counted(cap, 'file')} in one batch."
            )
        )
    raise ApiError(429, "too_many_jobs", message)


def queue_job(
    job_id: str,
    user: str,
    processor: registry.Processor,
    options: dict,
    filename: str,
    size: int,
    send: bool = True,
    run_at: float | None = None,
    task: Any = None,
    **fields: str,
) -> dict:
    """Record a job whose input is already at its place, tell the owner's tabs, send its task
    (``task``, the processor's by default), or keep it until ``run_at`` (Unix time); return its
    snapshot. Extra ``fields`` go into the job's record. Answer 503 (and leave nothing behind)
    when the broker cannot take it. With ``send=False`` the task is not sent: the caller sends
    it (a batch sends its jobs as one Celery group)."""
    r = store()
    if run_at is not None:
        fields["run_at"] = jobstore.now_iso(run_at)
    record = jobstore.create(r, job_id, user, filename, size, processor.name, options, **fields)
    snapshot = snapshot_of(record, None)
    # Told before it is sent, so that no tab hears of the job starting before it exists.
    live.push(user, snapshot)
    if run_at is not None:
        if send:  # a batch's jobs are sent with their batch, which is due itself
            later.put(r, job_id, run_at)
        current_app.logger.info(
            "job %s created: %s, to run at %s",
            job_id,
            processor.name,
            fields["run_at"],
            extra={"job_id": job_id, "event": "job.scheduled", "processor": processor.name},
        )
        return snapshot
    try:
        if send:
            (task or processor.task).apply_async(args=[options], task_id=job_id)
    except Exception as exc:  # any failure to reach the broker: the job must not linger
        current_app.logger.error("job %s could not be queued: %s", job_id, exc)
        remove_job(record)
        raise ApiError(
            503, "queue_unavailable", "The job queue cannot be reached now; try again shortly."
        ) from None
    if send:
        # The answer says the place the job took (the created event, sent before, could not):
        # a tab shows the newest place it was told, and this answer may come after a push.
        snapshot = {**snapshot}
        try:
            add_queue_positions(r, [snapshot])
        except redis.RedisError:
            pass  # sent all the same; its place comes with the next push
    current_app.logger.info(
        "job %s created: %s, %d bytes",
        job_id,
        processor.name,
        size,
        extra={"job_id": job_id, "event": "job.created", "processor": processor.name},
    )
    return snapshot


def read_upload(not_multipart: str = "Send the job as multipart/form-data."):
    """Parse the multipart body, streaming its file to disk; answer what is wrong with it
    (``not_multipart``: the sentence for a body that is not multipart, naming what is sent)."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(400, "not_multipart", not_multipart)
    if request.content_length is None:
        raise ApiError(411, "length_required", "Send the upload with a Content-Length header.")
    try:
        return request.form, request.files.get("file")
    except ValueError as exc:
        raise ApiError(400, "bad_multipart", f"The multipart body is malformed: {exc}.") from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise ApiError(
                507, "storage_full", "The server has no room for this file now."
            ) from exc
        raise


def remove_job(record: dict) -> None:
    """Delete a job and its files, and tell its owner's tabs."""
    jobstore.remove(store(), record, current_app.config["UPLOAD_DIR"])
    live.push(record["owner"], {"id": record["id"], "deleted": True})


def parse_options(processor: registry.Processor, raw: str | None) -> dict:
    """Return the job's options from their JSON text, checked against the processor's."""
    if raw is None or raw.strip() == "":
        raw = "{}"
    if len(raw) > current_app.config["MAX_OPTIONS_BYTES"]:
        raise ApiError(400, "bad_options", "The options are too long.")
    try:
        options = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_options", "The options are not valid JSON.") from None
    return job_options.check(processor, options)


@bp.get("/api/jobs")
def list_jobs():
    """List the user's jobs a page at a time: filtered, searched, sorted, counted."""
    user = current_user()
    page = joblist.search(store(), user, jobquery.parse_query(request.args, user))
    jobs = {r["id"]: snapshot_of(r, m) for r, m in jobstore.get_with_meta(store(), page.ids)}
    listed = [jobs[job_id] for job_id in page.ids if job_id in jobs]
    add_queue_positions(store(), listed)
    return {
        "jobs": listed,
        "total": page.total,
        "next": page.next,
    }


@bp.get("/api/jobs/<job_id>")
def get_job(job_id: str):
    """Return one of the user's jobs."""
    snapshot = snapshot_of(*owned(job_id))
    add_queue_positions(store(), [snapshot])
    return snapshot


@bp.post("/api/jobs/<job_id>/cancel")
def cancel_job(job_id: str):
    """Cancel a queued or running job."""
    record, meta = owned(job_id)
    state = state_of(meta)
    if state in TERMINAL:
        raise ApiError(409, "already_finished", f"The job has already finished ({state}).")
    meta = cancel.request_cancel(store(), record["id"], state) or meta
    current_app.logger.info(
        "job %s cancel requested while %s",
        record["id"],
        state,
        extra={"job_id": record["id"], "event": "job.cancel_requested", "state": state},
    )
    return snapshot_of(record, meta), 202


@bp.get("/api/jobs/<job_id>/result")
def get_result(job_id: str):
    """Send the job's output file as an attachment."""
    record, meta = owned(job_id)
    state = state_of(meta)
    if state not in TERMINAL:
        raise ApiError(409, "not_finished", "The job has not finished yet.")
    result = (meta or {}).get("result")
    output = result.get("output") if state == "SUCCESS" and isinstance(result, dict) else None
    processor = registry.get(record.get("processor", ""))
    if not output or processor is None or processor.output_name is None or "/" in output:
        raise ApiError(404, "no_result_file", "This job made no file to download.")
    path = files.output_dir(record["id"], current_app.config["UPLOAD_DIR"]) / output
    if not path.is_file():
        raise ApiError(404, "no_result_file", "The job's output file is gone.")
    # The name the worker gave in the result is the one the page shows.
    name = result.get("download_name") or processor.output_name(
        uploads.stem(record.get("filename") or "result")
    )
    return send_file(path, as_attachment=True, download_name=name, max_age=0)


@bp.delete("/api/jobs/<job_id>")
def delete_job(job_id: str):
    """Delete a finished job and its files."""
    record, meta = owned(job_id)
    state = state_of(meta)
    if state not in TERMINAL:
        raise ApiError(409, "still_running", "Cancel the job before deleting it.")
    remove_job(record)
    current_app.logger.info(
        "job %s deleted", record["id"], extra={"job_id": record["id"], "event": "job.deleted"}
    )
    return "", 204
