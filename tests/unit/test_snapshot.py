"""The snapshot builder and the rate tracker: pure logic, no Redis."""

from __future__ import annotations

import pytest

from tasks.snapshot import Tracker
from tasks.snapshot import build

RECORD = {
    "id": "j1",
    "processor": "checksum",
    "filename": "a.bin",
    "size": "1000",
    "created_at": "2026-01-01T00:00:00+00:00",
}


def progress_meta(current, total=100, ts=1000.0, unit="bytes"):
    """Return a backend entry in PROGRESS."""
    return {
        "status": "PROGRESS",
        "result": {
            "current": current,
            "total": total,
            "unit": unit,
            "message": "working",
            "ts": ts,
        },
    }


def test_job_without_backend_entry_is_pending():
    """A job the backend has not heard of yet is PENDING with no progress."""
    snap = build(RECORD, None, Tracker())
    assert snap["state"] == "PENDING" and snap["progress"]["percent"] is None
    assert snap["size"] == 1000 and snap["progress"]["message"] == "queued"


def test_rate_and_eta_come_from_successive_updates():
    """Rate is units per second between updates; time left follows from it."""
    tracker = Tracker()
    build(RECORD, progress_meta(10, ts=1000.0), tracker)
    snap = build(RECORD, progress_meta(30, ts=1002.0), tracker)
    assert snap["progress"]["rate"] == 10.0
    assert snap["progress"]["eta_s"] == 7.0
    assert snap["progress"]["percent"] == 30.0


def test_rate_is_smoothed():
    """A sudden change moves the rate only part of the way."""
    tracker = Tracker()
    for current, ts in [(0, 0.0), (10, 1.0), (110, 2.0)]:
        snap = build(RECORD, progress_meta(current, total=1000, ts=ts), tracker)
    assert 10 < snap["progress"]["rate"] < 100


def test_same_update_seen_twice_does_not_change_the_rate():
    """The API and the relay may build from one update; the rate counts it once."""
    tracker = Tracker()
    build(RECORD, progress_meta(10, ts=1.0), tracker)
    first = build(RECORD, progress_meta(20, ts=2.0), tracker)
    again = build(RECORD, progress_meta(20, ts=2.0), tracker)
    assert first["progress"] == again["progress"]


def test_success_is_complete_with_its_result():
    """SUCCESS shows 100 percent, the result, and the finish time."""
    tracker = Tracker()
    build(RECORD, progress_meta(50), tracker)
    meta = {"status": "SUCCESS", "result": {"digest": "x"}, "date_done": "2026-01-01T00:01:00"}
    snap = build(RECORD, meta, tracker)
    assert snap["progress"]["percent"] == 100.0 and snap["result"] == {"digest": "x"}
    assert snap["finished_at"] == "2026-01-01T00:01:00" and snap["progress"]["rate"] is None


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            {"exc_type": "ProcessorError", "exc_message": ["Row 3 has 2 fields, not 3."]},
            "Row 3 has 2 fields, not 3.",
        ),
        (
            {"exc_type": "WorkerLostError", "exc_message": ["signal 9"]},
            "The worker running the job stopped (killed, or out of memory).",
        ),
        (
            {"exc_type": "KeyError", "exc_message": ["/secret/path"]},
            "The job failed unexpectedly (KeyError).",
        ),
        ("not a dict", None),
    ],
)
def test_failure_message_is_for_a_person_never_a_traceback(result, message):
    """A failure's error is the processor's message, or a plain sentence; never internals."""
    meta = {
        "status": "FAILURE",
        "result": result,
        "traceback": "Traceback ...",
        "date_done": "2026-01-01T00:01:00",
    }
    snap = build(RECORD, meta, Tracker())
    assert snap["error"] == message and snap["result"] is None


@pytest.mark.parametrize(
    ("status", "result", "message"),
    [
        (
            "RETRY",
            {"exc_type": "OSError", "exc_message": [5, "a simulated passing I/O error"]},
            "Retrying after a passing error: a simulated passing I/O error",
        ),
        (
            "RETRY",
            {"exc_type": "OSError", "exc_message": [5, "Input/output error", "/srv/up/x"]},
            "Retrying after a passing error: Input/output error",
        ),
        (
            "FAILURE",
            {"exc_type": "ProcessorError", "exc_message": [28, "No space left on device"]},
            "No space left on device",
        ),
        (
            "RETRY",
            {"exc_type": "ConnectionError", "exc_message": ["Connection reset"]},
            "Retrying after a passing error: Connection reset",
        ),
    ],
)
def test_error_made_from_an_exception_is_its_message_without_its_errno(status, result, message):
    """An OSError stored as its arguments (errno, strerror, filename) reads as its strerror
    alone: never "5 a simulated passing I/O error"."""
    meta = {"status": status, "result": result, "date_done": "2026-01-01T00:01:00"}
    assert build(RECORD, meta, Tracker())["error"] == message


def test_revoked_keeps_the_progress_it_reached():
    """A cancelled job shows how far it got."""
    tracker = Tracker()
    build(RECORD, progress_meta(40), tracker)
    snap = build(RECORD, {"status": "REVOKED", "result": None, "date_done": "x"}, tracker)
    assert snap["progress"]["percent"] == 40.0 and snap["progress"]["message"] == "cancelled"
    assert snap["error"] is None


def test_tracker_forgets_the_oldest_jobs():
    """The tracker's memory is bounded."""
    tracker = Tracker(size=2)
    for job in ("a", "b", "c"):
        tracker.observe(job, {"current": 1, "ts": 1.0})
    assert tracker.get("a") is None and tracker.get("c") is not None


def test_start_read_after_the_end_is_the_end():
    """A start recorded on another clock a moment after the end is shown as the end."""
    record = {"id": "j", "created_at": "2026-01-01T00:00:00+00:00"}
    record["started_at"] = "2026-01-01T00:00:01.500000+00:00"
    meta = {"status": "SUCCESS", "result": {}, "date_done": "2026-01-01T00:00:01.400000"}
    snapshot = build(record, meta)
    assert snapshot["started_at"] == snapshot["finished_at"] == meta["date_done"]
