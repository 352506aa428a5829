"""What every benchmark shares: a stack of its own on free ports, the machine it ran on,
percentiles, a printed table and the JSON results in bench/results/."""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import requests

from webapp import stack
from webapp.processes import redis_server_binary

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PACKAGES = [
    "celery",
    "redis",
    "flask",
    "flask-socketio",
    "python-socketio",
    "python-engineio",
    "simple-websocket",
    "eventlet",
    "gevent",
    "websocket-client",
]


class Stack(stack.Stack):
    """Redis, optionally a Celery worker, and one web server, on free loopback ports, with their
    data and logs in a temporary folder; a context manager that stops them all."""

    def __init__(
        self,
        async_mode: str = "eventlet",
        worker: int = 0,
        worker_pool: str = "prefork",
        **settings: str,
    ) -> None:
        folder = Path(tempfile.mkdtemp(prefix="taskboard-bench-"))
        self.upload_dir = folder / "uploads"
        self.async_mode = async_mode
        defaults = {
            "UPLOAD_DIR": str(self.upload_dir),
            "SECRET_KEY": "bench-secret",
            "ASYNC_MODE": async_mode,
            "WORKER_CONCURRENCY": str(worker or 1),
            # The benchmarks open many tabs per user (50 for the fan-out).
            "MAX_CONNECTIONS_PER_USER": "1000",
        }
        try:
            super().__init__(
                folder,
                defaults | settings,
                worker=bool(worker),
                worker_args=["-P", worker_pool, "--without-mingle", "--without-gossip"],
                loglevel="WARNING",
                wait="healthy" if worker else "listening",
            )
        except BaseException:
            for name in ("web", "worker"):
                log = folder / f"{name}.log"
                if log.exists():
                    print(
                        f"--- {name}.log\n{log.read_text(errors='replace')[-3000:]}",
                        file=sys.stderr,
                    )
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def stop(self) -> None:
        """Stop every child and remove the folder."""
        super().stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def user(self) -> tuple[requests.Session, str]:
        """Return a new user's HTTP session (CSRF header set) and its id."""
        http = requests.Session()
        info = http.get(self.url + "/api/session", timeout=10).json()
        http.headers["X-CSRFToken"] = info["csrf_token"]
        return http, info["user"]


def cookie_of(http: requests.Session) -> str:
    """Return the Cookie header that carries a session's identity."""
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


def cpu_seconds(pid: int) -> float:
    """Return the CPU time a process has used so far (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    """Return a process's resident memory now and at its peak, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return {"rss_mb": values["VmRSS"], "peak_rss_mb": values["VmHWM"]}


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """Return count, p50, p95, p99 and max of some values (nearest rank)."""
    ordered = sorted(values)
    n = len(ordered)

    def rank(p: float) -> float | None:
        return ordered[min(n - 1, max(0, math.ceil(p * n) - 1))] if n else None

    return {
        "n": n,
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": ordered[-1] if n else None,
    }


def machine() -> dict:
    """Describe the machine, the software and the load at the time of a run."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(mem_kb / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "redis_server": redis_version(),
        "packages": versions,
        "loadavg": list(os.getloadavg()),
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def redis_version() -> str | None:
    """Return the version of the redis-server the stacks start."""
    binary = redis_server_binary()
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return next((w[2:] for w in out.split() if w.startswith("v=")), out.strip())


def save(name: str, results: dict) -> Path:
    """Write a benchmark's results, with the machine and its load, to bench/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    results = {"benchmark": name, "machine": machine(), **results}
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def table(title: str, columns: list[str], rows: list[list[object]]) -> str:
    """Return rows as an aligned text table under a title."""
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def fmt(value: object) -> str:
    """Format a table cell: floats with sensible precision, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return str(value)
