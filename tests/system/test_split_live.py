"""One CSV profiled in parts on the real worker (a Celery chord of part tasks and a merge under
the job's id): one job, one bar with its parts counted, and the single task's result."""

from __future__ import annotations

import pytest

from tests.unit.test_csv_profile_split import FLOATS
from tests.unit.test_csv_profile_split import quoted_csv


def test_split_profile_equals_the_single_task_profile(user):
    """The same CSV (quoted line breaks across the cut points) with and without ``parallel``:
    equal profiles field by field; the split one reports its parts."""
    content = quoted_csv(9000)
    assert 4 * 64 * 1024 <= len(content) < 1024 * 1024  # four parts of 64 KiB or more
    whole_id = user.submit("csv-profile", content=content, filename="q.csv")
    split_id = user.submit(
        "csv-profile", content=content, filename="q.csv", options={"parallel": 4}
    )
    whole = user.wait_pushed(whole_id, {"SUCCESS", "FAILURE"}, timeout=60)
    parted = user.wait_pushed(split_id, {"SUCCESS", "FAILURE"}, timeout=60)
    assert parted["state"] == "SUCCESS", parted["error"]
    assert parted["parts"] == {"total": 4, "done": 4, "running": 0}
    assert parted["progress"]["percent"] == 100.0
    running = [e for e in user.updates(split_id) if e["state"] == "PROGRESS"]
    assert running and all("parts" in e and e["parts"]["total"] == 4 for e in running)
    mine, theirs = dict(parted["result"]), dict(whole["result"])
    assert mine.pop("parts") == {"total": 4, "done": 4, "running": 0}
    assert {k: v for k, v in mine.items() if k != "columns"} == {
        k: v for k, v in theirs.items() if k != "columns"
    }
    for a, b in zip(mine["columns"], theirs["columns"], strict=True):
        for field, value in b.items():
            if field in FLOATS and value is not None:
                assert a[field] == pytest.approx(value, rel=1e-12)
            else:
                assert a[field] == value, (a["name"], field)


def test_processors_say_which_can_be_split(user):
    """GET /api/processors says ``parallel`` for csv-profile, not for the others."""
    listed = {p["name"]: p["parallel"] for p in user.http.get(user.url + "/api/processors").json()}
    assert listed["csv-profile"] is True and listed["simulate"] is False
