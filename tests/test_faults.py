"""Faults the live path survives: Redis restarted under it, the web server restarted."""

from __future__ import annotations

import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tests.conftest import ROOT
from tests.conftest import RedisServer
from tests.conftest import Stack
from tests.conftest import User
from tests.conftest import wait_for
from webapp import stack as parts


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """Start a stack on a Redis of its own, so that restarting it disturbs no other test."""
    redis = RedisServer(tmp_path_factory.mktemp("faults-redis"))
    running = Stack(redis, tmp_path_factory.mktemp("faults"))
    yield running
    running.stop()
    redis.stop()


def test_live_updates_resume_after_redis_restarts(own_stack):
    """After Redis comes back, the relay reconnects and pushes a new job's progress again."""
    user = User(own_stack.url)
    user.connect()
    try:
        own_stack.redis.restart(down_s=1.0)
        wait_for(lambda: user.http.get(own_stack.url + "/healthz").status_code == 200, 30)
        job_id = user.submit("simulate", options={"steps": 10, "interval_ms": 50})
        final = user.wait_pushed(job_id, {"SUCCESS"}, timeout=30)
        assert final["progress"]["percent"] == 100
        assert [u["state"] for u in user.updates(job_id)].count("PROGRESS") >= 3
    finally:
        user.close()


def test_clients_get_updates_after_the_web_server_restarts(own_stack):
    """A client reconnects after the web server restarts and gets its job's updates again."""
    user = User(own_stack.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 40, "interval_ms": 100})
        user.wait_pushed(job_id, {"PROGRESS"})
        own_stack.restart_web()
        wait_for(
            lambda: (
                user.sio.connected
                and user.sio.call("subscribe", {"job_id": job_id}, timeout=5).get("id") == job_id
            ),
            20,
        )
        final = user.wait_pushed(job_id, {"SUCCESS"}, timeout=30)
        assert final["progress"]["current"] == 40
    finally:
        user.close()


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    """Run the stack as ``make run`` does, on a Redis of the test's own that it can restart."""
    folder = tmp_path_factory.mktemp("supervised")
    redis = RedisServer(folder / "redis")
    port = parts.free_port()
    env = parts.child_env(
        REDIS_URL=redis.url,
        PORT=str(port),
        UPLOAD_DIR=str(folder / "uploads"),
        TASKBOARD_DATA=str(folder / "data"),
        WORKER_CONCURRENCY="2",
    )
    log = open(folder / "stack.log", "w")  # noqa: SIM115 - the stack writes to it until stopped
    runner = subprocess.Popen(
        [sys.executable, "-m", "webapp.stack"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: "Taskboard ready at" in (folder / "stack.log").read_text(), 60, 0.2)
    yield SimpleNamespace(url=url, redis=redis, log=folder / "stack.log")
    runner.send_signal(signal.SIGINT)
    runner.wait(30)
    redis.stop()


def test_job_running_while_redis_restarts_is_not_lost(supervised):
    """Redis restarts under a running job: web and worker come back, the job still ends in
    SUCCESS, and its progress is pushed again without the client asking."""
    user = User(supervised.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 40, "interval_ms": 100})
        user.wait_pushed(job_id, {"PROGRESS"})
        supervised.redis.restart(down_s=1.0)
        final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=60)
        assert final["state"] == "SUCCESS", final["error"]
        assert user.job(job_id)["state"] == "SUCCESS"
        assert final["progress"]["current"] == 40
    finally:
        user.close()
