"""The OpenAPI description of batches (see :mod:`webapp.api.openapi`)."""

from __future__ import annotations

from tasks import batches
from tasks.jobstore import STATES
from webapp.api.openapi_common import BINARY
from webapp.api.openapi_common import DELETED
from webapp.api.openapi_common import LIMIT
from webapp.api.openapi_common import file_body
from webapp.api.openapi_common import located
from webapp.api.openapi_common import operation
from webapp.api.openapi_common import owned_item
from webapp.api.openapi_common import processor_fields
from webapp.api.openapi_schemas import COUNT
from webapp.api.openapi_schemas import STRING
from webapp.api.openapi_schemas import TIME
from webapp.api.openapi_schemas import error
from webapp.api.openapi_schemas import json_body
from webapp.api.openapi_schemas import nullable
from webapp.api.openapi_schemas import object_of
from webapp.api.openapi_schemas import ref

# Every member of a batch snapshot but run_at, which only a batch run later has.
BATCH_REQUIRED = [
    "id",
    "processor",
    "state",
    "jobs",
    "counts",
    "deleted_jobs",
    "progress",
    "refused",
    "created_at",
    "finished_at",
    "notify",
]


def batch_schemas() -> dict:
    """Return the schemas of batches: the snapshot and a refused file."""
    number = {"type": "number"}
    refused = object_of(
        {
            "filename": STRING,
            "error": object_of({"code": STRING, "message": STRING}),
        }
    )
    return {
        "RefusedFile": refused,
        "Batch": object_of(
            {
                "id": {"type": "string", "format": "uuid"},
                "processor": STRING,
                "state": {"type": "string", "enum": list(batches.BATCH_STATES)},
                "jobs": {
                    "type": "array",
                    "items": STRING,
                    "description": "The ids of the jobs left (not deleted), in order.",
                },
                "counts": {
                    "type": "object",
                    "properties": {state: COUNT for state in STATES},
                    "description": "Jobs left per state (states with none left out).",
                },
                "deleted_jobs": {
                    **COUNT,
                    "description": "How many of the batch's jobs were deleted; the batch goes "
                    "with its last job.",
                },
                "progress": object_of(
                    {
                        "current": number,
                        "total": number,
                        "unit": {"type": "string", "enum": ["bytes"]},
                        "percent": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": 100,
                            "description": "The work done, by bytes: SUCCESS and FAILURE jobs "
                            "whole, a cancelled job the share it had done when it stopped.",
                        },
                        "rate": nullable(number),
                        "eta_s": nullable(number),
                    }
                ),
                "refused": {"type": "array", "items": ref("RefusedFile")},
                "created_at": TIME,
                "finished_at": nullable(TIME),
                "notify": ref("Notify"),
                "run_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When a batch run later is sent (left out for one sent at "
                    "once).",
                },
            },
            required=BATCH_REQUIRED,
        ),
    }


def batch_paths() -> dict:
    """Return the paths of the batches API."""
    upload = object_of(
        {
            "file": {"type": "array", "items": BINARY},
            **processor_fields(),
            "notify": {
                "type": "string",
                "description": 'Who hears of the batch\'s end, once, as JSON: a list of "email" '
                'and {"webhook": "https://..."} (see the Notify schema).',
            },
            "notify_jobs": {
                "type": "string",
                "description": "The same, for each job of the batch on its own (none unless "
                "asked).",
            },
            "run_at": {
                "type": "string",
                "description": "ISO 8601 time with its UTC offset: the batch and its jobs wait "
                "SCHEDULED until then and are sent together. Empty or left out: at once.",
            },
        },
        required=["file", "processor"],
    )
    snapshot = json_body(ref("Batch"), "The batch's snapshot.")
    all_refused = json_body(
        {
            "allOf": [
                ref("Error"),
                object_of({"refused": {"type": "array", "items": ref("RefusedFile")}}, required=[]),
            ]
        },
        "Every file was refused (code all_refused; `refused` says why, file by file), or no "
        "valid CSRF token, not multipart, no file, an unknown processor, bad options, a bad "
        "notify or notify_jobs (bad_notify, no_email, url_not_allowed) or a bad run_at.",
    )
    return {
        "/api/batches": {
            "get": operation(
                "List the user's batches, newest first.",
                {
                    "200": json_body(
                        object_of({"batches": {"type": "array", "items": ref("Batch")}}),
                        "The newest batches.",
                    ),
                    "400": error("A bad limit."),
                },
                parameters=[LIMIT],
            ),
            "post": operation(
                "Upload several files as one batch of jobs for a processor (a Celery group).",
                {
                    "202": located(snapshot, "The batch's URL."),
                    "400": all_refused,
                    "411": error("No Content-Length."),
                    "413": error(
                        "More files than MAX_BATCH_FILES (code too_many_files), or a file or the "
                        "whole upload larger than MAX_UPLOAD_BYTES."
                    ),
                    "429": error(
                        "Over the upload rate limit, or the batch's files would take the user's "
                        "active jobs past MAX_ACTIVE_JOBS (code too_many_jobs, naming the "
                        "numbers)."
                    ),
                    "503": error("The job queue cannot be reached."),
                    "507": error("The server has no room for the files."),
                },
                write=True,
                requestBody={
                    "required": True,
                    "content": {"multipart/form-data": {"schema": upload}},
                },
            ),
        },
        "/api/batches/{batch_id}": owned_item(
            "batch",
            {
                "get": operation("Return one of the user's batches.", {"200": snapshot}),
                "delete": operation(
                    "Delete a finished batch, its jobs and their files.",
                    {"204": DELETED, "409": error("A job of the batch is queued or running.")},
                    write=True,
                ),
            },
        ),
        "/api/batches/{batch_id}/cancel": owned_item(
            "batch",
            {
                "post": operation(
                    "Cancel every queued or running job of the batch.",
                    {"202": snapshot, "409": error("The batch has already finished.")},
                    write=True,
                )
            },
        ),
        "/api/batches/{batch_id}/result": owned_item(
            "batch",
            {
                "get": operation(
                    "Download one zip of every finished job's output, named after its source file.",
                    {
                        "200": file_body(
                            "A zip, streamed: each output file, or the JSON result of a "
                            "processor that makes none (`<file name>.json`).",
                            "application/zip",
                        ),
                        "404": error("No such batch, or no job of it made a result."),
                        "409": error("The batch has not finished."),
                    },
                )
            },
        ),
    }
