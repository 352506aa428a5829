"""Benchmark one CSV profiled in parts over 1, 2 and 4 workers of one process each.

    .venv/bin/python -m bench.split                  # 1 GB CSV, and the 10 MB overhead case
    .venv/bin/python -m bench.split --size-mb 200
    .venv/bin/python -m bench split [--quick]        # the same, among the others

A stack of its own (Redis, the web server, one worker of one prefork process) and, for 2 and 4
workers, more workers of one process each (separate ``celery worker`` commands, as separate
machines would run them). Each job is sent as the API sends it (the file linked in as the job's
upload, the task sent by name); ``"parallel": true`` cuts a part per 32 MiB. Each worker's pool
process has its peak RSS (``VmHWM``) reset before each job and read after. The small case: a
10 MB file with ``"parallel": true`` (not split) and with 4 parts forced, against one task. The
one task runs again at the end: the machine's load changing during the run shows between the
two. Results go to bench/results/split.json.

CPU seconds, since a shared machine's wall clock measures its load: each worker's pool process
CPU time (``/proc/<pid>/stat``) before and after each job, and each step's own CPU time as the
split job stores it (the plan: encoding pass and cuts; each part; the merge). The CPU speed-up
of N workers is the one task's CPU seconds over the split job's critical path: the plan, then
the busiest worker's parts, then the merge (what the wall time is on N quiet cores); the pool
processes' CPU beyond the steps' is Celery's and Redis's overhead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from celery import Celery

from bench.common import Stack
from bench.common import cpu_seconds
from bench.common import memory_mb
from bench.common import save
from bench.common import table
from bench.processors import generate
from bench.processors import pool_process
from tasks import split
from tasks.processors import csv_profile_split
from webapp.stack import BIN

TASK = "tasks.csv_profile.csv_profile"
BASE_OPTIONS = {"delimiter": "auto", "header": "auto"}


def start_workers(stack: Stack, count: int) -> list[subprocess.Popen]:
    """Start ``count`` more workers of one process each on the stack's Redis."""
    workers = []
    for i in range(count):
        command = [str(BIN / "celery"), "-A", "tasks", "worker", "--loglevel", "WARNING"]
        command += ["-c", "1", "-n", f"extra{i}-{stack.port}@%h", "-Q", "default"]
        command += ["--without-mingle", "--without-gossip"]
        workers.append(stack.spawn(command, f"extra{i}"))
    return workers


