"""Retry and bulk actions over HTTP, on the real stack: per-job outcomes, bad input refused,
another user's jobs never touched."""

from __future__ import annotations

import uuid

import pytest

LONG = {"steps": 400, "interval_ms": 50}
QUICK = {"steps": 2, "interval_ms": 10}


def post(user, path: str, body: dict | None = None):
    """POST JSON (or nothing) as the user."""
    return user.http.post(f"{user.url}{path}", json=body)


def cancelled_job(user) -> str:
    """Return the id of a job of the user that was cancelled while it ran."""
    job_id = user.submit("simulate", options=LONG)
    user.wait_pushed(job_id, {"PROGRESS"})
    assert post(user, f"/api/jobs/{job_id}/cancel").status_code == 202
    user.wait_pushed(job_id, {"REVOKED"})
    return job_id


def test_retry_runs_a_cancelled_job_again_with_edited_options(user):
    """A retry is a new job on the same input, linked to the first, with the options sent."""
    first = cancelled_job(user)
    response = post(user, f"/api/jobs/{first}/retry", {"options": QUICK})
    assert response.status_code == 202, response.text
    again = response.json()
    assert again["id"] != first and again["retry_of"] == first and again["attempt"] == 1
    assert response.headers["Location"] == f"/api/jobs/{again['id']}"
    final = user.wait_pushed(again["id"], {"SUCCESS", "FAILURE"})
    assert final["state"] == "SUCCESS" and final["progress"]["current"] == 2
    assert final["filename"] == user.job(first)["filename"]


def test_retry_of_a_running_job_is_a_conflict(user):
    """A job still queued or running cannot be run again: 409, and nothing is made."""
    job_id = user.submit("simulate", options=LONG)
    response = post(user, f"/api/jobs/{job_id}/retry")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_finished"
    post(user, f"/api/jobs/{job_id}/cancel")
    user.wait_pushed(job_id, {"REVOKED"})


def test_retry_without_the_input_is_gone(stack, user):
    """A job whose input file is gone cannot be run again: 410."""
    job_id = user.submit("simulate", options=QUICK)
    user.wait_pushed(job_id, {"SUCCESS"})
    (stack.upload_dir / job_id / "input").unlink()
    response = post(user, f"/api/jobs/{job_id}/retry")
    assert response.status_code == 410 and response.json()["error"]["code"] == "input_gone"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"options": {"steps": "many"}}, "bad_options"),
        ({"options": [1]}, "bad_options"),
        ({"colour": "red"}, "bad_json"),
        ([1, 2], "bad_json"),
    ],
)
def test_retry_with_bad_input_is_refused(user, body, code):
    """Bad retry bodies are 400 JSON errors."""
    job_id = user.submit("simulate", options=QUICK)
    user.wait_pushed(job_id, {"SUCCESS"})
    response = post(user, f"/api/jobs/{job_id}/retry", body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_bulk_cancel_says_what_it_did_to_each_job(user, other_user):
    """A bulk cancel cancels the user's running jobs and skips the rest, each with its reason;
    another user's job is skipped as not found and keeps running."""
    ended = user.submit("simulate", options=QUICK)
    user.wait_pushed(ended, {"SUCCESS"})
    running = [user.submit("simulate", options=LONG) for _ in range(2)]
    foreign = other_user.submit("simulate", options=LONG)
    ids = [*running, foreign, ended, "nonsense"]
    response = post(user, "/api/jobs/bulk", {"action": "cancel", "ids": ids})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["done"] == running
    reasons = {s["id"]: s["error"]["code"] for s in answer["skipped"]}
    assert reasons == {foreign: "not_found", ended: "already_finished", "nonsense": "not_found"}
    for job_id in running:
        user.wait_pushed(job_id, {"REVOKED"})
    assert other_user.job(foreign)["state"] in {"PENDING", "STARTED", "PROGRESS"}
    post(other_user, f"/api/jobs/{foreign}/cancel")


def test_bulk_delete_by_filter_clears_only_matching_jobs(user):
    """ "Clear cancelled": a delete by filter removes the user's cancelled jobs, no other."""
    cancelled = cancelled_job(user)
    kept = user.submit("simulate", options=QUICK)
    user.wait_pushed(kept, {"SUCCESS"})
    body = {"action": "delete", "filter": {"state": "REVOKED"}}
    answer = post(user, "/api/jobs/bulk", body).json()
    assert answer == {"done": [cancelled], "skipped": [], "remaining": 0}
    listed = user.http.get(f"{user.url}/api/jobs").json()
    assert [j["id"] for j in listed["jobs"]] == [kept] and listed["total"] == 1


def test_bulk_retry_runs_each_job_again(user):
    """A bulk retry makes one new job per finished job, linked to it."""
    first = user.submit("simulate", options=QUICK)
    user.wait_pushed(first, {"SUCCESS"})
    answer = post(user, "/api/jobs/bulk", {"action": "retry", "ids": [first]}).json()
    assert answer["done"] == [first]
    listed = user.http.get(f"{user.url}/api/jobs?limit=1").json()["jobs"][0]
    assert listed["retry_of"] == first


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"action": "cancel", "ids": [str(uuid.uuid4())] * 10_001}, 400, "too_many_ids"),
        ({"action": "explode", "ids": []}, 400, "bad_action"),
        ({"action": "cancel"}, 400, "bad_selection"),
        ({"action": "cancel", "ids": [], "filter": {}}, 400, "bad_selection"),
        ({"action": "cancel", "ids": "all"}, 400, "bad_ids"),
        ({"action": "delete", "filter": {"state": "DONE"}}, 400, "bad_state"),
        ({"action": "delete", "filter": {"owner": "x"}}, 400, "bad_filter"),
        ({"action": "delete", "filter": {"batch": "all"}}, 400, "bad_batch"),
        ({"action": "delete", "filter": "all"}, 400, "bad_filter"),
    ],
)
def test_bulk_with_bad_input_is_refused(user, body, status, code):
    """Bad bulk requests are refused with a clear JSON error, and nothing is done."""
    response = post(user, "/api/jobs/bulk", body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
