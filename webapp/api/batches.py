"""Batches over HTTP: many files for one processor sent as one Celery group, followed as one.

Each file goes through the same checks as ``POST /api/jobs`` and becomes an ordinary job (with
``batch`` in its snapshot); the files refused are listed in the batch with their reasons.

``notify`` (the same forms and checks as a job's) tells the owner once when the whole batch has
ended (``tasks.notify``); its jobs tell nothing of their own unless ``notify_jobs`` asks.
``run_at`` keeps the batch and every job of it SCHEDULED until then; the due set of
``tasks.later`` then sends them as one group.
"""

from __future__ import annotations

import json
import uuid

from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask import stream_with_context
from werkzeug.exceptions import RequestEntityTooLarge

from tasks import batches
from tasks import files
from tasks import jobstore
from tasks import later
from tasks import registry
from tasks.formats import zipstream
from tasks.jobstore import TERMINAL
from tasks.jobstore import state_of
from webapp.api import bp
from webapp.api import control
from webapp.api import imports
from webapp.api import jobs
from webapp.api import notify
from webapp.api import uploads
from webapp.auth import current_user
from webapp.errors import ApiError
from webapp.extensions import limiter
from webapp.extensions import store
from webapp.live import batches as live_batches
from webapp.live import canonical_id

# Room in the multipart body for the fields besides the files (processor, options, and a few
# the contract may add).
OTHER_PARTS = 8
# Each file's part headers and boundary, on top of the files themselves.
PART_ENVELOPE = 1024


def owned(batch_id: str) -> dict:
    """Return the user's batch, or answer 404 alike for unknown and foreign."""
    canonical = canonical_id(batch_id)
    record = batches.owned(store(), canonical, current_user()) if canonical else None
    if record is None or gone_with_its_jobs(record):
        raise ApiError(404, "not_found", "No such batch.")
    return record


def gone_with_its_jobs(record: dict) -> bool:
    """Remove a batch none of whose jobs is left, telling its owner's tabs; True if removed."""
    if not batches.drop_if_empty(store(), record):
        return False
    live_batches.push(record["owner"], {"id": record["id"], "deleted": True})
    return True


def too_many(limit: int) -> ApiError:
    """Return the 413 for a batch of more than ``limit`` files."""
    return ApiError(
        413, "too_many_files", f"A batch takes at most {limit} files: send the rest in another."
    )


def read_files() -> tuple[dict, list]:
    """Parse the multipart body, streaming each file to disk, and return the form and the
    files; answer 413 before any job is made when there are more than ``MAX_BATCH_FILES``."""
    limit = current_app.config["MAX_BATCH_FILES"]
    # Werkzeug stops reading at the first part past this, so at most this many files are
    # received (and removed again at the request's end).
    request.max_form_parts = limit + OTHER_PARTS
    request.max_content_length = current_app.config["MAX_CONTENT_LENGTH"] + limit * PART_ENVELOPE
    try:
        form, _ = jobs.read_upload(
            "Send the batch as multipart/form-data, its files in fields named 'file'."
        )
        uploaded = request.files.getlist("file")
    except RequestEntityTooLarge:
        # One file passed MAX_UPLOAD_BYTES while streaming, the whole body is over its limit,
        # or there were too many parts.
        if any(stream.size > stream.limit for stream in g.get("incoming", [])):
            raise
        if (request.content_length or 0) > request.max_content_length:
            raise
        raise too_many(limit) from None
    if len(uploaded) > limit:
        raise too_many(limit)
    return form, uploaded


def refusal(uploaded, processor: registry.Processor) -> dict | None:
    """Return why one file of a batch is refused (the JSON error of ``POST /api/jobs``), or
    None when it can be taken."""
    if not isinstance(uploaded.stream, uploads.LimitedFile):
        return {"code": "no_file", "message": "Send each file in a multipart field named 'file'."}
    unfit = jobs.refusal(uploaded.stream, processor)
    return None if unfit is None else {"code": unfit.code, "message": unfit.message}


@bp.post("/api/batches")
@limiter.limit(lambda: current_app.config["UPLOAD_RATE_LIMIT"])
def create_batch():
    """Take several uploaded files as one batch and queue them as one group."""
    user = current_user()
    jobs.check_active_cap(user)
    form, uploaded = read_files()
    processor = registry.get(form.get("processor", ""))
    if processor is None:
        raise ApiError(400, "unknown_processor", "Choose one of the listed processors.")
    options = jobs.parse_options(processor, form.get("options"))
    targets = notify.parse_notify(form.get("notify"))
    each = notify.parse_notify(form.get("notify_jobs"))
    run_at = imports.parse_run_at(form.get("run_at"))
    if not uploaded:
        raise ApiError(400, "no_file", "Send the files in multipart fields named 'file'.")
    accepted, refused = [], []
    for item in uploaded:
        filename = uploads.clean_filename(item.filename)
        error = refusal(item, processor)
        if error:
            refused.append({"filename": filename, "error": error})
        else:
            accepted.append((item.stream, filename))
    if not accepted:
        response = jsonify(
            {
                "error": {"code": "all_refused", "message": "Every file of the batch was refused."},
                "refused": refused,
            }
        )
        response.status_code = 400
        return response
    jobs.check_active_cap(user, adding=len(accepted))
    batch_id = str(uuid.uuid4())
    made = []
    for stream, filename in accepted:
        snapshot = jobs.queue_upload(
            stream,
            filename,
            user,
            processor,
            options,
            send=False,
            run_at=run_at,
            batch=batch_id,
            **notify.record_fields(each),
        )
        made.append((snapshot["id"], stream.size))
    record = batches.create(
        store(),
        batch_id,
        user,
        processor.name,
        options,
        made,
        refused,
        run_at=None if run_at is None else jobstore.now_iso(run_at),
        **notify.record_fields(targets),
    )
    try:
        if run_at is None:
            batches.send_group(processor, options, [job_id for job_id, _ in made])
        else:
            later.put(store(), batches.DUE_MEMBER.format(batch_id), run_at)
    except Exception as exc:  # any failure to reach the broker: nothing must linger
        current_app.logger.error("batch %s could not be queued: %s", batch_id, exc)
        remove_batch(record)
        raise ApiError(
            503, "queue_unavailable", "The job queue cannot be reached now; try again shortly."
        ) from None
    current_app.logger.info(
        "batch %s created: %s, %d jobs, %d refused",
        batch_id,
        processor.name,
        len(made),
        len(refused),
        extra={"event": "batch.created", "processor": processor.name},
    )
    snapshot = live_batches.snapshot(store(), record)
    live_batches.push(user, snapshot)
    return snapshot, 202, {"Location": f"/api/batches/{batch_id}"}


