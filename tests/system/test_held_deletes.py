"""A bulk delete held for an Undo: nothing is deleted until its time has passed, every tab sees
the jobs as being deleted, a restore keeps them with their files; bad input changes nothing."""

from __future__ import annotations

import pytest

from tests.parts import wait_for

QUICK = {"steps": 2, "interval_ms": 10}


def bulk(user, body):
    """POST a bulk action as the user."""
    return user.http.post(f"{user.url}/api/jobs/bulk", json=body)


def finished_jobs(user, count: int) -> list[str]:
    """Return the ids of ``count`` finished jobs of the user."""
    ids = [user.submit("simulate", options=QUICK) for _ in range(count)]
    for job_id in ids:
        user.wait_pushed(job_id, {"SUCCESS"})
    return ids


def test_held_deletes_wait_for_their_time_and_a_restore_keeps_a_job(stack, user, other_user):
    """Three jobs held 2 s: meanwhile they and their files are there, marked delete_at (read
    and pushed); one restored stays for good, the two others go after their time."""
    ids = finished_jobs(user, 3)
    answer = bulk(user, {"action": "delete", "ids": ids, "undo_s": 2})
    assert answer.status_code == 200 and sorted(answer.json()["done"]) == sorted(ids)
    for job_id in ids:
        pushed = wait_for(lambda j=job_id: user.updates(j)[-1].get("delete_at"))
        assert pushed == user.job(job_id)["delete_at"]
        assert (stack.upload_dir / job_id / "input").exists()
    # Another user cannot restore them; deleting them again is refused while held.
    foreign = bulk(other_user, {"action": "restore", "ids": ids[:1]}).json()
    assert foreign["skipped"][0]["error"]["code"] == "not_found"
    again = bulk(user, {"action": "delete", "ids": ids[:1]}).json()
    assert again["skipped"][0]["error"]["code"] == "being_deleted"

    kept = bulk(user, {"action": "restore", "ids": [ids[0]]}).json()
    assert kept == {"done": [ids[0]], "skipped": []}
    wait_for(lambda: "delete_at" not in user.updates(ids[0])[-1])  # pushed back as it was
    wait_for(
        lambda: all((user.job(j).get("error") or {}).get("code") == "not_found" for j in ids[1:])
    )
    for job_id in ids[1:]:
        assert not (stack.upload_dir / job_id).exists()
        assert any(u.get("deleted") for u in user.updates(job_id))
    assert user.job(ids[0])["state"] == "SUCCESS" and "delete_at" not in user.job(ids[0])
    assert (stack.upload_dir / ids[0] / "input").exists()
    late = bulk(user, {"action": "restore", "ids": [ids[1]]}).json()
    assert late["skipped"][0]["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "delete", "undo_s": "5"}, "bad_undo"),
        ({"action": "delete", "undo_s": True}, "bad_undo"),
        ({"action": "delete", "undo_s": 0}, "bad_undo"),
        ({"action": "delete", "undo_s": 61}, "bad_undo"),
        ({"action": "cancel", "undo_s": 5}, "bad_undo"),
    ],
)
def test_a_bad_undo_time_is_refused_and_changes_nothing(user, body, code):
    """undo_s must be 1 to 60 seconds, with a delete only: else 400 and the job stays as it was."""
    job_id = finished_jobs(user, 1)[0]
    response = bulk(user, body | {"ids": [job_id]})
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert "delete_at" not in user.job(job_id)


def test_restoring_a_job_not_being_deleted_is_skipped(user):
    """A restore of a job that is not held says so per job."""
    job_id = finished_jobs(user, 1)[0]
    skipped = bulk(user, {"action": "restore", "ids": [job_id]}).json()["skipped"]
    assert skipped[0]["error"]["code"] == "not_being_deleted"
