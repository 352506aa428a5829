"""A web process follows only the jobs of its own connections' users: Redis sends it nothing
else, and each tab still gets each update once, whichever process it is on."""

from __future__ import annotations

import redis

from tasks import jobstore
from tests.parts import User
from tests.parts import wait_for


def subscribers(stack, job_id: str) -> int:
    """Return how many web processes listen to a job's backend channel now."""
    r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    return dict(r.pubsub_numsub(jobstore.META_KEY.format(job_id)))[jobstore.META_KEY.format(job_id)]


def test_only_processes_with_the_owner_connected_listen_to_a_job(stack, second_web):
    """Subscribe the owner's processes to a job while it runs, no other; leave when it ends."""
    user = User(stack.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 40, "interval_ms": 50})
        user.wait_pushed(job_id, {"PROGRESS"})
        assert subscribers(stack, job_id) == 1  # web A only: nobody of this user is on web B
        user.wait_pushed(job_id, {"SUCCESS"})
        wait_for(lambda: subscribers(stack, job_id) == 0, 5)
    finally:
        user.close()


def test_a_tab_on_each_process_gets_every_update_once(stack, second_web):
    """Give two tabs of one user, on two web processes, each update exactly once, for a job
    started after both connected."""
    on_a = User(stack.url)
    on_b = User(second_web.url)
    on_b.http.cookies.update(on_a.http.cookies)
    on_b.csrf = on_a.csrf
    on_b.http.headers["X-CSRFToken"] = on_a.csrf
    on_a.connect()
    on_b.connect()
    try:
        job_id = on_a.submit("simulate", options={"steps": 20, "interval_ms": 50})
        for tab in (on_a, on_b):
            tab.wait_pushed(job_id, {"SUCCESS"})
        wait_for(lambda: subscribers(stack, job_id) == 0, 5)
        # A queued job's place pushed once it is sent is an update of its own.
        seen_a, seen_b = (
            [
                (u.get("state"), u["progress"]["ts"], u.get("queue_position"))
                for u in tab.updates(job_id)
                if "state" in u
            ]
            for tab in (on_a, on_b)
        )
        assert len(seen_a) == len(set(seen_a)) and len(seen_b) == len(set(seen_b))
        assert {"SUCCESS"} <= {u[0] for u in seen_a} and {"SUCCESS"} <= {u[0] for u in seen_b}
        # Every progress state the worker stored reached both tabs.
        progress_a = [ts for state, ts, _ in seen_a if state == "PROGRESS"]
        progress_b = [ts for state, ts, _ in seen_b if state == "PROGRESS"]
        assert progress_a == progress_b and len(progress_a) >= 5
    finally:
        on_a.close()
        on_b.close()
