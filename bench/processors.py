"""Benchmark the streaming processors in a real Celery worker: throughput and the worker's peak RSS.

    .venv/bin/python -m bench.processors                       # 1 GB CSV: checksum, csv-profile
    .venv/bin/python -m bench.processors --size-mb 200 --cases checksum,csv-profile,csv-to-xlsx
    .venv/bin/python -m bench processors [--quick]              # the same, among the others

A stack of its own (Redis and a prefork worker of one process) runs each job as the API would
send it: the generated file is the job's upload, the task is sent by name to its queue. The
worker's pool process is the one that does the work; its peak RSS (``VmHWM``, reset through
``/proc/<pid>/clear_refs`` before each job) is what the job cost in memory. Results go to
bench/results/processors.json.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from pathlib import Path

from celery import Celery

from bench.common import Stack
from bench.common import memory_mb
from bench.common import save
from bench.common import table

RSS_LIMIT_MB = 200
BLOCK_BYTES = 1024 * 1024
BLOCKS = 32
CITIES = ["Paris", "Rome", "Oslo", "Lima", "Accra", "Hanoi", "Quito", "Perth", "Turku", "Cork"]
# name -> (task, queue, options)
CASES = {
    "checksum": ("tasks.checksum.checksum", "default", {"algorithms": ["sha256"]}),
    "csv-profile": (
        "tasks.csv_profile.csv_profile",
        "default",
        {"delimiter": "auto", "header": "auto"},
    ),
    "csv-to-xlsx": (
        "tasks.csv_to_xlsx.csv_to_xlsx",
        "heavy",
        {"delimiter": "auto", "header": "auto"},
    ),
}


def make_block(rng: random.Random, first_id: int) -> tuple[bytes, int]:
    """Return about a megabyte of CSV rows and how many rows it holds."""
    lines = []
    size = 0
    row_id = first_id
    while size < BLOCK_BYTES:
        line = (
            f"{row_id},user{rng.randrange(10**6)},{rng.choice(CITIES)},"
            f"{rng.uniform(-1000, 1000):.2f},{rng.choice(('true', 'false'))},"
            f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d},"
            f"{rng.randrange(100) if rng.random() > 0.05 else ''}\n"
        )
        lines.append(line)
        size += len(line)
        row_id += 1
    return "".join(lines).encode(), row_id - first_id


def generate(path: Path, size_mb: int) -> None:
    """Write a CSV of about ``size_mb`` megabytes, built from a pool of random blocks."""
    rng = random.Random(42)
    blocks = []
    next_id = 1
    for _ in range(BLOCKS):
        block, rows = make_block(rng, next_id)
        blocks.append(block)
        next_id += rows
    with open(path, "wb") as f:
        f.write(b"id,user,city,amount,paid,day,score\n")
        written = 0
        while written < size_mb * 1024 * 1024:
            written += f.write(rng.choice(blocks))


def pool_process(worker_pid: int) -> int:
    """Return the pid of the worker's one pool process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == worker_pid:
            return int(entry)
    raise RuntimeError("the worker has no pool process")


def run_job(stack: Stack, sender: Celery, source: Path, name: str) -> dict:
    """Run one processor on the source file in the worker; return time, speed and memory."""
    task, queue, options = CASES[name]
    job_id = str(uuid.uuid4())
    folder = stack.upload_dir / job_id
    folder.mkdir(parents=True)
    os.link(source, folder / "input")  # the same bytes, no copy
    child = pool_process(stack.worker.pid)
    Path(f"/proc/{child}/clear_refs").write_text("5")  # reset the peak to the current RSS
    before = memory_mb(child)["rss_mb"]
    started = time.perf_counter()
    result = sender.send_task(task, args=[options], task_id=job_id, queue=queue)
    value = result.get(timeout=3600)
    seconds = time.perf_counter() - started
    memory = memory_mb(child)
    size_mb = source.stat().st_size / 2**20
    return {
        "processor": name,
        "size_mb": round(size_mb, 1),
        "seconds": round(seconds, 2),
        "mb_per_s": round(size_mb / seconds, 1),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(memory["peak_rss_mb"], 1),
        "rows": value.get("rows"),
    }


def run(quick: bool = False, size_mb: int | None = None, cases: list[str] | None = None) -> dict:
    """Generate the CSV, run each processor on it in a real worker, print and return the table."""
    size_mb = size_mb or (50 if quick else 1024)
    cases = cases or ["checksum", "csv-profile"]
    with Stack(worker=1) as stack:
        source = stack.folder / "source.csv"
        started = time.perf_counter()
        generate(source, size_mb)
        print(f"generated {size_mb} MB of CSV in {time.perf_counter() - started:.1f} s")
        sender = Celery(broker=stack.redis_url, backend=stack.redis_url)
        sender.conf.update(task_serializer="json", result_serializer="json")
        results = [run_job(stack, sender, source, name) for name in cases]
    columns = ["processor", "MB", "seconds", "MB/s", "RSS before MB", "peak RSS MB"]
    rows = [
        [r["processor"], r["size_mb"], r["seconds"], r["mb_per_s"], r["rss_before_mb"]]
        + [r["peak_rss_mb"]]
        for r in results
    ]
    print(table(f"processors in a prefork worker, {size_mb} MB CSV", columns, rows))
    over = [r["processor"] for r in results if r["peak_rss_mb"] > RSS_LIMIT_MB]
    if over:
        print(f"peak RSS over {RSS_LIMIT_MB} MB: {', '.join(over)}", file=sys.stderr)
    return {"size_mb": size_mb, "rss_limit_mb": RSS_LIMIT_MB, "results": results}


def main() -> int:
    """Run from the command line and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the CSV (1024)")
    parser.add_argument(
        "--cases",
        default="checksum,csv-profile",
        help=f"comma-separated, of: {', '.join(CASES)}",
    )
    args = parser.parse_args()
    results = run(size_mb=args.size_mb, cases=args.cases.split(","))
    print(f"saved {save('processors', results)}")
    over = [r for r in results["results"] if r["peak_rss_mb"] > RSS_LIMIT_MB]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
