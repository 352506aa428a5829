"""Jobs from a URL and jobs run later: the JSON form of ``POST /api/jobs``, and ``run_at``.

A URL import's body is ``{"url", "processor", "options", "notify", "run_at"}``; its address is
checked at once (400 ``url_not_allowed``), the download itself is the job's first task
(:mod:`tasks.imports`). ``run_at`` (ISO 8601 with an offset; a multipart field of an upload, or
a member of the JSON body) keeps the job SCHEDULED until then (:mod:`tasks.later`).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from flask import current_app
from flask import request

from tasks import imports
from tasks import outbound
from tasks import registry
from tasks.formats.amounts import size_text
from tasks.settings import DAY_S
from webapp.api import notify
from webapp.api import options as job_options
from webapp.api import uploads
from webapp.errors import ApiError

# The members a URL import's JSON body may have.
JOB_FIELDS = frozenset({"url", "processor", "options", "notify", "run_at"})
MAX_BODY_BYTES = 64 * 1024


def read_json(allowed: frozenset[str]) -> dict:
    """Return the request's JSON object, refusing a body without a length or a long one (it is
    read into memory), another type or unknown members."""
    if request.content_length is None:
        raise ApiError(411, "length_required", "Send the JSON body with a Content-Length header.")
    if request.content_length > MAX_BODY_BYTES:
        raise ApiError(
            400, "bad_json", f"The JSON body is longer than {size_text(MAX_BODY_BYTES)}."
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "Send a JSON object as the body.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(
            400,
            "bad_json",
            f"Unknown member {unknown[0]!r}; the body takes {', '.join(sorted(allowed))}.",
        )
    return body


def parse_source(body: dict) -> tuple[str, registry.Processor, dict, list]:
    """Return a URL import's checked URL, processor, options and notify list; answer 400 with
    what is wrong (``url_not_allowed`` for an address Taskboard may not fetch)."""
    name = body.get("processor")
    processor = registry.get(name) if isinstance(name, str) else None
    if processor is None:
        raise ApiError(400, "unknown_processor", "Choose one of the listed processors.")
    options = body.get("options")
    options = job_options.check(processor, {} if options is None else options)
    targets = notify.parse_notify(body.get("notify"))
    try:
        url = outbound.check_url(body.get("url"))
    except outbound.URLNotAllowed as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    return url, processor, options, targets


def parse_run_at(value: Any) -> float | None:
    """Return ``run_at`` as Unix time, None when it is not given; answer 400 when it cannot be
    read, has no UTC offset, is not ahead, or is more than ``RUN_AT_MAX_DAYS`` ahead."""
    if value is None or value == "":
        return None
    example = "such as 2026-12-24T09:00:00+01:00"
    if not isinstance(value, str) or len(value) > 64:
        raise ApiError(400, "bad_run_at", f"run_at must be an ISO 8601 time, {example}.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(
            400, "bad_run_at", f"run_at {value!r} is not an ISO 8601 time, {example}."
        ) from None
    if moment.tzinfo is None:
        raise ApiError(400, "bad_run_at", f"run_at needs its UTC offset (Z or +01:00), {example}.")
    when, now = moment.timestamp(), time.time()
    if when <= now:
        raise ApiError(400, "run_at_past", f"run_at {value!r} is in the past: give a time ahead.")
    days = current_app.config["RUN_AT_MAX_DAYS"]
    if when - now > days * DAY_S:
        raise ApiError(400, "run_at_too_far", f"run_at is more than {days:g} days ahead.")
    return when


def create_url_job(user: str):
    """Take a URL import and queue its download (or keep it until ``run_at``)."""
    from webapp.api.jobs import queue_job

    body = read_json(JOB_FIELDS)
    if "url" not in body:
        # Neither an upload nor a URL import: say both ways a job is sent.
        raise ApiError(
            400,
            "not_multipart",
            "Send the job as multipart/form-data with a file, or as JSON with a url to import.",
        )
    url, processor, options, targets = parse_source(body)
    run_at = parse_run_at(body.get("run_at"))
    job_id = str(uuid.uuid4())
    fields = {"url": url, **notify.record_fields(targets)}
    snapshot = queue_job(
        job_id,
        user,
        processor,
        options,
        display_name(url),
        0,
        run_at=run_at,
        task=imports.fetch,
        **fields,
    )
    return snapshot, 202, {"Location": f"/api/jobs/{job_id}"}


def display_name(url: str) -> str:
    """Return the name a URL import is shown under: the URL's last path segment, cleaned."""
    return uploads.clean_filename(imports.name_of(url))
