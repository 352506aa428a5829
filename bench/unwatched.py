"""(g) What a web process pays for updates of jobs nobody on it watches.

A web process (eventlet) with one connected tab; a publisher stores and publishes, as Celery's
Redis backend does, 3,000 PROGRESS updates a second of 300 jobs of other users, and 10 a second
of one job of the tab's user. The web process's CPU over the run is what the unwatched
updates cost it (before per-job subscriptions every web process parsed every update: 8.5 to
14.6 % of a core at this rate); the tab must still get its own job's updates.
"""

from __future__ import annotations

import threading
import time
import uuid

import socketio

from bench.common import Stack
from bench.common import cookie_of
from bench.common import cpu_seconds
from bench.common import table
from bench.publisher import Publisher
from bench.publisher import create_jobs

OTHER_JOBS = 300
RATE_PER_JOB = 10.0


def run(quick: bool = False) -> dict:
    """Measure the web process's CPU while others' jobs report; return the results."""
    seconds = 5 if quick else 30
    with Stack(async_mode="eventlet") as stack:
        http, user = stack.user()
        others = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(OTHER_JOBS)]
        other_ids = create_jobs(stack.redis_url, others)
        (own_id,) = create_jobs(stack.redis_url, [user])
        received: list[float] = []
        lock = threading.Lock()
        tab = socketio.Client()

        @tab.on("job")
        def on_job(data):
            if data.get("id") == own_id:
                with lock:
                    received.append(time.time())

        tab.connect(stack.url, headers={"Cookie": cookie_of(http)}, transports=["websocket"])
        time.sleep(1.0)  # the relay follows the tab's user from here on
        pid = stack.web.pid
        unwatched = Publisher(stack.redis_url, other_ids, RATE_PER_JOB, seconds)
        watched = Publisher(stack.redis_url, [own_id], RATE_PER_JOB, seconds)
        cpu_before, wall_before = cpu_seconds(pid), time.time()
        sent = unwatched.wait()
        own = watched.wait()
        cpu, wall = cpu_seconds(pid) - cpu_before, time.time() - wall_before
        time.sleep(0.5)
        tab.disconnect()
    rate = sent["sent"] / (sent["end"] - sent["start"])
    result = {
        "seconds": seconds,
        "unwatched_updates_per_s": round(rate),
        "web_cpu_pct": round(100 * cpu / wall, 2),
        "own_updates_sent": own["sent"],
        "own_updates_received": len(received),
    }
    print(
        table(
            "(g) a web process and updates of jobs nobody on it watches",
            ["unwatched updates/s", "web CPU % of a core", "own job: sent", "received"],
            [
                [
                    result["unwatched_updates_per_s"],
                    result["web_cpu_pct"],
                    result["own_updates_sent"],
                    result["own_updates_received"],
                ]
            ],
        )
    )
    return result
