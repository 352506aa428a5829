"""``make run``'s stack: it starts everything, says ready, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from tests.parts import ROOT
from webapp import stack as parts


def children_of(pid: int) -> list[int]:
    """Return the pids of every process whose session or parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def test_stack_starts_everything_and_ctrl_c_stops_every_child(tmp_path):
    """The stack prints its ready line with the URL, serves, and SIGINT stops all children."""
    port = parts.free_port()
    env = parts.child_env(
        PORT=str(port),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        TASKBOARD_DATA=str(tmp_path / "data"),
        SECRET_KEY="test-secret",
    )
    env.pop("REDIS_URL", None)
    runner = subprocess.Popen(
        [sys.executable, "-m", "webapp.stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready = ""
        deadline = time.monotonic() + 60
        while "ready" not in ready and time.monotonic() < deadline:
            ready = runner.stdout.readline()
            assert ready or runner.poll() is None, "the stack exited before it was ready"
        assert f"http://127.0.0.1:{port}" in ready
        assert requests.get(f"http://127.0.0.1:{port}/healthz").json()["workers"] == 1
        children = children_of(runner.pid)
        assert len(children) == 4  # redis, worker, beat, web
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(30)
    time.sleep(0.5)
    assert [
        pid
        for pid in children
        if os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z"
    ] == []


def test_web_server_refuses_to_start_without_a_secret_key(tmp_path):
    """Outside development the web server stops at once, saying SECRET_KEY is needed."""
    env = parts.child_env(TASKBOARD_ENV="production", UPLOAD_DIR=str(tmp_path))
    env.pop("SECRET_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "webapp"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode != 0
    assert b"Set SECRET_KEY" in done.stderr
