"""Schedules and jobs run later on real parts: runs as ordinary URL-import jobs, exactly one run
per due time with two senders (two workers), runs missed while everything was down run once,
and a job's run_at kept across restarts of every part (the ``fetching`` stack)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import redis

from tasks import jobstore
from tasks import later
from tasks import schedules
from tests.parts import User
from tests.parts import wait_for
from webapp.processes import stop


def make_schedule(user: User, url: str, **timing) -> dict:
    """Create a schedule of csv-profile on ``url`` and return it."""
    body = {"url": url, "processor": "csv-profile"} | timing
    response = user.http.post(user.url + "/api/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def schedule(user: User, schedule_id: str) -> dict:
    """Return a schedule with its last runs."""
    return user.http.get(f"{user.url}/api/schedules/{schedule_id}").json()


def test_run_now_is_an_ordinary_job_of_the_schedule(fetching, fetcher, files_server):
    """POST /run makes a URL-import job with the schedule's id, listed among its runs."""
    made = make_schedule(fetcher, files_server.url + "/now/report.csv", every_s=3600)
    response = fetcher.http.post(f"{fetching.url}/api/schedules/{made['id']}/run")
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["schedule"] == made["id"] and job["filename"] == "report.csv"
    done = fetcher.wait_pushed(job["id"], {"SUCCESS", "FAILURE"}, timeout=30)
    assert done["state"] == "SUCCESS", done["error"]
    runs = schedule(fetcher, made["id"])["runs"]
    assert [(r["id"], r["state"]) for r in runs] == [(job["id"], "SUCCESS")]


def test_one_run_per_due_time_with_two_senders(fetching, fetcher, files_server):
    """With two workers (two sender threads) a 2-s schedule runs once per due time: every run
    fetched once, runs about 2 s apart."""
    second = fetching.start_worker("worker-b")
    made = None
    try:
        wait_for(lambda: " ready." in fetching.log("worker-b"), timeout=30)
        path = f"/twice/{uuid.uuid4().hex}.csv"
        made = make_schedule(fetcher, files_server.url + path, every_s=2)
        wait_for(lambda: len(schedule(fetcher, made["id"])["runs"]) >= 4, timeout=30)
        fetcher.http.patch(f"{fetching.url}/api/schedules/{made['id']}", json={"paused": True})
        runs = schedule(fetcher, made["id"])["runs"]
        wait_for(lambda: len(files_server.hits(path)) >= len(runs), timeout=15)
        time.sleep(0.5)  # a duplicate fetch, if any, would come within this
        assert len(files_server.hits(path)) == len(runs)
        assert len({r["id"] for r in runs}) == len(runs)
        created = sorted(datetime.fromisoformat(r["created_at"]).timestamp() for r in runs)
        gaps = [b - a for a, b in zip(created, created[1:], strict=False)]
        assert all(gap > 1.5 for gap in gaps), gaps
    finally:
        if made is not None:
            fetcher.http.delete(f"{fetching.url}/api/schedules/{made['id']}")
        stop([second])
        fetching.children.remove(second)


def test_job_whose_processor_is_gone_by_its_time_fails_with_a_sentence(fetching, fetcher):
    """A job run later whose processor was removed meanwhile ends FAILURE, saying so, instead
    of being tried for ever."""
    r = redis.Redis.from_url(fetching.redis_url, decode_responses=True)
    job_id = str(uuid.uuid4())
    when = time.time() + 0.5
    jobstore.create(
        r, job_id, fetcher.id, "old.txt", 3, "retired", {}, run_at=jobstore.now_iso(when)
    )
    later.put(r, job_id, when)
    done = wait_for(lambda: fetcher.job(job_id)["state"] == "FAILURE" and fetcher.job(job_id))
    assert done["error"] == "The processor 'retired' is not installed."
    assert r.zscore(later.CLAIMED_KEY, job_id) is None
    r.close()


def test_missed_runs_run_once_and_run_at_survives_restarts(fetching, fetcher, files_server):
    """With every part down (worker, web, Redis), a schedule misses several periods and a job's
    run_at passes; back up, the schedule runs once (not once per missed period) and the job
    runs."""
    path = f"/missed/{uuid.uuid4().hex}.csv"
    made = make_schedule(fetcher, files_server.url + path, every_s=30)
    run_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    later_job = fetcher.http.post(
        fetching.url + "/api/jobs",
        files={"file": ("later.txt", b"still here\n")},
        data={"processor": "checksum", "run_at": run_at},
    ).json()
    r = redis.Redis.from_url(fetching.redis_url, decode_responses=True)
    stop([fetching.worker])
    fetching.children.remove(fetching.worker)
    # As if its first run had been due 95 s ago, while nothing ran: three periods missed.
    due = time.time() - 95
    r.hset(schedules.SCHEDULE_KEY.format(made["id"]), "next_run_at", jobstore.now_iso(due))
    r.zadd(schedules.DUE_KEY, {made["id"]: due})
    r.close()
    fetching.redis.restart(down_s=0.5)
    fetching.restart_web()
    time.sleep(max(0.0, datetime.fromisoformat(run_at).timestamp() - time.time()) + 0.5)
    user = User(fetching.url)
    user.http.cookies.update(fetcher.http.cookies)
    user.http.headers["X-CSRFToken"] = fetcher.csrf
    assert user.job(later_job["id"])["state"] == "SCHEDULED"  # nothing sends it while down
    fetching.worker = fetching.start_worker()
    fetching.wait_healthy()

    done = wait_for(lambda: user.job(later_job["id"])["state"] == "SUCCESS", timeout=30)
    assert done
    wait_for(lambda: schedule(user, made["id"])["runs"], timeout=30)
    time.sleep(1.0)
    shown = schedule(user, made["id"])
    assert len(shown["runs"]) == 1
    next_at = datetime.fromisoformat(shown["next_run_at"]).timestamp()
    assert 0 < next_at - time.time() <= 30
    assert abs((next_at - due) % 30) < 0.01 or abs((next_at - due) % 30 - 30) < 0.01
    # The stack serves the whole run: leave no schedule running in it.
    assert user.http.delete(f"{fetching.url}/api/schedules/{made['id']}").status_code == 204
