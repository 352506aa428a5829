"""``python -m bench [NAME ...] [--quick]``: run the benchmarks, each on a stack of its own.

    .venv/bin/python -m bench                  # all of them, full length (about 15 minutes)
    .venv/bin/python -m bench latency polling  # some of them
    .venv/bin/python -m bench --quick          # short runs, to check the scripts

Each prints a table and writes bench/results/<name>.json with the machine and its load;
``python -m bench.plot`` then draws docs/benchmarks-latency.png from those results.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from bench.common import save

NAMES = {
    "latency": "(a) push latency at 1, 10, 100 jobs and fan-out",
    "throughput": "(b) most pushes/s one web process sustains, per async mode",
    "polling": "(c) push against polling every 500 ms: requests, latency, web CPU",
    "cancel": "(d) cancel latency, running and queued",
    "upload": "(e) upload throughput and web peak RSS, 100 MB and 1 GB",
    "overhead": "(f) cost of progress reports in a tight loop",
    "unwatched": "(g) web CPU for 3,000 updates/s of jobs nobody on it watches",
    "processors": "processors in a real worker: throughput and peak RSS on a 1 GB CSV",
    "joblist": "(h) GET /api/jobs with filters, search and sorts at 100,000 jobs of one user",
    "split": "one CSV profiled in parts over 1, 2 and 4 workers; overhead on 10 MB",
    "relaycost": "the relay's Redis commands per pushed update and per queue move",
}


def main() -> int:
    """Run the chosen benchmarks (all by default) and save their results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        choices=[[], *NAMES],
        metavar="NAME",
        help="one or more of: " + ", ".join(NAMES),
    )
    parser.add_argument("--quick", action="store_true", help="short runs, to check the scripts")
    args = parser.parse_args()
    for name in args.names or list(NAMES):
        print(f"\n== {name}: {NAMES[name]}", flush=True)
        started, load = time.monotonic(), list(os.getloadavg())
        results = importlib.import_module(f"bench.{name}").run(quick=args.quick)
        results |= {
            "quick": args.quick,
            "wall_s": round(time.monotonic() - started, 1),
            "loadavg_before": load,
        }
        print(f"saved {save(name, results)} ({results['wall_s']:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
