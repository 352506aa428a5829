"""A queued job's place in its queue, read and pushed: jobs ahead of it in the broker's order,
per queue; it moves, pushed without polling, as jobs ahead are cancelled or start."""

from __future__ import annotations

import pytest

from tests.conftest import live_user
from tests.parts import wait_for
from tests.parts import web_alone

SHORT = {"steps": 5, "interval_ms": 200}


@pytest.fixture
def idle(tmp_path_factory):
    """Start a web server with no worker on a Redis of its own, with room for many jobs; the
    test starts the worker (one process) when it wants jobs to run."""
    yield from web_alone(tmp_path_factory, "places", WORKER_CONCURRENCY="1")


@pytest.fixture
def waiting(idle):
    """Return a live user of the worker-less server."""
    yield from live_user(idle.url)


def last_place(user, job_id: str):
    """Return the queue position of the job's last pushed snapshot."""
    updates = user.updates(job_id)
    return updates[-1].get("queue_position") if updates else "none pushed"


def test_places_are_read_and_pushed_and_move_as_jobs_ahead_leave(idle, waiting):
    """Four queued simulate jobs are 0th to 3rd in the default queue, a thumbnails job first
    in the heavy one (another queue); a cancel ahead and jobs starting move those behind, and
    each new place is pushed."""
    user = waiting
    ids = [user.submit("simulate", options=SHORT) for _ in range(3)]
    # The upload's answer says the place the job took (it may reach the tab after a push).
    answer = user.upload("simulate", options=SHORT)
    assert answer.status_code == 202 and answer.json()["queue_position"] == 3
    ids.append(answer.json()["id"])
    heavy = user.submit("image-thumbnails", content=b"\x89PNG\r\n\x1a\n", filename="a.png")

    assert [user.job(job_id)["queue_position"] for job_id in ids] == [0, 1, 2, 3]
    assert user.job(heavy)["queue_position"] == 0
    listed = user.http.get(f"{user.url}/api/jobs?state=PENDING").json()["jobs"]
    assert {j["id"]: j["queue_position"] for j in listed} == dict(
        zip([*ids, heavy], [0, 1, 2, 3, 0], strict=True)
    )
    # Each job's place is pushed once it is sent (the created event comes before, without).
    for place, job_id in enumerate(ids):
        wait_for(lambda j=job_id, p=place: last_place(user, j) == p)

    assert user.http.post(f"{user.url}/api/jobs/{ids[1]}/cancel").status_code == 202
    # One read of the places pushes each moved job's place, one event after the other.
    wait_for(lambda: last_place(user, ids[3]) == 2 and last_place(user, ids[2]) == 1)
    assert last_place(user, ids[0]) == 0
    assert user.job(ids[3])["queue_position"] == 2
    assert user.job(ids[1])["queue_position"] is None  # cancelled: in no queue

    idle.worker = idle.start_worker()
    user.wait_pushed(ids[0], {"STARTED", "PROGRESS"}, timeout=60)
    wait_for(lambda: last_place(user, ids[3]) == 1 and last_place(user, ids[2]) == 0, timeout=30)
    user.wait_pushed(ids[2], {"STARTED", "PROGRESS"}, timeout=30)
    wait_for(lambda: last_place(user, ids[3]) == 0, timeout=30)
    final = user.wait_pushed(ids[3], {"SUCCESS"}, timeout=30)
    assert final["queue_position"] is None
    # No place pushed after a job started: each job's places only go down, then stop.
    for job_id in (ids[2], ids[3]):
        places = [u["queue_position"] for u in user.updates(job_id) if u["state"] == "PENDING"]
        places = [p for p in places if p is not None]
        assert places == sorted(places, reverse=True)
        started = next(i for i, u in enumerate(user.updates(job_id)) if u["state"] != "PENDING")
        assert all(u["state"] != "PENDING" for u in user.updates(job_id)[started:])
