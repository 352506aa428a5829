"""(c) Push against polling, on the same load in the same run.

For 1, 10 and 100 jobs (synthetic, 10 updates/s each, 2 watchers per job, each job its own
user's), first the watchers are Socket.IO tabs, then they poll ``GET /api/jobs/<id>`` every
500 ms as celery-progress does (spread evenly over the 500 ms). For each: the requests the web
process answers per second, the latency of seeing an update (a poller sees an update when a
response carries a newer ``progress.ts``: latency is then minus that ts), and the web CPU.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import queue
import threading
import time
import urllib.parse

from bench.common import Stack
from bench.common import cookie_of
from bench.common import cpu_seconds
from bench.common import percentiles
from bench.common import table
from bench.publisher import Publisher
from bench.publisher import create_jobs
from bench.wire import Watchers

LOADS = [1, 10, 100]
RATE = 10
WATCHERS = 2
POLL_S = 0.5
PROCESSES = 4
# Engine.IO's ping interval on this server (webapp/__init__.py): a tab's only message upstream.
PING_INTERVAL_S = 10


def poll(url: str, watches: list[tuple[str, str]], ready, stop, out) -> None:
    """Poll each (cookie, job id) every 500 ms from a thread of its own until told to stop; put
    each answer: (watcher, job id, progress.ts, when it came)."""
    start = time.time() + 0.2
    answers, failed = [], [0]
    lock = threading.Lock()

    address = urllib.parse.urlsplit(url)

    def watcher(index: int, cookie: str, job_id: str) -> None:
        # http.client on a kept-alive connection: a lean client, as the Socket.IO tabs are.
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        name = f"{os.getpid()}-{index}"
        due = start + POLL_S * index / len(watches)
        while not stop.is_set():
            time.sleep(max(0.0, due - time.time()))
            due += POLL_S
            try:
                conn.request("GET", f"/api/jobs/{job_id}", headers={"Cookie": cookie})
                response = conn.getresponse()
                snapshot = json.loads(response.read())
                if response.status != 200:
                    raise ValueError(response.status)
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                with lock:
                    failed[0] += 1
                continue
            received = time.time()
            with lock:
                answers.append((name, job_id, snapshot["progress"]["ts"], received))

    threads = [
        threading.Thread(target=watcher, args=(i, cookie, job_id), daemon=True)
        for i, (cookie, job_id) in enumerate(watches)
    ]
    for t in threads:
        t.start()
    ready.put("ready")
    for t in threads:
        t.join()
    out.put({"answers": answers, "failed": failed[0]})


class Pollers:
    """Polling watchers spread over several processes."""

    def __init__(self, url: str, watches: list[tuple[str, str]]) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop_event, self.ready, self.out = context.Event(), context.Queue(), context.Queue()
        n = min(PROCESSES, len(watches))
        self.processes = [
            context.Process(
                target=poll,
                args=(url, watches[i::n], self.ready, self.stop_event, self.out),
                daemon=True,
            )
            for i in range(n)
        ]
        for p in self.processes:
            p.start()
        for _ in self.processes:
            self.ready.get(timeout=60)

    def stop(self) -> dict:
        """Stop polling; return what was seen, merged."""
        self.stop_event.set()
        merged = {"answers": [], "failed": 0}
        for _ in self.processes:
            try:
                part = self.out.get(timeout=60)
            except queue.Empty:
                continue
            merged["answers"] += part["answers"]
            merged["failed"] += part["failed"]
        for p in self.processes:
            p.join(timeout=10)
        return merged


def push_phase(stack: Stack, users: list, ids: list[str], seconds: float) -> dict:
    """Watch the jobs with Socket.IO tabs while the publisher runs."""
    cookies = [cookie_of(http) for http, _ in users for _ in range(WATCHERS)]
    watchers = Watchers(stack.url, cookies, processes=PROCESSES)
    publisher = Publisher(stack.redis_url, ids, RATE, seconds)
    cpu = cpu_seconds(stack.web.pid)
    sent = publisher.wait()
    cpu = cpu_seconds(stack.web.pid) - cpu
    time.sleep(0.5)
    wall = sent["end"] - sent["start"]
    samples = [s for s in watchers.stop()["samples"] if s[1] == "PROGRESS" and s[0] in ids]
    return {
        "way": "push",
        # A tab sends nothing upstream but its answer to the server's ping.
        "http_requests_per_s": 0.0,
        "upstream_messages_per_s": len(cookies) / PING_INTERVAL_S,
        "messages_per_s": len(samples) / wall,
        "seen_fraction": len(samples) / (sent["sent"] * WATCHERS) if sent["sent"] else 0,
        "latency_ms": percentiles([(s[3] - s[2]) * 1000 for s in samples]),
        "web_cpu_pct": 100 * cpu / wall,
    }


def polling_phase(stack: Stack, users: list, ids: list[str], seconds: float) -> dict:
    """Watch the same jobs by polling while the publisher runs again."""
    watches = [(cookie_of(http), job_id) for (http, _), job_id in zip(users, ids, strict=True)]
    watches = [w for w in watches for _ in range(WATCHERS)]
    pollers = Pollers(stack.url, watches)
    time.sleep(1.0)  # every poller under way
    publisher = Publisher(stack.redis_url, ids, RATE, seconds)
    cpu = cpu_seconds(stack.web.pid)
    sent = publisher.wait()
    cpu = cpu_seconds(stack.web.pid) - cpu
    wall = sent["end"] - sent["start"]
    polled = pollers.stop()
    answered = [a for a in polled["answers"] if sent["start"] <= a[3] <= sent["end"]]
    requests_per_s = len(answered) / wall
    delays, exact = staleness(polled["answers"], sent["updates"])
    return {
        "way": "polling",
        "http_requests_per_s": requests_per_s,
        "upstream_messages_per_s": requests_per_s,
        "messages_per_s": requests_per_s,
        "failed_requests": polled["failed"],
        "seen_fraction": exact / len(delays) if delays else 0,
        "latency_ms": percentiles(delays),
        "web_cpu_pct": 100 * cpu / wall,
    }


def staleness(answers: list, updates: list[tuple[str, float]]) -> tuple[list[float], int]:
    """Return, for each update and each poller of its job, how long until that poller knew of
    it (an answer with that update or a later one), in ms; and how many answers showed the
    update itself rather than a later one."""
    by_watcher: dict[str, list[tuple[float, float]]] = {}
    jobs_of: dict[str, str] = {}
    for name, job_id, ts, received in answers:
        by_watcher.setdefault(name, []).append((received, ts))
        jobs_of[name] = job_id
    updates_of: dict[str, list[float]] = {}
    for job_id, ts in updates:
        updates_of.setdefault(job_id, []).append(ts)
    delays, exact = [], 0
    for name, seen in by_watcher.items():
        seen.sort()
        shown = {ts for _, ts in seen}
        for ts in updates_of.get(jobs_of[name], []):
            # Answers come in order, and each shows the newest update: the first one at or past
            # this update is when the poller learned of it.
            first = next((received for received, shown_ts in seen if shown_ts >= ts), None)
            if first is not None:
                delays.append((first - ts) * 1000)
                exact += ts in shown
    return delays, exact


def run(quick: bool = False) -> dict:
    """Run push then polling at each load; return both and their ratios."""
    seconds = 4 if quick else 15
    loads = []
    with Stack() as stack:
        for jobs in LOADS:
            users = [stack.user() for _ in range(jobs)]
            ids = create_jobs(stack.redis_url, [user for _, user in users])
            push = push_phase(stack, users, ids, seconds)
            polled = polling_phase(stack, users, ids, seconds)
            loads.append(
                {
                    "jobs": jobs,
                    "watchers": jobs * WATCHERS,
                    "updates_per_s": jobs * RATE,
                    "push": push,
                    "polling": polled,
                    "ratios": {
                        "upstream_messages": polled["upstream_messages_per_s"]
                        / push["upstream_messages_per_s"],
                        "p50": polled["latency_ms"]["p50"] / push["latency_ms"]["p50"],
                        "p99": polled["latency_ms"]["p99"] / push["latency_ms"]["p99"],
                        "web_cpu": polled["web_cpu_pct"] / max(push["web_cpu_pct"], 0.1),
                    },
                }
            )
    rows = []
    for load in loads:
        for way in ("push", "polling"):
            r = load[way]
            rows.append(
                [load["jobs"], load["watchers"], way, r["http_requests_per_s"],
                 r["upstream_messages_per_s"], r["latency_ms"]["p50"], r["latency_ms"]["p99"],
                 f"{100 * r['seen_fraction']:.0f}%", r["web_cpu_pct"]]
            )  # fmt: skip
    print(
        table(
            "(c) push against polling every 500 ms (latency of seeing an update, ms)",
            ["jobs", "watchers", "way", "HTTP req/s", "upstream msg/s", "p50", "p99",
             "updates seen", "web CPU %"],
            rows,
        )
    )  # fmt: skip
    print(
        table(
            "(c) ratios polling / push",
            ["jobs", "upstream messages", "p50", "p99", "web CPU"],
            [[load["jobs"], *load["ratios"].values()] for load in loads],
        )
    )
    return {"seconds": seconds, "poll_s": POLL_S, "loads": loads}
