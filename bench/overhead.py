"""(f) What progress reports cost inside a task: a tight loop of 100,000 ``advance(1)`` calls
against the same loop without them.

The task runs in a fresh interpreter on a Redis of its own (``apply()``: in process, with
Celery's real Redis backend behind ``update_state``), so the throttled stores (first, last,
one per ``PROGRESS_INTERVAL_S``) and the cancel checks are real round trips. Each loop body is
a small piece of real work; with and without reports run alternately, and the overhead is the
median of the rounds' ratios; per report, that overhead divided by the calls.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import ROOT
from bench.common import table
from webapp import processes as parts
from webapp.stack import RedisServer

CALLS = 100_000
BLOCK = bytes(range(256)) * 16  # 4 KiB
BIG_BLOCK = BLOCK * 16  # 64 KiB
ROW = b"1042,user4711,Oslo,-12.50,true,2024-03-09,77\n"
# name -> what one iteration does
BODIES = {
    "nothing": "an empty body: the bare cost of a call",
    "csv row": "split one 7-column CSV row",
    "sha256 4 KiB": "hash 4 KiB",
    "sha256 64 KiB": "hash 64 KiB (a streaming processor's read)",
}


def body_of(name: str):
    """Return the function one iteration calls."""
    if name.startswith("sha256"):
        hasher, block = hashlib.sha256(), BIG_BLOCK if "64" in name else BLOCK
        return lambda: hasher.update(block)
    if name == "csv row":
        return lambda: [c.strip() for c in ROW.decode().split(",")]
    return lambda: None


def child(rounds: int) -> None:
    """Run every body with and without reports in this process; print the timings as JSON."""
    from tasks import app
    from tasks.progress import Progress

    @app.task(bind=True)
    def tight_loop(self, body: str, report: bool) -> dict:
        step = body_of(body)
        progress = Progress(self, total=CALLS, unit="items") if report else None
        started = time.perf_counter()
        if progress is None:
            for _ in range(CALLS):
                step()
        else:
            for _ in range(CALLS):
                step()
                progress.advance(1)
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "stores": progress.stores if progress else 0}

    results = {}
    for body in BODIES:
        times: dict[bool, list[float]] = {False: [], True: []}
        stores = 0
        for _ in range(rounds):
            for report in (False, True):
                done = tight_loop.apply(args=[body, report], task_id=str(uuid.uuid4())).get()
                times[report].append(done["seconds"])
                stores = max(stores, done["stores"])
        # Each round's pair ran back to back: the median of their ratios shrugs off the
        # machine's other load better than the two fastest runs would.
        ratios = sorted(w / wo for w, wo in zip(times[True], times[False], strict=True))
        results[body] = {
            "without_s": min(times[False]),
            "with_s": min(times[True]),
            "ratio": ratios[len(ratios) // 2],
            "stores": stores,
        }
    print(json.dumps(results))


def run(quick: bool = False) -> dict:
    """Start a Redis, run the loops in a fresh interpreter, return the overheads."""
    rounds = 3 if quick else 9
    folder = Path(tempfile.mkdtemp(prefix="taskboard-bench-"))
    redis = RedisServer(folder)
    try:
        env = parts.child_env(REDIS_URL=redis.url, SECRET_KEY="bench")
        command = [sys.executable, "-m", "bench.overhead", "--child", str(rounds)]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(done.stderr[-3000:])
        measured = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        redis.stop()
    rows = []
    for body, m in measured.items():
        extra = (m["ratio"] - 1) * m["without_s"]
        rows.append(
            {
                "body": body,
                "what": BODIES[body],
                **m,
                "per_iteration_us": 1e6 * m["without_s"] / CALLS,
                "per_report_ns": 1e9 * extra / CALLS,
                "overhead_pct": 100 * (m["ratio"] - 1),
            }
        )
    print(
        table(
            f"(f) {CALLS:,} progress.advance(1) calls in a tight loop, against none",
            ["loop body", "body us", "without s", "with s", "stores", "ns/report", "overhead %"],
            [
                [r["body"], r["per_iteration_us"], r["without_s"], r["with_s"], r["stores"],
                 r["per_report_ns"], r["overhead_pct"] if r["body"] != "nothing" else None]
                for r in rows
            ],
        )
    )  # fmt: skip
    return {"calls": CALLS, "rounds": rounds, "bodies": rows}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int, metavar="ROUNDS")
    child(parser.parse_args().child)
