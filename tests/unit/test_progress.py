"""The progress API task authors use: throttled stores, first and last always, cancel checks."""

from __future__ import annotations

import pytest
import redis

from tasks.progress import Cancelled
from tasks.progress import Progress


def test_first_and_last_updates_are_always_stored():
    """With a long interval only the first and the last of many updates are stored."""
    stores: list[dict] = []
    progress = Progress(total=1000, unit="rows", interval=60, store=stores.append)
    for _ in range(1000):
        progress.advance(1, message="copying")
    assert [s["current"] for s in stores] == [1, 1000]
    assert stores[-1]["total"] == 1000 and stores[-1]["unit"] == "rows"
    assert set(stores[0]) == {"current", "total", "unit", "message", "ts"}


def test_stores_are_throttled_by_time(monkeypatch):
    """Updates closer together than the interval are folded into the next store."""
    clock = iter(x * 0.01 for x in range(1000))
    monkeypatch.setattr("tasks.progress.time.monotonic", lambda: next(clock))
    stores: list[dict] = []
    progress = Progress(total=None, interval=0.1, store=stores.append)
    for _ in range(100):
        progress.advance(1)
    assert 9 <= len(stores) <= 11  # one second of updates at ten stores a second


def test_cancel_flag_stops_the_job_at_its_next_store():
    """Once the flag is set, the next store raises Cancelled instead of storing."""
    flag = {"set": False}
    stores: list[dict] = []
    progress = Progress(total=10, interval=0, store=stores.append, is_cancelled=lambda: flag["set"])
    progress.advance(1)
    flag["set"] = True
    with pytest.raises(Cancelled):
        progress.advance(1)
    assert len(stores) == 1


def test_flush_stores_work_held_back_then_only_checks_for_a_cancel(monkeypatch):
    """A task waiting on a slow source flushes: work the throttle held back is stored once it
    is due, and with nothing new only the cancel flag is read (no repeated store)."""
    now = {"t": 0.0}
    monkeypatch.setattr("tasks.progress.time.monotonic", lambda: now["t"])
    flag = {"set": False}
    stores: list[dict] = []
    progress = Progress(interval=0.1, store=stores.append, is_cancelled=lambda: flag["set"])
    progress.update(0, "downloading", force=True)
    progress.advance(3000)  # held back: within the interval of the store before
    progress.flush()
    assert [s["current"] for s in stores] == [0]
    now["t"] = 0.1
    progress.flush()
    progress.flush()
    assert [s["current"] for s in stores] == [0, 3000]
    flag["set"] = True
    with pytest.raises(Cancelled):
        progress.flush()


def test_report_while_redis_restarts_is_skipped_and_the_work_goes_on(stores):
    """A progress store or cancel check that cannot reach Redis does not fail the job: that
    report is skipped and the next one is stored."""
    down = iter([True, False])

    def is_cancelled() -> bool:
        if next(down):
            raise redis.ConnectionError("Error 111 connecting to redis:6379.")
        return False

    progress = Progress(store=stores.append, is_cancelled=is_cancelled, interval=0, total=2)
    progress.advance(1)
    progress.advance(1)
    assert [s["current"] for s in stores] == [2]
