"""The OpenAPI description of job control: the list's query, retry, bulk actions and the job log
(see :mod:`webapp.api.openapi`)."""

from __future__ import annotations

from tasks import registry
from tasks.joblist import SORTS
from tasks.jobstore import STATES
from webapp.api.openapi_common import json_request
from webapp.api.openapi_common import operation
from webapp.api.openapi_common import owned_item
from webapp.api.openapi_schemas import COUNT
from webapp.api.openapi_schemas import STRING
from webapp.api.openapi_schemas import error
from webapp.api.openapi_schemas import json_body
from webapp.api.openapi_schemas import nullable
from webapp.api.openapi_schemas import object_of
from webapp.api.openapi_schemas import ref

ONE_STATE = "(" + "|".join(STATES) + ")"
STATE_LIST = {
    "type": "string",
    "pattern": f"^({ONE_STATE}(,{ONE_STATE})*)?$",
    "description": f"One or more of {', '.join(STATES)}, comma-separated (any case).",
}
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CURSOR = {
    "type": "string",
    "pattern": f"^(-?[0-9]{{1,17}}(\\.[0-9]{{1,17}})?(e[-+]?[0-9]{{1,2}})?_{UUID})?$",
}
BATCH = {
    "type": "string",
    "enum": ["", "none"],
    "description": "`none`: only the jobs sent alone, not as part of a batch (the dashboard's "
    "list without a filter, where each batch has a row of its own). Left out: every job.",
}
FILTER = object_of(
    {
        "state": STATE_LIST,
        "processor": {"type": "string", "enum": ["", *sorted(registry.PROCESSORS)]},
        "q": {"type": "string", "maxLength": 200},
        "batch": BATCH,
    },
    required=[],
) | {"additionalProperties": False}
# The query of GET /api/jobs beyond limit and before.
LIST_PARAMETERS = [
    {"name": "state", "in": "query", "schema": STATE_LIST},
    {
        "name": "processor",
        "in": "query",
        "schema": {"type": "string", "enum": ["", *sorted(registry.PROCESSORS)]},
    },
    {
        "name": "q",
        "in": "query",
        "schema": {"type": "string", "maxLength": 200},
        "description": "Part of the file name, in any case.",
    },
    {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["", *SORTS]}},
    {"name": "batch", "in": "query", "schema": BATCH},
    {
        "name": "cursor",
        "in": "query",
        "schema": CURSOR,
        "description": "The `next` of the page before.",
    },
]
LIST_PAGE = object_of(
    {
        "jobs": {"type": "array", "items": ref("Snapshot")},
        "total": COUNT,
        "next": nullable(STRING),
    }
)


def control_paths() -> dict:
    """Return the paths of retry, bulk actions and the job log."""
    skipped = object_of({"id": {}, "error": {"type": "object"}})
    actions = {"type": "string", "enum": ["cancel", "delete", "retry", "restore"]}
    undo = {
        "type": "number",
        "minimum": 1,
        "maximum": 60,
        "description": "delete only: hold the delete this many seconds; the jobs show "
        "`delete_at` meanwhile, and the action restore takes them back.",
    }
    ids = {"type": "array", "items": STRING, "maxItems": 10000}
    # A delete may be held for an Undo (undo_s); the other actions take no undo_s.
    bulk = {
        "oneOf": [
            object_of({"action": actions, which: schema}) | {"additionalProperties": False}
            for which, schema in (("ids", ids), ("filter", FILTER))
        ]
        + [
            object_of({"action": {"const": "delete"}, which: schema, "undo_s": undo})
            | {"additionalProperties": False}
            for which, schema in (("ids", ids), ("filter", FILTER))
        ]
    }
    log_line = object_of(
        {
            "seq": {"type": "integer", "minimum": 1},
            "ts": {"type": "string", "format": "date-time"},
            "level": {"type": "string", "enum": ["info", "warning", "error"]},
            "message": STRING,
        }
    )
    return {
        "/api/jobs/{job_id}/retry": owned_item(
            "job",
            {
                "post": operation(
                    "Run a finished job again, as a new job on the same input.",
                    {
                        "202": json_body(ref("Snapshot"), "The new job, with retry_of."),
                        "400": error("Bad options, or no valid CSRF token."),
                        "409": error("The job is still queued or running."),
                        "410": error("The job's input file (or its processor) is gone."),
                        "429": error("Too many jobs queued or running."),
                        "503": error("The job queue cannot be reached now."),
                    },
                    write=True,
                    requestBody=json_request(
                        object_of({"options": {"type": "object"}}, required=[])
                        | {"additionalProperties": False},
                        required=False,
                    ),
                )
            },
        ),
        "/api/jobs/{job_id}/logs": owned_item(
            "job",
            {
                "get": operation(
                    "Read the job's own log lines (the newest 1,000 are kept).",
                    {
                        "200": json_body(
                            object_of({"lines": {"type": "array", "items": log_line}}),
                            "The lines after `after`, oldest first.",
                        ),
                        "400": error("A bad after."),
                    },
                    parameters=[
                        {
                            "name": "after",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0},
                            "description": "The seq of the last line the reader has.",
                        }
                    ],
                )
            },
        ),
        "/api/jobs/bulk": {
            "post": operation(
                "Cancel, delete (at once, or held for an Undo), run again or restore many jobs, "
                "by ids or by a filter of the list.",
                {
                    "200": json_body(
                        object_of(
                            {
                                "done": {"type": "array", "items": STRING},
                                "skipped": {"type": "array", "items": skipped},
                                "remaining": COUNT,
                            },
                            required=["done", "skipped"],
                        ),
                        "What was done to each job, and what was skipped and why.",
                    ),
                    "400": error(
                        "A bad action, ids or filter, more than 10,000 ids (code too_many_ids), "
                        "or no valid CSRF token."
                    ),
                    "503": error("The job queue cannot be reached now."),
                },
                write=True,
                requestBody=json_request(bulk),
            ),
        },
    }
