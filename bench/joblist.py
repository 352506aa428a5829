"""(h) GET /api/jobs with filters, a search and sorts, at 100,000 jobs of one user.

A web server (eventlet) on a Redis of its own; 100,000 jobs of one user are recorded straight
into Redis as the API and the workers would leave them (records, backend entries, the list
indexes): 85 % SUCCESS, 10 % FAILURE, 4.9 % REVOKED, 0.1 % queued (a user may have 100
unfinished jobs), over five processors, 30 % of them sent in batches of 3, with file names of
which 1 in 100 holds "invoice". Then each query is asked over HTTP 100 times, one at a time,
and its latency (request to parsed answer) is taken: p50, p99 and max; the time Redis spent
per ask (its command statistics, reset before each query: a command run by a script counts
in the script's time and in its own), the CPU time per ask of Redis's main thread and of the web
process (from /proc), which a busy machine changes less than the latencies. Last, 2,000 ended
jobs are deleted and the search lines' compaction is timed.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from pathlib import Path

import redis

from bench.common import Stack
from bench.common import memory_mb
from bench.common import percentiles
from bench.common import table
from tasks import joblist
from tasks import jobstore

JOBS = 100_000
PROCESSORS = ("checksum", "csv-profile", "csv-to-xlsx", "image-thumbnails", "simulate")
QUERIES = {
    "newest (no filter)": "",
    "newest, page 20 (cursor)": "CURSOR",
    "state=FAILURE": "state=FAILURE",
    "state=FAILURE,REVOKED & processor": "state=FAILURE,REVOKED&processor=csv-profile",
    "state=PENDING (queued)": "state=PENDING",
    "sort=duration": "sort=duration",
    "sort=duration & state=FAILURE": "sort=duration&state=FAILURE",
    "sort=oldest & processor": "sort=oldest&processor=simulate",
    "q=invoice (1 %)": "q=invoice",
    "q=.csv (all) & state=SUCCESS": "q=.csv&state=SUCCESS",
    "q=.csv (all)": "q=.csv",
    "q=data & sort=duration": "q=data&sort=duration",
    "batch=none (the dashboard)": "batch=none",
    "batch=none, page 20 (cursor)": "BATCH_CURSOR",
}


def fill(url: str, owner: str, count: int) -> None:
    """Record ``count`` finished and queued jobs of ``owner``, a pipeline of 1,000 at a time."""
    r = redis.Redis.from_url(url, decode_responses=True)
    rng = random.Random(7)
    start = time.time() - count
    for base in range(0, count, 1000):
        with r.pipeline(transaction=False) as pipe:
            for n in range(base, min(count, base + 1000)):
                job_id = str(uuid.uuid4())
                created = start + n
                processor = PROCESSORS[n % len(PROCESSORS)]
                name = f"{'invoice' if n % 100 == 0 else 'data'}-{n}.csv"
                roll = rng.random()
                state = (
                    "SUCCESS"
                    if roll < 0.85
                    else "FAILURE"
                    if roll < 0.95
                    else "REVOKED"
                    if roll < 0.999
                    else None
                )
                record = {
                    "id": job_id,
                    "owner": owner,
                    "filename": name,
                    "size": 1000,
                    "processor": processor,
                    "options": "{}",
                    "created_at": jobstore.now_iso(created),
                }
                duration = rng.uniform(0.1, 600)
                batch = None
                if n % 10 < 3:  # 30 % of the jobs were sent in batches of 3
                    batch = f"batch-{n // 10}"
                    record["batch"] = batch
                if state:
                    record["started_at"] = jobstore.now_iso(created + 0.01)
                pipe.hset(jobstore.JOB_KEY.format(job_id), mapping=record)
                pipe.zadd(jobstore.USER_KEY.format(owner), {job_id: created})
                joblist.index_new(pipe, owner, job_id, created, processor, name, batch)
                if state:
                    meta = {
                        "status": state,
                        "result": None,
                        "date_done": jobstore.now_iso(created + 0.01 + duration),
                        "task_id": job_id,
                    }
                    pipe.set(jobstore.META_KEY.format(job_id), json.dumps(meta))
                    joblist.index_ended(
                        pipe, owner, job_id, created, processor, state, duration, name, batch
                    )
            pipe.execute()
    r.set(joblist.key(owner, joblist.SEEDED), "1")


def redis_ms(r: redis.Redis) -> float:
    """Return the milliseconds Redis spent in commands since its stats were last reset."""
    stats = r.info("commandstats")
    return sum(v["usec"] for v in stats.values()) / 1000


def cpu_ms(pid: int) -> float:
    """Return the CPU time (user and system) a process has used so far, in milliseconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def thread_cpu_ms(pid: int) -> float:
    """Return the CPU time a process's main thread has used so far, in milliseconds, to the
    nanosecond (/proc/<pid>/schedstat; Redis runs its commands on that thread)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6


def compaction(r: redis.Redis, owner: str, count: int) -> dict:
    """Delete ``count`` ended jobs of ``owner`` and time the compaction of the search lines."""
    names = joblist.key(owner, "names")
    before = r.strlen(names)
    ids = r.zrange(joblist.by_state(owner, "SUCCESS"), 0, count - 1)
    for job_id in ids:
        jobstore.remove(r, jobstore.get(r, job_id))
    t0 = time.perf_counter()
    dropped = joblist.compact(r, owner)
    took = (time.perf_counter() - t0) * 1000
    return {
        "deleted": len(ids),
        "dropped": dropped,
        "ms": round(took, 1),
        "mb_before": round(before / 2**20, 2),
        "mb_after": round(r.strlen(names) / 2**20, 2),
    }


def run(quick: bool = False) -> dict:
    """Time each list query at 100,000 jobs of one user; return the results."""
    count = 10_000 if quick else JOBS
    rounds = 20 if quick else 100
    with Stack(async_mode="eventlet") as stack:
        http, user = stack.user()
        started = time.monotonic()
        fill(stack.redis_url, user, count)
        fill_s = time.monotonic() - started
        r = redis.Redis.from_url(stack.redis_url, decode_responses=True)
        used_mb = r.info("memory")["used_memory"] / 2**20
        redis_pid = r.info("server")["process_id"]
        first = http.get(f"{stack.url}/api/jobs", timeout=30).json()
        assert first["total"] == count, first["total"]
        cursors = {}
        for name, query in (("CURSOR", ""), ("BATCH_CURSOR", "batch=none&")):
            cursor = http.get(f"{stack.url}/api/jobs?{query}", timeout=30).json()["next"]
            for _ in range(18):
                page = http.get(f"{stack.url}/api/jobs?{query}cursor={cursor}", timeout=30)
                cursor = page.json()["next"]
            cursors[name] = f"{query}cursor={cursor}"
        results: dict[str, dict] = {}
        for name, query in QUERIES.items():
            query = cursors.get(query, query)
            times, total = [], None
            r.config_resetstat()
            cpu, redis_cpu = cpu_ms(stack.web.pid), thread_cpu_ms(redis_pid)
            for _ in range(rounds):
                t0 = time.perf_counter()
                answer = http.get(f"{stack.url}/api/jobs?{query}", timeout=30).json()
                times.append((time.perf_counter() - t0) * 1000)
                total = answer["total"]
            results[name] = percentiles(times) | {
                "total": total,
                "query": query,
                "redis_ms": redis_ms(r) / rounds,
                "web_cpu_ms": (cpu_ms(stack.web.pid) - cpu) / rounds,
                "redis_cpu_ms": (thread_cpu_ms(redis_pid) - redis_cpu) / rounds,
            }
        slow = r.slowlog_get(128)
        web = memory_mb(stack.web.pid)
        compacted = compaction(r, user, joblist.GONE_MAX)
    rows = [
        [
            name,
            v["total"],
            round(v["p50"], 1),
            round(v["p99"], 1),
            round(v["max"], 1),
            round(v["redis_ms"], 2),
            round(v["redis_cpu_ms"], 2),
            round(v["web_cpu_ms"], 1),
        ]
        for name, v in results.items()
    ]
    print(
        table(
            f"(h) GET /api/jobs (50 a page) at {count:,} jobs of one user, {rounds} asks each",
            [
                "query",
                "total",
                "p50 ms",
                "p99 ms",
                "max ms",
                "Redis ms/ask",
                "Redis CPU ms/ask",
                "web CPU ms/ask",
            ],
            rows,
        )
    )
    worst = max((entry["duration"] for entry in slow), default=0) / 1000
    print(f"filled in {fill_s:.0f} s; Redis used {used_mb:.0f} MB; web RSS {web['rss_mb']:.0f} MB")
    print(f"slowest Redis command of the run (SLOWLOG): {worst:.1f} ms")
    print(
        f"compaction after {compacted['deleted']:,} deletes: {compacted['dropped']:,} lines "
        f"dropped in {compacted['ms']} ms, {compacted['mb_before']} -> {compacted['mb_after']} MB"
    )
    return {
        "jobs": count,
        "rounds": rounds,
        "queries": results,
        "redis_used_mb": round(used_mb, 1),
        "fill_s": round(fill_s, 1),
        "slowest_redis_ms": worst,
        "compaction": compacted,
    }
