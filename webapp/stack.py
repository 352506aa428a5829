"""One stack for ``make run``, the tests and the benchmarks: Redis (its own unless given), a
Celery worker, beat, and the web server, each a child in a session of its own.

``python -m webapp.stack`` (``make run``) runs one in the foreground until Ctrl-C, SIGTERM or
SIGHUP, or until the web server exits; it leaves no child behind.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

from webapp.processes import child_env
from webapp.processes import free_port
from webapp.processes import spawn
from webapp.processes import start_redis
from webapp.processes import stop
from webapp.processes import wait_for_port
from webapp.processes import wait_healthy

BIN = Path(sys.executable).parent


class RedisServer:
    """A Redis server on a free port (or the one given) of 127.0.0.1 with its data in a folder;
    it can be stopped and started again on the same port."""

    def __init__(self, folder: Path, port: int | None = None, quiet: bool = True) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        # Every stack on this Redis shares its queues, so it must share the files too, as the
        # web processes and workers of one cluster do.
        self.uploads = folder / "uploads"
        self.quiet = quiet
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        """Start the server on its port."""
        output = subprocess.DEVNULL if self.quiet else None
        self.process = start_redis(self.port, self.folder, stdout=output)

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None:
            stop([self.process])

    def restart(self, down_s: float = 1.0) -> None:
        """Stop the server, leave it down a while, start it again on the same port."""
        self.stop()
        time.sleep(down_s)
        self.start()


class Stack:
    """A web server, a worker (unless ``worker=False``) and beat (if ``beat=True``) on one
    Redis, with the given settings; ``HOST`` and ``PORT`` among them say where the web server
    listens (a free port by default). ``redis`` is a RedisServer, a URL, or None for a server of
    the stack's own with its data in ``folder/redis``. ``web_prefix`` is a command the web
    server runs under (one that sets a limit, then execs the rest). ``logs`` writes each
    child's output to ``folder/<name>.log`` (else it goes to this terminal). ``wait`` is
    ``healthy`` (/healthz answers 200 from this stack's own web server) or ``listening`` (its
    port is open). On any failure to start, what was started is stopped again."""

    def __init__(
        self,
        folder: Path,
        settings: Mapping[str, str] | None = None,
        *,
        redis: RedisServer | str | None = None,
        worker: bool = True,
        beat: bool = False,
        worker_args: Sequence[str] = (),
        web_prefix: Sequence[str] = (),
        loglevel: str = "INFO",
        logs: bool = True,
        wait: str = "healthy",
        timeout: float = 60,
    ) -> None:
        self.folder = folder
        self.env = child_env(**(settings or {}))
        self.host = self.env.setdefault("HOST", "127.0.0.1")
        self.port = int(self.env.get("PORT") or free_port())
        self.env["PORT"] = str(self.port)
        self.url = f"http://{self.host}:{self.port}"
        # The web server echoes it on /healthz: another server on the port is not this one.
        self.instance = self.env["TASKBOARD_INSTANCE"] = secrets.token_hex(8)
        self.worker_args, self.loglevel, self.logs = list(worker_args), loglevel, logs
        self.web_prefix = list(web_prefix)
        self.children: list[subprocess.Popen] = []
        self.own_redis: RedisServer | None = None
        self.worker = self.beat = self.web = None
        try:
            if redis is None:
                redis = self.own_redis = RedisServer(folder / "redis", quiet=logs)
            self.redis = redis
            self.redis_url = redis if isinstance(redis, str) else redis.url
            self.env["REDIS_URL"] = self.redis_url
            if worker:
                self.worker = self.start_worker()
            if beat:
                self.beat = self.start_beat()
            self.web = self.start_web(wait_listening=wait == "listening", timeout=timeout)
            if wait == "healthy":
                self.wait_healthy(timeout)
        except BaseException:
            Stack.stop(self)  # this class's: a subclass's stop may remove the logs
            raise

    def spawn(self, command: list[str], name: str) -> subprocess.Popen:
        """Start a child of the stack, its output in ``folder/<name>.log`` if the stack logs."""
        process = spawn(command, self.env, self.folder / f"{name}.log" if self.logs else None)
        self.children.append(process)
        return process

    def start_worker(self, name: str = "worker") -> subprocess.Popen:
        """Start a Celery worker (prefork unless the worker arguments say) on both queues, named
        after the web server's port, so that a restarted stack takes back its jobs at once."""
        command = [str(BIN / "celery"), "-A", "tasks", "worker", "--loglevel", self.loglevel]
        command += ["-n", f"{name}-{self.port}@%h", *self.worker_args]
        return self.spawn(command, name)

    def start_beat(self) -> subprocess.Popen:
        """Start Celery beat, its schedule kept in the stack's folder."""
        schedule = str(self.folder / "celerybeat-schedule")
        command = [str(BIN / "celery"), "-A", "tasks", "beat", "--loglevel", self.loglevel]
        return self.spawn([*command, "-s", schedule], "beat")

    def start_web(self, wait_listening: bool = True, timeout: float = 30) -> subprocess.Popen:
        """Start the web server, and wait until it listens unless told not to."""
        web = self.spawn([*self.web_prefix, sys.executable, "-m", "webapp"], "web")
        if wait_listening:
            wait_for_port(self.port, web, timeout)
        return web

    def restart_web(self) -> None:
        """Stop the web server and start it again on the same port."""
        stop([self.web])
        self.children.remove(self.web)
        self.web = self.start_web()

    def restart(self, name: str) -> subprocess.Popen:
        """Stop what is left of the worker or beat (its pool included) and start it again."""
        old = getattr(self, name)
        stop([old])
        self.children.remove(old)
        new = self.start_worker() if name == "worker" else self.start_beat()
        setattr(self, name, new)
        return new

    def wait_healthy(self, timeout: float = 60) -> None:
        """Wait until this stack's web server answers /healthz with 200."""
        running = [p for p in (self.worker, self.beat, self.web) if p is not None]
        wait_healthy(self.url, running, timeout, instance=self.instance)

    def stop(self) -> None:
        """Stop every child the stack started, then its own Redis."""
        stop([p for p in self.children if p is not None])
        if self.own_redis is not None:
            self.own_redis.stop()

    def log(self, name: str) -> str:
        """Return what a child wrote so far (stacks that log only)."""
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    from webapp.run import main

    main()
