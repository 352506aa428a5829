"""Benchmark the streaming processors on a large generated CSV: throughput and peak memory.

    .venv/bin/python -m bench.processors               # 1 GB (1024 MB)
    .venv/bin/python -m bench.processors --size-mb 200

Each work function runs in a fresh subprocess, so its peak RSS is its own. Results are printed as
a table and written to bench/results/processors.json (one entry per size, the latest run kept).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "processors.json"
RSS_LIMIT_MB = 200
BLOCK_BYTES = 1024 * 1024
BLOCKS = 32
CITIES = ["Paris", "Rome", "Oslo", "Lima", "Accra", "Hanoi", "Quito", "Perth", "Turku", "Cork"]
# name -> (module:function, options)
CASES = {
    "checksum": ("tasks.checksum:compute", {"algorithms": ["sha256"]}),
    "csv-profile": ("tasks.csv_profile:work", {"delimiter": "auto", "header": "auto"}),
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


def child(name: str, src: Path) -> None:
    """Run one work function on ``src`` in this process and print its timing and peak RSS."""
    sys.path.insert(0, str(ROOT))
    from tasks.progress import Progress

    target, options = CASES[name]
    module, function = target.split(":")
    work = getattr(importlib.import_module(module), function)
    stores = []
    progress = Progress(store=stores.append, is_cancelled=lambda: False, interval=0.1)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = work(src, Path(out), options, progress)
        seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    summary = {"rows": result.get("rows"), "digests": result.get("digests")}
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_kb / 1024,
                "stores": len(stores),
                "summary": summary,
            }
        )
    )


def run_case(name: str, src: Path) -> dict:
    """Run one processor in a fresh interpreter and return its measurements."""
    command = [sys.executable, "-m", "bench.processors", "--child", name, str(src)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    size_mb = src.stat().st_size / (1024 * 1024)
    measured |= {"processor": name, "mb_per_s": size_mb / measured["seconds"]}
    return measured


def save(entry: dict) -> None:
    """Keep the run in the results file, replacing an earlier run of the same size."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    runs = [r for r in runs if r.get("size_mb") != entry["size_mb"]] + [entry]
    RESULTS.write_text(json.dumps(sorted(runs, key=lambda r: r["size_mb"]), indent=2) + "\n")


def main() -> int:
    """Generate the CSV, run every case, print the table, save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the CSV (1024)")
    parser.add_argument("--child", nargs=2, metavar=("PROCESSOR", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="taskboard-bench-") as tmp:
        src = Path(tmp) / "input"
        started = time.perf_counter()
        generate(src, args.size_mb)
        print(
            f"generated {src.stat().st_size / 2**20:.0f} MB CSV in "
            f"{time.perf_counter() - started:.1f} s"
        )
        results = [run_case(name, src) for name in CASES]
    print(f"{'processor':<14}{'MB/s':>10}{'seconds':>10}{'peak RSS MB':>14}")
    for r in results:
        print(
            f"{r['processor']:<14}{r['mb_per_s']:>10.1f}{r['seconds']:>10.1f}"
            f"{r['peak_rss_mb']:>14.1f}"
        )
    save(
        {
            "size_mb": args.size_mb,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "results": results,
        }
    )
    over = [r["processor"] for r in results if r["peak_rss_mb"] > RSS_LIMIT_MB]
    if over:
        print(f"peak RSS over {RSS_LIMIT_MB} MB: {', '.join(over)}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
