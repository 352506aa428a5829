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
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from celery import Celery

from bench.common import Stack
from bench.common import memory_mb
from bench.common import save
from bench.common import table
from bench.processors import generate
from bench.processors import pool_process
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
    """Profile the source once with ``options``; return time, speed, parts and peak RSS."""
    job_id = str(uuid.uuid4())
    folder = stack.upload_dir / job_id
    folder.mkdir(parents=True)
    os.link(source, folder / "input")
    for pid in pools:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    started = time.perf_counter()
    value = sender.send_task(
        TASK, args=[BASE_OPTIONS | options], task_id=job_id, queue="default"
    ).get(timeout=3600)
    seconds = time.perf_counter() - started
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
    }


def run(quick: bool = False, size_mb: int | None = None) -> dict:
    """Run the cases, print the tables and return the results."""
    size_mb = size_mb or (100 if quick else 1024)
    results, small = [], []
    with Stack(worker=1, WORKER_CONCURRENCY="1") as stack:
        source = stack.folder / "source.csv"
        generate(source, size_mb)
        little = stack.folder / "small.csv"
        generate(little, 10)
        started = time.perf_counter()
        context = csv_profile_split.prepare(source, BASE_OPTIONS)
        size = source.stat().st_size
        parts = max(1, size // (32 * 2**20))
        csv_profile_split.cuts(source, context, [size * i // parts for i in range(1, parts)])
        scan_s = time.perf_counter() - started
        sender = Celery(broker=stack.redis_url, backend=stack.redis_url)
        sender.conf.update(task_serializer="json", result_serializer="json")
        workers = [stack.worker.pid]
        pools = pool_pids(workers)
        baseline = run_job(stack, sender, source, {}, pools) | {"workers": 1, "case": "one task"}
        results.append(baseline)
        for count in (1, 2, 4):
            if count > len(workers):
                extra = start_workers(stack, count - len(workers))
                workers += [p.pid for p in extra]
                pools = pool_pids(workers)
            row = run_job(stack, sender, source, {"parallel": True}, pools)
            results.append(row | {"workers": count, "case": "split"})
        # One task again, so that a change of the machine's load shows between the two.
        again = run_job(stack, sender, source, {}, pools)
        results.append(again | {"workers": len(workers), "case": "one task, again"})
        pools = pool_pids(workers[:1])
        for options in ({}, {"parallel": True}, {"parallel": 4}):
            small.append(run_job(stack, sender, little, options, pools) | {"workers": len(workers)})
    for row in results:
        row["speedup"] = round(baseline["seconds"] / row["seconds"], 2)
    columns = ["case", "workers", "parts", "seconds", "MB/s", "speed-up", "peak RSS MB/worker"]
    rows = [
        [r["case"], r["workers"], r["parts"], r["seconds"], r["mb_per_s"], r["speedup"]]
        + [max(r["peak_rss_mb"])]
        for r in results
    ]
    print(table(f"csv-profile of a {size_mb} MB CSV, split over workers", columns, rows))
    print(f"finding the cut points (one pass of bytes.count): {scan_s:.2f} s")
    rows = [[r["parallel"], r["parts"], r["seconds"], r["mb_per_s"]] for r in small]
    print(table("10 MB CSV, 4 workers", ["parallel", "parts", "seconds", "MB/s"], rows))
    return {"size_mb": size_mb, "scan_s": round(scan_s, 2), "results": results, "small": small}


def main() -> int:
    """Run from the command line and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the CSV (1024)")
    args = parser.parse_args()
    print(f"saved {save('split', run(size_mb=args.size_mb))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
