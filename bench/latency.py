"""(a) Push latency: from the worker's update (``progress.ts``) to a Socket.IO client receiving it.

Jobs report 10 updates a second; each job is owned by its own user with 2 tabs open, and one
user with 50 tabs watches 2 jobs (fan-out). 1 and 10 jobs run as real Celery tasks (simulate);
1, 10 and 100 jobs also run from the synthetic publisher (100 prefork workers would not fit two
cores). The tabs are spread over 4 client processes; the full run first leaves them idle for 30 s,
as a page left open would be (Nagle's delays showed only on connections older than about 25 s).
"""

from __future__ import annotations

import json
import time

from bench.common import Stack
from bench.common import cookie_of
from bench.common import cpu_seconds
from bench.common import percentiles
from bench.common import table
from bench.publisher import Publisher
from bench.publisher import create_jobs
from bench.wire import Watchers

RATE = 10
TABS = 2
FAN_OUT_TABS = 50
REAL_WORKERS = 10


def submit_simulated(stack: Stack, http, seconds: float) -> str:
    """Queue a real simulate job that reports 10 times a second for ``seconds``."""
    options = json.dumps({"steps": int(seconds * RATE), "interval_ms": 1000 // RATE})
    response = http.post(
        stack.url + "/api/jobs",
        files={"file": ("bench.txt", b"bench\n")},
        data={"processor": "simulate", "options": options},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["id"]


def wait_finished(stack: Stack, http, job_ids: list[str], timeout: float) -> None:
    """Wait until every job has finished, asking seldom so as not to load the server."""
    deadline = time.monotonic() + timeout
    pending = set(job_ids)
    while pending and time.monotonic() < deadline:
        time.sleep(0.5)
        for job_id in list(pending):
            state = http.get(f"{stack.url}/api/jobs/{job_id}", timeout=10).json()["state"]
            if state in ("SUCCESS", "FAILURE", "REVOKED"):
                pending.discard(job_id)
    if pending:
        raise TimeoutError(f"{len(pending)} job(s) still running after {timeout} s")


def real_case(stack: Stack, users: list, seconds: float) -> dict:
    """Run one real simulate job per user (several for a single user) and time it."""
    cpu, started = cpu_seconds(stack.web.pid), time.time()
    ids = [submit_simulated(stack, http, seconds) for http, _ in users]
    for (http, _), job_id in zip(users, ids, strict=True):
        wait_finished(stack, http, [job_id], seconds * 3 + 30)
    return window(stack, ids, started, cpu)


def synthetic_case(stack: Stack, owners: list[str], seconds: float) -> dict:
    """Publish 10 updates a second for one synthetic job per owner."""
    ids = create_jobs(stack.redis_url, owners)
    publisher = Publisher(stack.redis_url, ids, RATE, seconds)
    cpu, started = cpu_seconds(stack.web.pid), time.time()
    sent = publisher.wait()
    time.sleep(0.5)  # the last pushes in flight
    return window(stack, ids, started, cpu) | {"sent": sent["sent"]}


def window(stack: Stack, ids: list[str], started: float, cpu: float) -> dict:
    """Return what a case needs besides its samples: its jobs, its time, the web's CPU."""
    wall = time.time() - started
    return {
        "ids": ids,
        "seconds": wall,
        "web_cpu_pct": 100 * (cpu_seconds(stack.web.pid) - cpu) / wall,
    }


def summarize(name: str, source: str, tabs: int, case: dict, samples: list) -> dict:
    """Return a case's latency percentiles (ms) and rates from the samples of its jobs."""
    ids = set(case.pop("ids"))
    mine = [s for s in samples if s[0] in ids]
    progress = [(s[3] - s[2]) * 1000 for s in mine if s[1] == "PROGRESS"]
    span = max(s[3] for s in mine) - min(s[2] for s in mine) if mine else 0
    updates = len({(s[0], s[2]) for s in mine if s[1] == "PROGRESS"})
    row = {"case": name, "source": source, "jobs": len(ids), "tabs": tabs, **case}
    row |= {
        "updates": updates,
        "pushes": len(mine),
        "pushes_per_s": len(mine) / span if span else 0,
        "latency_ms": percentiles(progress),
    }
    if "sent" in case:
        row["delivered"] = len(progress) / (case["sent"] * tabs / len(ids)) if case["sent"] else 0
    return row


def run(quick: bool = False) -> dict:
    """Run every case on one stack and return the results."""
    seconds, idle = (3, 0) if quick else (15, 30)
    rows = []
    with Stack(worker=REAL_WORKERS, PROGRESS_INTERVAL_S="0.05") as stack:
        users = [stack.user() for _ in range(100)]
        fan = stack.user()
        cookies = [cookie_of(http) for http, _ in users for _ in range(TABS)]
        cookies += [cookie_of(fan[0])] * FAN_OUT_TABS
        watchers = Watchers(stack.url, cookies, processes=4)
        time.sleep(idle)
        owners = [user for _, user in users]
        cases = [
            ("1 job", "celery", TABS, real_case(stack, users[:1], seconds)),
            ("10 jobs", "celery", TABS, real_case(stack, users[:10], seconds)),
            ("1 job", "synthetic", TABS, synthetic_case(stack, owners[:1], seconds)),
            ("10 jobs", "synthetic", TABS, synthetic_case(stack, owners[:10], seconds)),
            ("100 jobs", "synthetic", TABS, synthetic_case(stack, owners, seconds)),
            ("fan-out 2 jobs", "celery", FAN_OUT_TABS, real_case(stack, [fan, fan], seconds)),
        ]
        received = watchers.stop()
        rows += [summarize(*case, received["samples"]) for case in cases]
        # The same 10 real jobs watched with python-socketio's client, for comparison.
        others = [stack.user() for _ in range(10)]
        cookies = [cookie_of(http) for http, _ in others for _ in range(TABS)]
        watchers = Watchers(stack.url, cookies, processes=4, kind="socketio")
        case = real_case(stack, others, seconds)
        received = watchers.stop()
        name = "10 jobs, python-socketio client"
        rows.append(summarize(name, "celery", TABS, case, received["samples"]))
    print(
        table(
            "(a) push latency, worker update -> Socket.IO client (ms); 10 updates/s per job",
            ["case", "source", "tabs/job", "pushes/s", "p50", "p95", "p99", "max", "web CPU %"],
            [
                [r["case"], r["source"], r["tabs"], r["pushes_per_s"]]
                + [r["latency_ms"][k] for k in ("p50", "p95", "p99", "max")]
                + [r["web_cpu_pct"]]
                for r in rows
            ],
        )
    )
    return {"seconds_per_case": seconds, "idle_s": idle, "cases": rows}
