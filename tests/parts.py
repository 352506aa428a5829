"""Real parts for the tests: a Redis server of their own, a Celery worker, the web server, and a
browser-like user with a live Socket.IO connection. The fixtures in conftest.py start them."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import requests
import socketio

from webapp import stack
from webapp.processes import ROOT
from webapp.stack import RedisServer

__all__ = [
    "HOSTILE_LIMIT",
    "MAX_UPLOAD_BYTES",
    "ROOT",
    "RedisServer",
    "Stack",
    "User",
    "wait_for",
    "web_alone",
    "web_beside",
]
MAX_UPLOAD_BYTES = 1024 * 1024
# The hostile-input tests' limit: room for big hostile files.
HOSTILE_LIMIT = 8 * 1024 * 1024


def wait_for(condition: Callable[[], object], timeout: float = 10, interval: float = 0.02):
    """Wait until ``condition()`` is truthy and return it, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def make_run(redis: RedisServer, folder: Path, port: int, log) -> subprocess.Popen:
    """Start ``python -m webapp.stack`` as ``make run`` does, on ``redis``, serving on ``port``,
    with its uploads and data under ``folder`` and its output going to the open file ``log``."""
    env = stack.child_env(
        REDIS_URL=redis.url,
        PORT=str(port),
        UPLOAD_DIR=str(folder / "uploads"),
        TASKBOARD_DATA=str(folder / "data"),
        WORKER_CONCURRENCY="2",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "webapp.stack"], cwd=ROOT, env=env, stdout=log, stderr=log
    )


class Stack(stack.Stack):
    """A web server and a worker on one Redis, started as ``make run`` would, with the tests'
    settings and a log file per child; ``healthy=False`` waits only until the web server
    listens (a stack meant to be broken)."""

    def __init__(
        self,
        redis: RedisServer,
        folder: Path,
        async_mode: str = "eventlet",
        concurrency: int = 2,
        upload_dir: Path | None = None,
        worker: bool = True,
        healthy: bool = True,
        web_prefix: list[str] | tuple[str, ...] = (),
        **settings: str,
    ) -> None:
        self.upload_dir = upload_dir or redis.uploads
        defaults = {
            "UPLOAD_DIR": str(self.upload_dir),
            "SECRET_KEY": "test-secret",
            "ASYNC_MODE": async_mode,
            "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
            "WORKER_CONCURRENCY": str(concurrency),
        }
        super().__init__(
            folder,
            defaults | settings,
            redis=redis,
            worker=worker,
            worker_args=["--without-mingle", "--without-gossip"],
            web_prefix=web_prefix,
            wait="healthy" if healthy else "listening",
        )


def web_alone(factory, name: str, **settings: str) -> Iterator[Stack]:
    """Yield a web server with no worker on a Redis of its own (jobs stay queued; stopping it
    or its Redis disturbs no other test), for a fixture; stop both after. ``factory`` is
    pytest's ``tmp_path_factory``."""
    server = RedisServer(factory.mktemp(f"{name}-redis"))
    web = Stack(server, factory.mktemp(name), worker=False, healthy=False, **settings)
    try:
        yield web
    finally:
        web.stop()
        server.stop()


def web_beside(stack: Stack, redis: RedisServer, folder: Path, async_mode: str) -> Stack:
    """Start a web server alone in ``async_mode``, beside ``stack`` on its Redis and uploads."""
    return Stack(redis, folder, async_mode=async_mode, upload_dir=stack.upload_dir, worker=False)


class User:
    """A browser-like API user: a cookie jar, its CSRF token, and a live Socket.IO connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        info = self.http.get(url + "/api/session").json()
        self.id, self.csrf = info["user"], info["csrf_token"]
        self.http.headers["X-CSRFToken"] = self.csrf
        self.events: list[dict] = []
        self.received: list[float] = []
        self.sio: socketio.Client | None = None
        self._lock = threading.Lock()

    def connect(self) -> socketio.Client:
        """Open a Socket.IO connection with the session cookie and record every ``job`` event."""
        sio = socketio.Client(reconnection_delay=0.2, reconnection_delay_max=1)

        @sio.on("job")
        def on_job(data):
            with self._lock:
                self.received.append(time.time())
                self.events.append(data)

        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        sio.connect(self.url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
        self.sio = sio
        return sio

    def close(self) -> None:
        """Close the live connection."""
        if self.sio is not None:
            self.sio.disconnect()

    def upload(
        self,
        processor: str,
        content: bytes = b"hello\n",
        options: dict | None = None,
        filename: str = "hello.txt",
        **kwargs,
    ) -> requests.Response:
        """Send a file to a processor."""
        import json

        data = {"processor": processor}
        if options is not None:
            data["options"] = json.dumps(options)
        return self.http.post(
            self.url + "/api/jobs", files={"file": (filename, content)}, data=data, **kwargs
        )

    def submit(self, processor: str, **kwargs) -> str:
        """Send a file and return the new job's id."""
        response = self.upload(processor, **kwargs)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def job(self, job_id: str) -> dict:
        """Return a job's snapshot over HTTP."""
        return self.http.get(f"{self.url}/api/jobs/{job_id}").json()

    def updates(self, job_id: str) -> list[dict]:
        """Return the pushed snapshots of one job, in the order they came."""
        with self._lock:
            return [e for e in self.events if e.get("id") == job_id]

    def wait_pushed(self, job_id: str, states: set[str], timeout: float = 15) -> dict:
        """Wait for a pushed snapshot of the job in one of ``states``."""

        def found():
            return next((e for e in self.updates(job_id) if e.get("state") in states), None)

        return wait_for(found, timeout)
