"""``make run`` stopped (Ctrl-C) in the middle of a job and started again: the job runs again,
once. The worker gives back the interrupted job's message as it stops, and the new worker also
sends again the jobs its earlier life was running: the second message must not start a second
run of the same job beside the first."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.parts import ROOT
from tests.parts import RedisServer
from tests.parts import User
from tests.parts import wait_for
from webapp import processes as parts


def start(env: dict, log) -> subprocess.Popen:
    """Start ``python -m webapp.stack`` with ``env``, its output going to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "webapp.stack"], cwd=ROOT, env=env, stdout=log, stderr=log
    )


def test_job_cut_off_by_a_stop_runs_once_after_the_restart(tmp_path):
    """Stop the stack under a running job, start it again: the job is started once more (not
    twice at the same time) and ends in SUCCESS."""
    redis = RedisServer(tmp_path / "redis")
    port = parts.free_port()
    env = parts.child_env(
        REDIS_URL=redis.url,
        PORT=str(port),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        TASKBOARD_DATA=str(tmp_path / "data"),
        WORKER_CONCURRENCY="2",
    )
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    runner = start(env, open(first_log, "w"))  # noqa: SIM115 - the stack writes to it
    try:
        wait_for(lambda: "Taskboard ready at" in first_log.read_text(), 60, 0.2)
        user = User(f"http://127.0.0.1:{port}")
        job_id = user.submit("simulate", options={"steps": 40, "interval_ms": 100})
        wait_for(lambda: user.job(job_id)["state"] == "PROGRESS", 30)
        runner.send_signal(signal.SIGINT)
        runner.wait(30)
        runner = start(env, open(second_log, "w"))  # noqa: SIM115 - as above
        wait_for(lambda: "Taskboard ready at" in second_log.read_text(), 60, 0.2)
        wait_for(lambda: user.job(job_id)["state"] == "SUCCESS", 60, 0.2)
        started = second_log.read_text().count(f"job {job_id} started on")
        assert started == 1, second_log.read_text()
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(30)
        redis.stop()
