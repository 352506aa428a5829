"""The OpenAPI 3 description of the HTTP API, served at ``/api/openapi.json``.

Written by hand next to the routes; ``tests/system/test_openapi.py`` checks that every route under
``/api``, ``/healthz`` and ``/metrics`` is described and every described one exists, and runs
schemathesis against a live server. Each route states only its own responses:
:mod:`webapp.api.openapi_common` adds what every operation of its kind answers (a signed-in
user's 401, a write's CSRF 400 and security, the id and 404 of one of the user's own things).
"""

from __future__ import annotations

from flask import Blueprint

from webapp.api.openapi_batches import batch_paths
from webapp.api.openapi_batches import batch_schemas
from webapp.api.openapi_common import BINARY
from webapp.api.openapi_common import DELETED
from webapp.api.openapi_common import LIMIT
from webapp.api.openapi_common import file_body
from webapp.api.openapi_common import json_request
from webapp.api.openapi_common import located
from webapp.api.openapi_common import operation
from webapp.api.openapi_common import owned_item
from webapp.api.openapi_common import processor_fields
from webapp.api.openapi_control import LIST_PAGE
from webapp.api.openapi_control import LIST_PARAMETERS
from webapp.api.openapi_control import control_paths
from webapp.api.openapi_schedules import RUN_AT
from webapp.api.openapi_schedules import schedule_paths
from webapp.api.openapi_schedules import schedule_schemas
from webapp.api.openapi_schemas import STRING
from webapp.api.openapi_schemas import error
from webapp.api.openapi_schemas import json_body
from webapp.api.openapi_schemas import object_of
from webapp.api.openapi_schemas import ref
from webapp.api.openapi_schemas import schemas
from webapp.api.openapi_tokens import token_paths

bp = Blueprint("openapi", __name__)
FORBIDDEN = error("Only administrators may see this (accounts mode).")
UNAVAILABLE = error("The broker or Redis cannot be reached now.")


def job_paths() -> dict:
    """Return the paths of the jobs API."""
    upload = object_of(
        {
            "file": BINARY,
            **processor_fields(),
            "notify": {
                "type": "string",
                "description": 'Who hears of the job\'s end, as JSON: a list of "email" and '
                '{"webhook": "https://..."} (see the Notify schema).',
            },
            "run_at": {
                "type": "string",
                "description": RUN_AT["description"] + " Empty or left out: at once.",
            },
        },
        required=["file", "processor"],
    )
    snapshot = json_body(ref("Snapshot"), "The job's snapshot.")
    return {
        "/api/jobs": {
            "get": operation(
                "List the user's jobs: filtered, searched, sorted (newest first), counted.",
                {
                    "200": json_body(LIST_PAGE, "A page of jobs, the count, the next cursor."),
                    "400": error(
                        "A bad limit, state, processor, q, sort, batch or cursor, or a "
                        "before that is not a job id."
                    ),
                    "404": error("No job of the user's with the id given as before."),
                },
                parameters=[
                    LIMIT,
                    {
                        "name": "before",
                        "in": "query",
                        "schema": STRING,
                        "description": "The id of the last job of the page before; empty or "
                        "left out for the newest.",
                    },
                    *LIST_PARAMETERS,
                ],
            ),
            "post": operation(
                "Upload a file (or, as JSON, a URL to import) as a new job for a processor; "
                "with run_at, the job waits SCHEDULED until then.",
                {
                    "202": located(snapshot, "The job's URL."),
                    "400": error(
                        "No valid CSRF token, not multipart, no file, an empty file, "
                        "an unknown processor, bad options, a bad run_at, a bad notify "
                        "(bad_notify, no_email), or a URL Taskboard may not fetch "
                        "(url_not_allowed)."
                    ),
                    "411": error("No Content-Length."),
                    "413": error("The file is larger than MAX_UPLOAD_BYTES."),
                    "415": error("The processor cannot take this file (judged by content)."),
                    "429": error("Over the upload rate limit, or too many active jobs."),
                    "503": error("The job queue cannot be reached."),
                    "507": error("The server has no room for the file."),
                },
                write=True,
                requestBody={
                    "required": True,
                    "content": {
                        "multipart/form-data": {"schema": upload},
                        "application/json": {"schema": ref("UrlImport")},
                    },
                },
            ),
        },
        "/api/jobs/{job_id}": owned_item(
            "job",
            {
                "get": operation("Return one of the user's jobs.", {"200": snapshot}),
                "delete": operation(
                    "Delete a finished job and its files.",
                    {"204": DELETED, "409": error("The job is queued or running.")},
                    write=True,
                ),
            },
        ),
        "/api/jobs/{job_id}/cancel": owned_item(
            "job",
            {
                "post": operation(
                    "Cancel a queued or running job.",
                    {"202": snapshot, "409": error("The job has already finished.")},
                    write=True,
                )
            },
        ),
        "/api/jobs/{job_id}/result": owned_item(
            "job",
            {
                "get": operation(
                    "Download the job's output file.",
                    {
                        "200": file_body(
                            "The output file, as an attachment.", "application/octet-stream"
                        ),
                        "404": error("No such job, or it made no file."),
                        "409": error("The job has not finished."),
                    },
                )
            },
        ),
    }


