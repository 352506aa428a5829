"""The OpenAPI description's Snapshot schema lists every member a job's snapshot can carry: a
snapshot of each kind of job, as tasks/snapshot.py builds it, is valid against the schema made
strict (no member the schema does not name)."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from tasks.snapshot import Tracker
from tasks.snapshot import build
from webapp.api.openapi import document

JOB = "0b7b6c1e-3f7a-4c51-9d55-2b1f0c8f6a01"
OTHER = "5d0f5a40-8e8e-4c1a-8f4e-77c1d9a1b2c3"
DONE_AT = "2026-01-01T00:01:00+00:00"
# A job's record as tasks/jobstore.py keeps it (a Redis hash: every value a string).
RECORD = {
    "id": JOB,
    "owner": "someone",
    "filename": "a.csv",
    "size": "1000",
    "processor": "csv-profile",
    "options": "{}",
    "created_at": "2026-01-01T00:00:00+00:00",
}
PROGRESS = {"current": 500, "total": 1000, "unit": "bytes", "message": "reading", "ts": 1.0e9}
PARTS = {"total": 3, "done": 1, "running": 2}

# Each kind of job: what its record adds, and its backend entry (None: not sent yet).
KINDS = {
    "queued": ({}, None),
    "started": ({}, {"status": "STARTED", "result": None}),
    "running": (
        {"started_at": "2026-01-01T00:00:01+00:00"},
        {"status": "PROGRESS", "result": PROGRESS},
    ),
    "split over workers": ({}, {"status": "PROGRESS", "result": PROGRESS | {"parts": PARTS}}),
    "done": (
        {},
        {"status": "SUCCESS", "result": {"rows": 3, "parts": PARTS}, "date_done": DONE_AT},
    ),
    "failed": (
        {},
        {
            "status": "FAILURE",
            "result": {"exc_type": "ValueError", "exc_message": ["bad"]},
            "date_done": DONE_AT,
        },
    ),
    "cancelled": ({}, {"status": "REVOKED", "result": None, "date_done": DONE_AT}),
    "retrying": (
        {"retry_at": "2026-01-01T00:02:00+00:00"},
        {"status": "RETRY", "retries": 1, "result": None},
    ),
    "run again": ({"retry_of": OTHER}, None),
    "run later": ({"run_at": "2026-01-02T00:00:00+00:00"}, None),
    "URL import": ({"url": "https://example.org/a.csv"}, None),
    "a schedule's run": ({"url": "https://example.org/a.csv", "schedule": OTHER}, None),
    "in a batch": ({"batch": OTHER}, None),
    "told of its end": (
        {"notify": json.dumps(["email", {"webhook": "https://example.org/h"}])},
        None,
    ),
    "delete held for an undo": (
        {"delete_at": "2026-01-01T00:05:00+00:00"},
        {"status": "SUCCESS", "result": {}, "date_done": DONE_AT},
    ),
}


@pytest.fixture(scope="module")
def strict() -> Draft202012Validator:
    """Return a validator of the description's Snapshot schema that refuses unnamed members."""
    components = copy.deepcopy(document()["components"])
    for name in ("Snapshot", "Progress"):
        components["schemas"][name]["additionalProperties"] = False
    parts = components["schemas"]["Snapshot"]["properties"].get("parts")
    if parts is not None:
        parts["additionalProperties"] = False
    schema = {"$ref": "#/components/schemas/Snapshot", "components": components}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("kind", list(KINDS))
def test_snapshot_of_each_kind_of_job_is_described(kind, strict):
    """A snapshot of this kind of job has only members the schema names, each as described."""
    fields, meta = KINDS[kind]
    snapshot = build(RECORD | fields, meta, Tracker())
    errors = [f"{list(e.path)}: {e.message}" for e in strict.iter_errors(snapshot)]
    assert errors == [], snapshot


def test_every_optional_member_is_carried_by_some_kind():
    """The table above reaches every member of the schema, so none is described but unseen."""
    described = set(document()["components"]["schemas"]["Snapshot"]["properties"])
    carried = set()
    for fields, meta in KINDS.values():
        carried |= set(build(RECORD | fields, meta, Tracker()))
    assert described == carried
