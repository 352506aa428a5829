"""Logs: one line per job event, JSON lines with LOG_FORMAT=json, with the job id as a field,
never the content of a file."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from tasks import registry
from tasks.registry import ProcessorError
from tasks.worker import events
from tasks.worker.logs import LogFormatter
from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User
from tests.parts import wait_for

simulate = registry.get("simulate").task

JOB_ID = "0b7a3c9e-5d1f-4c2a-9e8b-7f6a5d4c3b2a"
SECRET = "TOPSECRET-7f3a"


def record(message: str, *args, **extra) -> logging.LogRecord:
    """Return a log record as a logger would make it."""
    entry = logging.LogRecord("tasks.test", logging.INFO, __file__, 1, message, args, None)
    entry.__dict__.update(extra)
    return entry


@pytest.mark.parametrize(
    ("entry", "fields"),
    [
        (record("job %s started", JOB_ID), {"job_id": JOB_ID, "message": f"job {JOB_ID} started"}),
        (
            record("done", job_id=JOB_ID, event="job.finished", duration_s=1.5),
            {"job_id": JOB_ID, "event": "job.finished", "duration_s": 1.5},
        ),
        (record("relay reconnected after %d attempt(s)", 3), {"level": "INFO"}),
    ],
)
def test_json_line_carries_the_fields_of_the_record(entry, fields):
    """A JSON line has the time, level, logger and message, and the job id as a field."""
    line = LogFormatter(json_lines=True).format(entry)
    parsed = json.loads(line)
    assert "\n" not in line
    assert {"ts", "level", "logger", "message", "process", "pid"} <= set(parsed)
    assert fields.items() <= parsed.items()


def test_json_line_leaves_out_what_handlers_attach():
    """Only known fields are written: Celery's ``data`` (a task's arguments) never is."""
    entry = record("Task x received", data={"args": SECRET}, password=SECRET)
    assert SECRET not in LogFormatter(json_lines=True).format(entry)


def test_json_line_keeps_a_traceback_on_its_line():
    """An exception's traceback goes in the ``exc`` field of the same line."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        entry = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    parsed = json.loads(LogFormatter(json_lines=True).format(entry))
    assert "RuntimeError: boom" in parsed["exc"]


def test_unexpected_failure_is_logged_with_its_place_but_not_its_message(caplog):
    """A bug's exception message may quote the file: the line names its kind and frames only."""
    try:
        float(SECRET)
    except ValueError as exc:
        error, traceback = exc, exc.__traceback__
    with caplog.at_level(logging.INFO, logger="tasks.worker.events"):
        events.log_failed(sender=simulate, task_id=JOB_ID, exception=error, traceback=traceback)
        events.log_failed(
            sender=simulate, task_id=JOB_ID, exception=ProcessorError("Not a CSV file.")
        )
    unexpected, expected = caplog.records
    assert (unexpected.event, unexpected.exc_type, unexpected.job_id) == (
        "job.failed",
        "ValueError",
        JOB_ID,
    )
    assert "test_logs.py" in unexpected.getMessage() and SECRET not in unexpected.getMessage()
    assert expected.getMessage() == f"job {JOB_ID} failed: Not a CSV file."


@pytest.fixture(scope="module")
def json_stack(tmp_path_factory):
    """Start a web server and a worker that log JSON lines, on a Redis of their own."""
    redis_server = RedisServer(tmp_path_factory.mktemp("logs-redis"))
    running = Stack(redis_server, tmp_path_factory.mktemp("logs"), LOG_FORMAT="json")
    yield running
    running.stop()
    redis_server.stop()


def json_lines(stack: Stack) -> list[dict]:
    """Return every JSON line the web server and the worker wrote."""
    lines = (stack.log("web") + stack.log("worker")).splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def job_events(stack: Stack, job_id: str) -> list[str]:
    """Return the events logged about one job, in the order written (web first)."""
    return [e.get("event", "") for e in json_lines(stack) if e.get("job_id") == job_id]


def test_job_events_are_json_lines_with_the_job_id_and_no_file_content(json_stack):
    """Created, started, finished, cancel requested, cancelled and failed: once each, with
    the job's id; the file's content (here in the result too) is never written."""
    user = User(json_stack.url)
    user.connect()
    csv = f"name,code\nann,{SECRET}\nbob,{SECRET}\n".encode()
    done = user.submit("csv-profile", content=csv, filename="people.csv")
    broken = user.submit("image-thumbnails", content=b"\x89PNG\r\n\x1a\n" + SECRET.encode())
    running = user.submit("simulate", options={"steps": 400, "interval_ms": 50})
    user.wait_pushed(done, {"SUCCESS"})
    user.wait_pushed(broken, {"FAILURE"})
    user.wait_pushed(running, {"PROGRESS"})
    user.http.post(f"{json_stack.url}/api/jobs/{running}/cancel")
    user.wait_pushed(running, {"REVOKED"})
    user.close()
    wait_for(lambda: "job.failed" in job_events(json_stack, broken), timeout=10)
    assert sorted(job_events(json_stack, done)) == ["job.created", "job.finished", "job.started"]
    assert sorted(job_events(json_stack, broken)) == ["job.created", "job.failed", "job.started"]
    cancelled = wait_for(
        lambda: [e for e in json_lines(json_stack) if e.get("job_id") == running][3:], 10
    )
    assert sorted(job_events(json_stack, running)[:3]) == [
        "job.cancel_requested",
        "job.created",
        "job.started",
    ]
    assert "cancelled" in cancelled[0]["message"]
    failed = next(e for e in json_lines(json_stack) if e.get("event") == "job.failed")
    assert (failed["exc_type"], failed["processor"]) == ("ProcessorError", "image-thumbnails")
    finished = next(e for e in json_lines(json_stack) if e.get("event") == "job.finished")
    assert finished["duration_s"] >= 0 and finished["worker"].startswith("worker-")
    everything = json_stack.log("web") + json_stack.log("worker")
    assert SECRET not in everything
    assert "succeeded in" not in everything


def test_relay_reconnect_is_one_json_line(json_stack):
    """When Redis comes back, the relay says so in one line."""
    json_stack.redis.restart(down_s=0.5)
    line = wait_for(
        lambda: next(
            (e for e in json_lines(json_stack) if e["message"].startswith("relay reconnected")),
            None,
        ),
        timeout=20,
    )
    assert (line["logger"], line["level"]) == ("webapp.live.relay", "INFO")
