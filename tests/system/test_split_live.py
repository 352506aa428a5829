"""One CSV profiled in parts on the real worker (a Celery chord of part tasks and a merge under
the job's id): one job, one bar with its parts counted, and the single task's result."""

from __future__ import annotations

import time

import redis

from tasks import split
from tests.parts import User
from tests.parts import wait_for
from tests.unit.test_csv_profile_split import assert_same_profile
from tests.unit.test_csv_profile_split import quoted_csv


def profiled_whole_and_split(
    user: User, content: bytes, filename: str, parts: int
) -> tuple[dict, dict, str]:
    """Profile the same CSV as one task and in ``parts`` parts; once both ended SUCCESS, return
    the single task's result, the split job's without its ``parts`` count (checked: all done)
    and the split job's id."""
    whole_id = user.submit("csv-profile", content=content, filename=filename)
    split_id = user.submit(
        "csv-profile", content=content, filename=filename, options={"parallel": parts}
    )
    whole = user.wait_pushed(whole_id, {"SUCCESS", "FAILURE"}, timeout=60)
    parted = user.wait_pushed(split_id, {"SUCCESS", "FAILURE"}, timeout=60)
    assert whole["state"] == "SUCCESS", whole["error"]
    assert parted["state"] == "SUCCESS", parted["error"]
    assert parted["parts"] == {"total": parts, "done": parts, "running": 0}
    assert parted["progress"]["percent"] == 100.0
    result = dict(parted["result"])
    assert result.pop("parts") == {"total": parts, "done": parts, "running": 0}
    return whole["result"], result, split_id


def test_split_profile_equals_the_single_task_profile(user):
    """The same CSV (quoted line breaks across the cut points) with and without ``parallel``:
    equal profiles field by field; the split one reports its parts as it runs."""
    content = quoted_csv(9000)
    assert 4 * 64 * 1024 <= len(content) < 1024 * 1024  # four parts of 64 KiB or more
    whole, parted, split_id = profiled_whole_and_split(user, content, "q.csv", 4)
    assert_same_profile(parted, whole)
    running = [e for e in user.updates(split_id) if e["state"] == "PROGRESS"]
    assert running and all("parts" in e and e["parts"]["total"] == 4 for e in running)


def test_processors_say_which_can_be_split(user):
    """GET /api/processors says ``parallel`` for csv-profile, not for the others."""
    listed = {p["name"]: p["parallel"] for p in user.http.get(user.url + "/api/processors").json()}
    assert listed["csv-profile"] is True and listed["simulate"] is False


def test_cancel_stops_every_part(user, redis_server):
    """Cancelled as its first part reports: the job ends REVOKED, the parts still queued stop
    before reading, no merge runs, and nothing moves afterwards."""
    content = quoted_csv(24000)[: 1024 * 1024 - 4096]
    content = content[: content.rindex(b"\n") + 1]
    job_id = user.submit("csv-profile", content=content, filename="c.csv", options={"parallel": 15})
    wait_for(lambda: any("parts" in e for e in user.updates(job_id)), 30, 0.005)
    assert user.http.post(f"{user.url}/api/jobs/{job_id}/cancel").status_code == 202
    ended = user.wait_pushed(job_id, {"REVOKED", "SUCCESS", "FAILURE"}, timeout=15)
    assert ended["state"] == "REVOKED"
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    parts = r.hgetall(split.PARTS_KEY.format(job_id))
    time.sleep(1.5)  # long enough for a part wrongly left running to report again
    assert r.hgetall(split.PARTS_KEY.format(job_id)) == parts
    assert sum(1 for field in parts if field.startswith("done:")) < 15
    assert user.job(job_id)["state"] == "REVOKED"
    assert not [e for e in user.updates(job_id) if e["state"] == "SUCCESS"]


def test_a_split_jobs_message_is_the_whole_jobs_and_never_goes_back(user):
    """Four parts reporting at once: every pushed message of the job is the whole job's
    ("4 parts: 1 done, 3 running"), its parts done never fewer than before, never one part's
    rows (which went 884,736 -> 294,912 as the parts took turns)."""
    content = quoted_csv(24000)[: 1024 * 1024 - 4096]
    content = content[: content.rindex(b"\n") + 1]
    job_id = user.submit("csv-profile", content=content, filename="m.csv", options={"parallel": 4})
    ended = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=60)
    assert ended["state"] == "SUCCESS", ended["error"]
    running = [e for e in user.updates(job_id) if e["state"] == "PROGRESS" and "parts" in e]
    assert running
    done = 0
    for event in running:
        parts = event["parts"]
        expected = f"4 parts: {parts['done']} done, {parts['running']} running"
        assert event["progress"]["message"] == expected, [e["progress"]["message"] for e in running]
        assert parts["done"] >= done
        done = parts["done"]
    assert ended["progress"]["message"] == "done"
