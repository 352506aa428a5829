"""The schemas of the OpenAPI description: the contract's error and snapshot, the session,
the processors, health, and the operations views; and the helpers that write them."""

from __future__ import annotations

from tasks.jobstore import STATES


def ref(name: str) -> dict:
    """Return a reference to a schema of the components."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    """Return a schema that also takes null."""
    return {"anyOf": [schema, {"type": "null"}]}


def json_body(schema: dict, description: str) -> dict:
    """Return a response with a JSON body."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error(description: str) -> dict:
    """Return an error response: the contract's JSON error."""
    return json_body(ref("Error"), description)


STRING = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}


def object_of(properties: dict, required: list[str] | None = None) -> dict:
    """Return an object schema whose properties are all required unless told otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def schemas() -> dict:
    """Return the schemas of the components: errors, snapshots, and the operations views."""
    progress = object_of(
        {
            "current": {"type": "number"},
            "total": nullable({"type": "number"}),
            "unit": STRING,
            "percent": nullable({"type": "number", "minimum": 0, "maximum": 100}),
            "message": STRING,
            "rate": nullable({"type": "number"}),
            "eta_s": nullable({"type": "number"}),
            "ts": {"type": "number", "description": "The worker's clock at that update."},
        }
    )
    worker_job = object_of(
        {"id": STRING, "processor": nullable(STRING), "task": nullable(STRING)}
        | {"started_at": nullable(TIME)}
    )
    # What every snapshot has (tasks/snapshot.py build), then what only some kinds of job have.
    snapshot = {
        "id": {"type": "string", "format": "uuid"},
        "processor": STRING,
        "filename": STRING,
        "size": COUNT,
        "state": {"type": "string", "enum": list(STATES)},
        "progress": ref("Progress"),
        "result": nullable({"type": "object"}),
        "error": nullable(STRING),
        "created_at": TIME,
        "started_at": nullable(TIME),
        "finished_at": nullable(TIME),
        "attempt": {"type": "integer", "minimum": 1},
        "max_attempts": {
            "type": "integer",
            "minimum": 1,
            "description": "The most attempts a job gets: 1 + automatic retries.",
        },
        "retry_at": nullable(TIME),
        "queue_position": {
            **nullable(COUNT),
            "description": "A queued job's place: jobs ahead of it in its queue "
            "(0: next); null unless queued.",
        },
        "retry_of": nullable(STRING),
        "notify": ref("Notify"),
        "options": {"type": "object", "description": "The options the job runs with."},
    }
    when_it_applies = {
        "batch": {
            "type": "string",
            "format": "uuid",
            "description": "The batch the job was sent in (left out for a job sent alone).",
        },
        "parts": {
            **object_of({"total": COUNT, "done": COUNT, "running": COUNT}),
            "description": "A job split over several workers: its parts (left out otherwise).",
        },
        "run_at": {**TIME, "description": "When a job run later is sent."},
        "url": {**STRING, "description": "The URL a URL import fetches its file from."},
        "schedule": {
            "type": "string",
            "format": "uuid",
            "description": "The schedule whose run the job is.",
        },
        "delete_at": {
            **TIME,
            "description": "When a job whose delete is held for an Undo (bulk delete "
            "with undo_s) is deleted; left out unless held.",
        },
    }
    return {
        "Error": object_of(
            {
                "error": object_of(
                    {"code": {"type": "string", "pattern": "^[a-z0-9_]+$"}} | {"message": STRING}
                )
            }
        ),
        "Progress": progress,
        "Snapshot": object_of(snapshot | when_it_applies, required=list(snapshot)),
        "Notify": {
            "type": "array",
            "maxItems": 5,
            "description": "Who hears of the job's end: the owner's e-mail address (accounts "
            "mode), and webhooks that get the final snapshot, signed.",
            "items": {
                "oneOf": [
                    {"type": "string", "enum": ["email"]},
                    object_of({"webhook": {"type": "string", "format": "uri"}}),
                ]
            },
        },
        "Account": object_of(
            {
                "user": nullable(STRING),
                "mode": {"type": "string", "enum": ["anonymous", "accounts"]},
                "admin": {"type": "boolean", "description": "May see the operations page."},
            }
        ),
        "Session": {"allOf": [ref("Account"), object_of({"csrf_token": STRING})]},
        "Processor": object_of(
            {
                "name": STRING,
                "title": STRING,
                "accepts": {"type": "array", "items": STRING},
                "unit": STRING,
                "options": {"type": "object", "description": "A JSON Schema per option."},
                "output": {"type": "boolean", "description": "Whether it makes a file."},
                "parallel": {
                    "type": "boolean",
                    "description": "Whether one file can be split over several workers "
                    '(option "parallel").',
                },
            }
        ),
        "Health": object_of({"redis": STRING, "workers": COUNT}),
        "Worker": object_of(
            {
                "name": STRING,
                "host": STRING,
                "online": {"type": "boolean", "description": "It answered the last time."},
                "pid": nullable({"type": "integer"}),
                "pool": nullable(STRING),
                "concurrency": nullable({"type": "integer"}),
                "queues": {"type": "array", "items": STRING},
                "processed": nullable(COUNT),
                "uptime_s": nullable({"type": "number"}),
                "active": COUNT,
                "jobs": {"type": "array", "items": worker_job},
                "last_heartbeat": TIME,
                "heartbeat_age_s": {"type": "number", "minimum": 0},
            }
        ),
        "Workers": object_of(
            {"workers": {"type": "array", "items": ref("Worker")}} | {"checked_at": TIME}
        ),
        "Queue": object_of(
            {
                "name": STRING,
                "length": nullable(COUNT),
                "oldest_age_s": nullable({"type": "number", "minimum": 0}),
            }
        ),
        "Queues": object_of(
            {
                "queues": {"type": "array", "items": ref("Queue")},
                "jobs": object_of({state: COUNT for state in STATES}),
                "finished_window_s": {"type": "number"},
                "checked_at": TIME,
            }
        ),
    }
