"""A job's own log: the processor's lines kept with the job, read over HTTP, pushed live."""

from __future__ import annotations

import pytest

from tests.parts import wait_for


def pushed_messages(events: list[dict], job_id: str) -> list[str]:
    """Return the messages of a job's pushed log lines, in the order they came."""
    return [line["message"] for e in events if e["id"] == job_id for line in e["lines"]]


def test_log_lines_are_pushed_live_and_kept(user):
    """The processor's lines reach the owner's connection as they are written, in order, and
    the same lines are read back over HTTP, after a given line too."""
    pushed: list[dict] = []
    user.sio.on("log", pushed.append)
    job_id = user.submit("simulate", options={"steps": 10, "interval_ms": 100})
    wait_for(lambda: "step 1 of 10 done" in pushed_messages(pushed, job_id))
    running = user.job(job_id)["state"]
    user.wait_pushed(job_id, {"SUCCESS"})
    assert running in {"STARTED", "PROGRESS"}
    lines = user.http.get(f"{user.url}/api/jobs/{job_id}/logs").json()["lines"]
    messages = [line["message"] for line in lines]
    assert messages[0] == "started" and "waiting 10 steps of 100 ms" in messages
    assert "step 10 of 10 done" in messages
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert {line["level"] for line in lines} == {"info"}
    wait_for(lambda: pushed_messages(pushed, job_id) == messages)
    later = user.http.get(f"{user.url}/api/jobs/{job_id}/logs?after=3").json()["lines"]
    assert later == lines[3:]


@pytest.mark.parametrize("after", ["x", "-1", "1.5"])
def test_bad_after_is_refused(user, after):
    """A bad ``after`` is a 400 JSON error."""
    job_id = user.submit("simulate", options={"steps": 1, "interval_ms": 0})
    response = user.http.get(f"{user.url}/api/jobs/{job_id}/logs?after={after}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_after"


def test_another_users_log_is_not_found(user, other_user):
    """Another user's job log is answered like a missing job's."""
    job_id = other_user.submit("simulate", options={"steps": 1, "interval_ms": 0})
    response = user.http.get(f"{user.url}/api/jobs/{job_id}/logs")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