@bp.get("/api/batches")
def list_batches():
    """List the user's batches, newest first."""
    try:
        limit = int(request.args.get("limit", 50))
    except ValueError:
        raise ApiError(400, "bad_limit", "limit must be a whole number.") from None
    if not 1 <= limit <= current_app.config["JOBS_PAGE_MAX"]:
        raise ApiError(
            400, "bad_limit", f"limit must be 1 to {current_app.config['JOBS_PAGE_MAX']}."
        )
    r = store()
    shown = []
    for batch_id in batches.page(r, current_user(), limit):
        record = batches.get(r, batch_id)
        if record is None:
            continue
        snapshot = live_batches.snapshot(r, record)
        if snapshot["jobs"] or not gone_with_its_jobs(record):
            shown.append(snapshot)
    return {"batches": shown}


@bp.get("/api/batches/<batch_id>")
def get_batch(batch_id: str):
    """Return one of the user's batches."""
    return live_batches.snapshot(store(), owned(batch_id))


@bp.post("/api/batches/<batch_id>/cancel")
def cancel_batch(batch_id: str):
    """Cancel every queued or running job of a batch."""
    record = owned(batch_id)
    r = store()
    if live_batches.snapshot(r, record)["state"] not in batches.UNFINISHED:
        raise ApiError(409, "already_finished", "The batch has already finished.")
    batches.mark_cancelled(r, record["id"])
    record["cancelled"] = "1"
    # A batch run later is never sent now; its jobs are cancelled below as queued ones are.
    later.drop(r, batches.DUE_MEMBER.format(record["id"]))
    found = jobs.jobstore.get_with_meta(r, batches.job_ids(record))
    # One revoke broadcast for the whole batch, and a watch only on the jobs that run: a
    # batch of 500 queued jobs is not 500 broadcasts and 500 background tasks.
    control.cancel_many(
        [(job, state_of(meta)) for job, meta in found if state_of(meta) not in TERMINAL]
    )
    current_app.logger.info(
        "batch %s cancel requested", record["id"], extra={"event": "batch.cancel_requested"}
    )
    snapshot = live_batches.snapshot(r, record)
    live_batches.push(record["owner"], snapshot)
    return snapshot, 202


@bp.delete("/api/batches/<batch_id>")
def delete_batch(batch_id: str):
    """Delete a finished batch, its jobs and their files."""
    record = owned(batch_id)
    if live_batches.snapshot(store(), record)["state"] in batches.UNFINISHED:
        raise ApiError(409, "still_running", "Cancel the batch before deleting it.")
    remove_batch(record)
    current_app.logger.info("batch %s deleted", record["id"], extra={"event": "batch.deleted"})
    return "", 204


def remove_batch(record: dict) -> None:
    """Delete a batch, its jobs and their files, and tell its owner's tabs."""
    r = store()
    for job, _ in jobs.jobstore.get_with_meta(r, batches.job_ids(record)):
        jobs.remove_job(job)  # the last one removes the batch, and tells its owner's tabs
    if batches.get(r, record["id"]) is not None:  # no job of it was left to delete
        batches.remove(r, record)
        live_batches.push(record["owner"], {"id": record["id"], "deleted": True})


@bp.get("/api/batches/<batch_id>/result")
def get_batch_result(batch_id: str):
    """Send one zip of every finished job's output, each entry named after its source file."""
    record = owned(batch_id)
    r = store()
    if live_batches.snapshot(r, record)["state"] in batches.UNFINISHED:
        raise ApiError(409, "not_finished", "The batch has not finished yet.")
    processor = registry.get(record.get("processor", ""))
    root = current_app.config["UPLOAD_DIR"]
    entries, taken = [], set()
    for job, meta in jobs.jobstore.get_with_meta(r, batches.job_ids(record)):
        result = (meta or {}).get("result")
        if state_of(meta) != "SUCCESS" or not isinstance(result, dict):
            continue
        filename = job.get("filename") or "result"
        output = result.get("output")
        if processor and processor.output_name and isinstance(output, str) and "/" not in output:
            path = files.output_dir(job["id"], root) / output
            if path.is_file():
                name = processor.output_name(uploads.stem(filename))
                entries.append((zipstream.unique_name(name, taken), path))
                continue
        body = json.dumps(result, indent=2, ensure_ascii=False).encode() + b"\n"
        entries.append((zipstream.unique_name(f"{filename}.json", taken), body))
    if not entries:
        raise ApiError(404, "no_result_file", "No job of this batch made a result.")
    name = f"batch-{record['id'][:8]}-{record.get('processor', 'results')}.zip"
    return Response(
        stream_with_context(zipstream.stream(entries)),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
