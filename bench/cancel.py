"""(d) Cancel latency: from ``POST /api/jobs/<id>/cancel`` to the REVOKED snapshot pushed to a tab.

Real Celery tasks on a prefork worker of 2 processes. Running: a simulate job reporting every
100 ms, cancelled at a random moment once it runs (it stops at its next report). Queued: a job
waiting behind 2 busy ones (it is marked REVOKED at once and never starts). Not reporting: a job
inside a 30 s step, killed after ``CANCEL_GRACE_S`` (1 s), for reference.
"""

from __future__ import annotations

import json
import random
import time

from bench.common import Stack
from bench.common import cookie_of
from bench.common import percentiles
from bench.common import table
from bench.wire import Watchers

LONG = {"steps": 6000, "interval_ms": 100}
SILENT = {"steps": 2, "interval_ms": 30000}


class Client:
    """One user's HTTP calls."""

    def __init__(self, stack: Stack) -> None:
        self.url = stack.url
        self.http, _ = stack.user()

    def submit(self, options: dict) -> str:
        """Queue a simulate job and return its id."""
        response = self.http.post(
            self.url + "/api/jobs",
            files={"file": ("bench.txt", b"bench\n")},
            data={"processor": "simulate", "options": json.dumps(options)},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["id"]

    def cancel(self, job_id: str) -> float:
        """Ask for a cancel; return when it was asked."""
        asked = time.time()
        self.http.post(f"{self.url}/api/jobs/{job_id}/cancel", timeout=30).raise_for_status()
        return asked

    def wait_state(self, job_id: str, states: set[str], timeout: float = 30) -> None:
        """Wait until a job is in one of ``states``."""
        deadline = time.monotonic() + timeout
        while self.http.get(f"{self.url}/api/jobs/{job_id}").json()["state"] not in states:
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} not in {states} after {timeout} s")
            time.sleep(0.05)


def running(client: Client, n: int, options: dict, wait_before: float) -> dict[str, float]:
    """Cancel ``n`` running jobs one after the other; return when each cancel was asked."""
    asked = {}
    for _ in range(n):
        job_id = client.submit(options)
        client.wait_state(job_id, {"PROGRESS"})
        time.sleep(random.uniform(0, wait_before))
        asked[job_id] = client.cancel(job_id)
        client.wait_state(job_id, {"REVOKED"})
    return asked


def queued(client: Client, n: int) -> dict[str, float]:
    """Cancel ``n`` jobs queued behind two busy ones; return when each cancel was asked."""
    blockers = [client.submit(LONG) for _ in range(2)]
    for job_id in blockers:
        client.wait_state(job_id, {"PROGRESS"})
    asked = {}
    for _ in range(n):
        job_id = client.submit({"steps": 3, "interval_ms": 10})
        asked[job_id] = client.cancel(job_id)
        client.wait_state(job_id, {"REVOKED"})
        time.sleep(0.1)
    for job_id in blockers:
        client.cancel(job_id)
        client.wait_state(job_id, {"REVOKED"})
    return asked


def latencies(asked: dict[str, float], samples: list) -> list[float]:
    """Return, per job, ms from the cancel request to the first REVOKED push."""
    pushed: dict[str, float] = {}
    for job_id, state, _, received in samples:
        if state == "REVOKED" and job_id in asked:
            pushed[job_id] = min(received, pushed.get(job_id, received))
    return [(pushed[j] - t) * 1000 for j, t in asked.items() if j in pushed]


def run(quick: bool = False) -> dict:
    """Cancel running, queued and silent jobs; return the latencies."""
    n, silent = (5, 1) if quick else (30, 3)
    random.seed(7)
    with Stack(worker=2) as stack:
        client = Client(stack)
        watchers = Watchers(stack.url, [cookie_of(client.http)], processes=1)
        cases = {
            "running": running(client, n, LONG, 0.3),
            "queued": queued(client, n),
            "not reporting (killed)": running(client, silent, SILENT, 0.0),
        }
        samples = watchers.stop()["samples"]
    rows = []
    for name, asked in cases.items():
        measured = latencies(asked, samples)
        rows.append({"case": name, "asked": len(asked), "latency_ms": percentiles(measured)})
    print(
        table(
            "(d) cancel -> REVOKED pushed to the tab (ms)",
            ["case", "n", "p50", "p95", "p99", "max"],
            [
                [r["case"], r["latency_ms"]["n"]]
                + [r["latency_ms"][k] for k in ("p50", "p95", "p99", "max")]
                for r in rows
            ],
        )
    )
    return {"cases": rows}
