"""A split job's part reports into the job's parts hash, and never after the job's cancel flag:
a part that read the flag unset a moment before its report cannot write over the job's end."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tasks import jobstore
from tasks import split
from tasks.progress import Cancelled


class Backend:
    """The result backend's one call a report makes, recorded."""

    def __init__(self) -> None:
        self.stored: list[tuple[str, dict, str]] = []

    def store_result(self, task_id: str, meta: dict, state: str) -> None:
        self.stored.append((task_id, meta, state))


def part_task() -> SimpleNamespace:
    """Return what a report reads of its part's task: the worker's name and the backend."""
    return SimpleNamespace(request=SimpleNamespace(hostname="worker-1@host"), backend=Backend())


def test_a_report_sums_the_parts_into_the_jobs_state(r):
    """Part 0's bytes go into the hash; the job's PROGRESS carries the sum and the counts."""
    task = part_task()
    store = split.report(r, task, "job-a", 0, 3, 300)
    store({"current": 40, "total": 100})
    assert r.hget(split.PARTS_KEY.format("job-a"), "bytes:0") == "40"
    ((job_id, meta, state),) = task.backend.stored
    assert (job_id, state, meta["current"], meta["total"]) == ("job-a", "PROGRESS", 40, 300)
    assert meta["parts"] == {"total": 3, "done": 0, "running": 1}


def test_a_report_after_the_cancel_flag_writes_nothing(r):
    """With the job's cancel flag set, a report raises Cancelled and stores nothing at all."""
    task = part_task()
    store = split.report(r, task, "job-b", 1, 3, 300)
    store({"current": 10, "total": 100})
    before = r.hgetall(split.PARTS_KEY.format("job-b"))
    jobstore.request_cancel(r, "job-b")
    with pytest.raises(Cancelled):
        store({"current": 90, "total": 100})
    assert r.hgetall(split.PARTS_KEY.format("job-b")) == before
    assert len(task.backend.stored) == 1