def session_paths() -> dict:
    """Return the paths of the session: who is asking, signing in and out."""
    credentials = object_of({"username": STRING, "password": STRING})
    return {
        "/api/session": {
            "get": operation(
                "Return the caller's identity and CSRF token (creates the session).",
                {"200": json_body(ref("Session"), "The session.")},
                signed_in=False,
            )
        },
        "/api/login": {
            "post": operation(
                "Sign in with a name and password (accounts mode).",
                {
                    "200": json_body(ref("Account"), "Signed in: a new session."),
                    "400": error("No valid CSRF token, or not a name and password."),
                    "401": error("Wrong name or password."),
                    "404": error("This server has no accounts (anonymous mode)."),
                    "429": error("Too many sign-in attempts from this address."),
                },
                write=True,
                requestBody=json_request(credentials),
            )
        },
        "/api/logout": {
            "post": operation(
                "Sign out: forget the session's identity.",
                {"204": {"description": "Signed out."}},
                write=True,
                signed_in=False,
            )
        },
    }


def read_paths() -> dict:
    """Return the paths that only read: processors, health, operations, metrics, this file."""
    return {
        "/api/processors": {
            "get": operation(
                "List the processors, what they accept and their options.",
                {"200": json_body({"type": "array", "items": ref("Processor")}, "The processors.")},
                signed_in=False,
            )
        },
        "/healthz": {
            "get": operation(
                "Tell whether Redis answers and how many workers reply.",
                {
                    "200": json_body(ref("Health"), "Redis answers and a worker replies."),
                    "503": json_body(ref("Health"), "Redis or every worker is missing."),
                },
                signed_in=False,
            )
        },
        "/api/workers": {
            "get": operation(
                "List the workers: pool, active jobs, last heartbeat.",
                {
                    "200": json_body(ref("Workers"), "The workers seen lately."),
                    "403": FORBIDDEN,
                    "503": UNAVAILABLE,
                },
            )
        },
        "/api/queues": {
            "get": operation(
                "List the queues (length, oldest message's age) and the jobs per state.",
                {
                    "200": json_body(ref("Queues"), "The queues and job counts."),
                    "403": FORBIDDEN,
                    "503": UNAVAILABLE,
                },
            )
        },
        "/api/openapi.json": {
            "get": operation(
                "Return this description of the API.",
                {"200": json_body({"type": "object"}, "The OpenAPI document.")},
                signed_in=False,
            )
        },
        "/metrics": {
            "get": operation(
                "Return the Prometheus metrics of this web process.",
                {
                    "200": {
                        "description": "Prometheus text format.",
                        "content": {"text/plain": {"schema": STRING}},
                    }
                },
                signed_in=False,
            )
        },
    }


def document() -> dict:
    """Return the OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Taskboard",
            "version": "1",
            "description": (
                "Upload files for processing and follow them. Writes need the X-CSRFToken header "
                "from GET /api/session, with its session cookie; or, instead of both, "
                "`Authorization: Bearer <token>` with a personal API token (POST /api/tokens). "
                "Live updates come over Socket.IO (event `job`), not over this API. "
                "Any request whose request line is over 8,192 bytes gets 414 with the error "
                "code `uri_too_long`."
            ),
        },
        "paths": session_paths()
        | read_paths()
        | job_paths()
        | token_paths()
        | preview_paths()
        | control_paths()
        | batch_paths()
        | schedule_paths(),
        "components": {
            "schemas": schemas() | batch_schemas() | schedule_schemas(),
            "securitySchemes": {
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
                # Good on every operation in place of the cookie and CSRF token (not listed
                # per operation: it is an alternative to the session, not a requirement).
                "token": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def preview_paths() -> dict:
    """Return the paths of previews (described beside their route)."""
    from webapp.api.previews import preview_paths as paths

    return paths()


@bp.get("/api/openapi.json")
def get_openapi():
    """Return the OpenAPI description of the HTTP API."""
    return document()