def pool_pids(worker_pids: list[int], timeout: float = 60) -> list[int]:
    """Return the pool process of each worker once all have one."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return [pool_process(pid) for pid in worker_pids]
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run_job(stack: Stack, sender: Celery, source: Path, options: dict, pools: list[int]) -> dict:
    """Profile the source once with ``options``; return time, speed, parts, peak RSS and CPU
    seconds (per worker's pool process; per step for a split job)."""
    job_id = str(uuid.uuid4())
    folder = stack.upload_dir / job_id
    folder.mkdir(parents=True)
    os.link(source, folder / "input")
    for pid in pools:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    cpu_before = [cpu_seconds(pid) for pid in pools]
    started = time.perf_counter()
    value = sender.send_task(
        TASK, args=[BASE_OPTIONS | options], task_id=job_id, queue="default"
    ).get(timeout=3600)
    seconds = time.perf_counter() - started
    pool_cpu = [round(cpu_seconds(pid) - b, 2) for pid, b in zip(pools, cpu_before, strict=True)]
    size_mb = source.stat().st_size / 2**20
    peaks = [round(memory_mb(pid)["peak_rss_mb"], 1) for pid in pools]
    return {
        "size_mb": round(size_mb, 1),
        "parallel": options.get("parallel", False),
        "parts": (value.get("parts") or {}).get("total", 1),
        "seconds": round(seconds, 2),
        "mb_per_s": round(size_mb / seconds, 1),
        "peak_rss_mb": peaks,
        "rows": value["rows"],
        "pool_cpu_s": pool_cpu,
        "steps": steps_cpu(stack, job_id) if value.get("parts") else None,
    }


def steps_cpu(stack: Stack, job_id: str) -> dict:
    """Return a split job's CPU seconds per step, as its parts hash has them: the plan, each
    part (with its worker), the merge, and the critical path (plan + the busiest worker's
    parts + merge)."""
    r = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    fields = r.hgetall(split.PARTS_KEY.format(job_id))
    parts = sorted(
        (int(f.split(":")[1]), float(v), fields.get(f"worker:{f.split(':')[1]}", ""))
        for f, v in fields.items()
        if f.startswith("cpu_s:") and f.split(":")[1].isdigit()
    )
    per_worker: dict[str, float] = {}
    for _, cpu, worker in parts:
        per_worker[worker] = per_worker.get(worker, 0.0) + cpu
    plan, merge = float(fields.get("cpu_s:plan", 0)), float(fields.get("cpu_s:merge", 0))
    part_cpu = [cpu for _, cpu, _ in parts]
    return {
        "plan_s": round(plan, 3),
        "merge_s": round(merge, 3),
        "part_s": {
            "count": len(part_cpu),
            "min": round(min(part_cpu), 3),
            "mean": round(sum(part_cpu) / len(part_cpu), 3),
            "max": round(max(part_cpu), 3),
            "sum": round(sum(part_cpu), 2),
        },
        "per_worker_s": {w: round(c, 2) for w, c in sorted(per_worker.items())},
        "critical_path_s": round(plan + max(per_worker.values()) + merge, 2),
    }


def run(quick: bool = False, size_mb: int | None = None, counts: list[int] | None = None) -> dict:
    """Run the cases, print the tables and return the results."""
    size_mb = size_mb or (100 if quick else 1024)
    results, small = [], []
    with Stack(worker=1, WORKER_CONCURRENCY="1") as stack:
        source = stack.folder / "source.csv"
        generate(source, size_mb)
        little = stack.folder / "small.csv"
        generate(little, 10)
        # In this process: the encoding pass (which counts the quotes) and the cut scan.
        started = time.process_time()
        context = csv_profile_split.prepare(source, BASE_OPTIONS)
        prepare_s = time.process_time() - started
        size = source.stat().st_size
        parts = max(1, size // (32 * 2**20))
        started = time.process_time()
        csv_profile_split.cuts(source, context, [size * i // parts for i in range(1, parts)])
        scan_s = time.process_time() - started
        sender = Celery(broker=stack.redis_url, backend=stack.redis_url)
        sender.conf.update(task_serializer="json", result_serializer="json")
        workers = [stack.worker.pid]
        pools = pool_pids(workers)
        baseline = run_job(stack, sender, source, {}, pools) | {"workers": 1, "case": "one task"}
        results.append(baseline)
        for count in counts or (1, 2, 4):
            if count > len(workers):
                extra = start_workers(stack, count - len(workers))
                workers += [p.pid for p in extra]
                pools = pool_pids(workers)
            row = run_job(stack, sender, source, {"parallel": True}, pools)
            results.append(row | {"workers": count, "case": "split"})
        # One task again, so that a change of the machine's load shows between the two.
        again = run_job(stack, sender, source, {}, pools)
        results.append(again | {"workers": len(workers), "case": "one task, again"})
        for options in ({}, {"parallel": True}, {"parallel": 4}):
            small.append(run_job(stack, sender, little, options, pools) | {"workers": len(workers)})
    one_cpu = sum(baseline["pool_cpu_s"])
    for row in small:
        row["cpu_s"] = round(sum(row["pool_cpu_s"]), 2)
    for row in results:
        row["speedup"] = round(baseline["seconds"] / row["seconds"], 2)
        row["cpu_s"] = round(sum(row["pool_cpu_s"]), 2)
        path = row["steps"]["critical_path_s"] if row["steps"] else row["cpu_s"]
        row["cpu_speedup"] = round(one_cpu / path, 2)
    columns = ["case", "workers", "parts", "seconds", "MB/s", "speed-up", "peak RSS MB/worker"]
    columns += ["CPU s", "critical CPU s", "CPU speed-up"]
    rows = [
        [r["case"], r["workers"], r["parts"], r["seconds"], r["mb_per_s"], r["speedup"]]
        + [max(r["peak_rss_mb"]), r["cpu_s"]]
        + [r["steps"]["critical_path_s"] if r["steps"] else r["cpu_s"], r["cpu_speedup"]]
        for r in results
    ]
    print(table(f"csv-profile of a {size_mb} MB CSV, split over workers", columns, rows))
    columns = ["workers", "plan CPU s", "part CPU s min/mean/max", "parts' sum", "merge CPU s"]
    columns += ["per worker", "overhead CPU s"]
    rows = [
        [
            r["workers"],
            r["steps"]["plan_s"],
            "{min}/{mean}/{max}".format(**r["steps"]["part_s"]),
            r["steps"]["part_s"]["sum"],
            r["steps"]["merge_s"],
            " ".join(f"{c:.1f}" for c in r["steps"]["per_worker_s"].values()),
            round(
                r["cpu_s"]
                - r["steps"]["plan_s"]
                - r["steps"]["part_s"]["sum"]
                - r["steps"]["merge_s"],
                2,
            ),
        ]
        for r in results
        if r["steps"]
    ]
    print(table("CPU seconds per step of the split job", columns, rows))
    print(f"encoding pass with the quote counts: {prepare_s:.2f} CPU s; cut scan {scan_s:.3f}")
    rows = [[r["parallel"], r["parts"], r["seconds"], r["mb_per_s"], r["cpu_s"]] for r in small]
    title = "10 MB CSV, 4 workers"
    print(table(title, ["parallel", "parts", "seconds", "MB/s", "CPU s"], rows))
    return {
        "size_mb": size_mb,
        "prepare_cpu_s": round(prepare_s, 2),
        "scan_cpu_s": round(scan_s, 3),
        "results": results,
        "small": small,
    }


def main() -> int:
    """Run from the command line and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the CSV (1024)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2, 4], help="worker counts (1 2 4)"
    )
    args = parser.parse_args()
    print(f"saved {save('split', run(size_mb=args.size_mb, counts=args.workers))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
