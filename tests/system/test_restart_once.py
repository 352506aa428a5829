"""``make run`` stopped (Ctrl-C) in the middle of a job and started again: the job runs again,
once. The worker gives back the interrupted job's message as it stops, and the new worker also
sends again the jobs its earlier life was running: the second message must not start a second
run of the same job beside the first."""

from __future__ import annotations

import signal

from tests.parts import RedisServer
from tests.parts import User
from tests.parts import make_run
from tests.parts import wait_for
from webapp import processes as parts


def test_job_cut_off_by_a_stop_runs_once_after_the_restart(tmp_path):
    """Stop the stack under a running job, start it again: the job is started once more (not
    twice at the same time) and ends in SUCCESS."""
    redis = RedisServer(tmp_path / "redis")
    port = parts.free_port()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    runner = make_run(redis, tmp_path, port, open(first_log, "w"))  # noqa: SIM115 - the stack writes to it
    try:
        wait_for(lambda: "Taskboard ready at" in first_log.read_text(), 60, 0.2)
        user = User(f"http://127.0.0.1:{port}")
        job_id = user.submit("simulate", options={"steps": 40, "interval_ms": 100})
        wait_for(lambda: user.job(job_id)["state"] == "PROGRESS", 30)
        runner.send_signal(signal.SIGINT)
        runner.wait(30)
        runner = make_run(redis, tmp_path, port, open(second_log, "w"))  # noqa: SIM115 - as above
        wait_for(lambda: "Taskboard ready at" in second_log.read_text(), 60, 0.2)
        wait_for(lambda: user.job(job_id)["state"] == "SUCCESS", 60, 0.2)
        started = second_log.read_text().count(f"job {job_id} started on")
        assert started == 1, second_log.read_text()
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(30)
        redis.stop()
