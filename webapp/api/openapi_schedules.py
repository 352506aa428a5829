"""The OpenAPI description of URL imports, run_at and schedules (see :mod:`webapp.api.openapi`)."""

from __future__ import annotations

from webapp.api.openapi_common import DELETED
from webapp.api.openapi_common import json_request
from webapp.api.openapi_common import located
from webapp.api.openapi_common import operation
from webapp.api.openapi_common import owned_item
from webapp.api.openapi_schemas import STRING
from webapp.api.openapi_schemas import TIME
from webapp.api.openapi_schemas import error
from webapp.api.openapi_schemas import json_body
from webapp.api.openapi_schemas import nullable
from webapp.api.openapi_schemas import object_of
from webapp.api.openapi_schemas import ref

LENGTH = error("A body without a Content-Length (it is read into memory).")
RUN_AT = {
    "type": "string",
    "format": "date-time",
    "description": "When to run the job (ISO 8601 with its offset): ahead of now, at most "
    "RUN_AT_MAX_DAYS ahead.",
}
URL = {"type": "string", "format": "uri", "description": "An http or https URL."}
NOTIFY = {"type": "array", "description": "Whom to tell when a run ends."}


def schedule_schemas() -> dict:
    """Return the schemas of URL imports and schedules."""
    every_s = {
        "type": "number",
        "description": "Seconds between runs (SCHEDULE_MIN_INTERVAL_S at least).",
    }
    cron = {"type": "string", "description": "A cron expression of 5 fields, in UTC."}
    return {
        "UrlImport": object_of(
            {
                "url": URL,
                "processor": STRING,
                "options": {"type": "object"},
                "notify": NOTIFY,
                "run_at": RUN_AT,
            },
            required=["url", "processor"],
        )
        | {"additionalProperties": False},
        "NewSchedule": object_of(
            {
                "url": URL,
                "processor": STRING,
                "options": {"type": "object"},
                "every_s": every_s,
                "cron": cron,
                "notify": NOTIFY,
            },
            required=["url", "processor"],
        )
        | {"additionalProperties": False},
        "ScheduleChange": object_of(
            {"paused": {"type": "boolean"}, "every_s": every_s, "cron": cron}, required=[]
        )
        | {"additionalProperties": False},
        "Schedule": object_of(
            {
                "id": {"type": "string", "format": "uuid"},
                "url": STRING,
                "filename": STRING,
                "processor": STRING,
                "options": {"type": "object"},
                "every_s": nullable({"type": "number"}),
                "cron": nullable(STRING),
                "notify": {"type": "array"},
                "paused": {"type": "boolean"},
                "created_at": TIME,
                "next_run_at": nullable(TIME),
                "last_run_at": nullable(TIME),
                "runs": {"type": "array", "items": ref("Snapshot")},
            }
        ),
    }


def schedule_paths() -> dict:
    """Return the paths of schedules."""
    one = json_body(ref("Schedule"), "The schedule, with its last runs.")
    bad = error(
        "No valid CSRF token, bad JSON, an unknown processor, bad options, an interval under "
        "the minimum (bad_interval), an invalid cron expression (bad_cron), or a URL Taskboard "
        "may not fetch (url_not_allowed)."
    )
    return {
        "/api/schedules": {
            "get": operation(
                "List the user's schedules, newest first, each with its last runs.",
                {
                    "200": json_body(
                        object_of({"schedules": {"type": "array", "items": ref("Schedule")}}),
                        "The schedules.",
                    )
                },
            ),
            "post": operation(
                "Make a schedule: import a URL and process it every every_s seconds or on cron.",
                {
                    "201": located(one, "Its URL."),
                    "400": bad,
                    "409": error("The user has as many schedules as allowed."),
                    "411": LENGTH,
                },
                write=True,
                requestBody=json_request(ref("NewSchedule")),
            ),
        },
        "/api/schedules/{schedule_id}": owned_item(
            "schedule",
            {
                "get": operation("Return one of the user's schedules.", {"200": one}),
                "patch": operation(
                    "Pause or resume a schedule, or change its timing.",
                    {"200": one, "400": bad, "411": LENGTH},
                    write=True,
                    requestBody=json_request(ref("ScheduleChange")),
                ),
                "delete": operation(
                    "Delete a schedule; its runs stay as ordinary jobs.",
                    {"204": DELETED},
                    write=True,
                ),
            },
        ),
        "/api/schedules/{schedule_id}/run": owned_item(
            "schedule",
            {
                "post": operation(
                    "Run a schedule now, besides its timing.",
                    {
                        "202": json_body(ref("Snapshot"), "The run's job."),
                        "409": error("The schedule's processor is not installed."),
                        "429": error("Too many active jobs."),
                        "503": error("The job queue cannot be reached."),
                    },
                    write=True,
                )
            },
        ),
    }
