"""Faults survived: Redis restarted under a job, the web server restarted, a worker killed,
the disk full while uploading."""

from __future__ import annotations

import os
import signal
import sys
from types import SimpleNamespace

import psutil
import pytest
from celery import Celery

from tasks.jobstore import STALLED
from tests.parts import MAX_UPLOAD_BYTES
from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User
from tests.parts import make_run
from tests.parts import wait_for
from webapp import processes as parts

SWEEP = "tasks.maintenance.sweep_stalled"


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
        # Long enough to outlast a slow restart of the web server on a loaded machine.
        job_id = user.submit("simulate", options={"steps": 150, "interval_ms": 100})
        user.wait_pushed(job_id, {"PROGRESS"})
        own_stack.restart_web()
        wait_for(
            lambda: (
                user.sio.connected
                and user.sio.call("subscribe", {"job_id": job_id}, timeout=5).get("id") == job_id
            ),
            20,
        )
        final = user.wait_pushed(job_id, {"SUCCESS"}, timeout=40)
        assert final["progress"]["current"] == 150
    finally:
        user.close()


@pytest.fixture(scope="module")
def supervised(tmp_path_factory):
    """Run the stack as ``make run`` does, on a Redis of the test's own that it can restart."""
    folder = tmp_path_factory.mktemp("supervised")
    redis = RedisServer(folder / "redis")
    port = parts.free_port()
    log = open(folder / "stack.log", "w")  # noqa: SIM115 - the stack writes to it until stopped
    runner = make_run(redis, folder, port, log)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: "Taskboard ready at" in (folder / "stack.log").read_text(), 60, 0.2)
    yield SimpleNamespace(url=url, redis=redis, log=folder / "stack.log", pid=runner.pid)
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


def worker_of(stack_pid: int) -> int:
    """Return the pid of the Celery worker a ``make run`` stack started."""
    for child in psutil.Process(stack_pid).children():
        command = child.cmdline()
        if "worker" in command and any("celery" in c for c in command):
            return child.pid
    raise AssertionError("the stack has no worker")


def test_job_of_a_killed_worker_is_taken_back_when_it_restarts(supervised):
    """SIGKILL of the worker in mid-job: the stack restarts it and it runs the job again."""
    user = User(supervised.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 30, "interval_ms": 100})
        user.wait_pushed(job_id, {"PROGRESS"})
        os.kill(worker_of(supervised.pid), signal.SIGKILL)
        final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=60)
        assert final["state"] == "SUCCESS", final["error"]
        assert f"job {job_id} was cut off" in supervised.log.read_text()
    finally:
        user.close()


def test_job_nobody_can_finish_is_marked_failed_with_a_message(tmp_path):
    """A job whose worker died for good, with no redelivery left, ends in FAILURE with a
    sentence, pushed to its owner: never left in PROGRESS."""
    redis_server = RedisServer(tmp_path / "redis")
    stack = Stack(redis_server, tmp_path, STALL_AFTER_S="1", STALL_REDELIVERIES="0")
    user = User(stack.url)
    user.connect()
    try:
        job_id = user.submit("simulate", options={"steps": 100, "interval_ms": 100})
        user.wait_pushed(job_id, {"PROGRESS"})
        os.killpg(stack.worker.pid, signal.SIGKILL)
        stack.worker.wait()
        # Another worker (under another name) runs the sweep, as beat would send it.
        stack.worker = stack.start_worker("sweeper")
        sender = Celery(broker=redis_server.url, backend=redis_server.url)
        wait_for(lambda: sender.send_task(SWEEP, queue="default").get(timeout=10)["failed"], 30, 1)
        final = user.wait_pushed(job_id, {"FAILURE"}, timeout=10)
        assert final["error"] == STALLED
        assert user.job(job_id)["state"] == "FAILURE"
    finally:
        user.close()
        stack.stop()
        redis_server.stop()


# Runs a command under a file size limit: past it, writes fail with EFBIG, as the disk being
# full fails them with ENOSPC (Python ignores SIGXFSZ). No mount, so no privilege, is needed.
FILE_SIZE_LIMITED = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
)


def test_upload_onto_a_full_disk_is_refused_and_leaves_nothing(tmp_path):
    """An upload that runs out of room (a 2 MiB file size limit on the web server) answers 507
    JSON and its partial file is removed."""
    uploads = tmp_path / "uploads"
    redis_server = RedisServer(tmp_path / "redis")
    stack = Stack(
        redis_server,
        tmp_path,
        upload_dir=uploads,
        worker=False,
        healthy=False,
        web_prefix=[sys.executable, "-c", FILE_SIZE_LIMITED, str(2 * 1024 * 1024)],
        MAX_UPLOAD_BYTES=str(8 * MAX_UPLOAD_BYTES),
    )
    try:
        user = User(stack.url)
        response = user.upload("checksum", content=b"x" * (3 * 1024 * 1024))
        assert response.status_code == 507
        assert response.json()["error"]["code"] == "storage_full"
        assert list((uploads / ".incoming").iterdir()) == []
        assert user.http.get(stack.url + "/api/jobs").json()["jobs"] == []
        assert user.upload("checksum", content=b"small").status_code == 202
    finally:
        stack.stop()
        redis_server.stop()
