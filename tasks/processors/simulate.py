"""A job that only waits and reports, step by step: for demos and load tests."""

from __future__ import annotations

import errno
import time
from pathlib import Path

from tasks import registry
from tasks.formats.amounts import counted
from tasks.progress import Progress


@registry.processor(
    "simulate",
    title="Simulate work",
    unit="steps",
    options={
        "steps": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100000,
            "default": 20,
            "description": "How many steps to report.",
        },
        "interval_ms": {
            "type": "integer",
            "minimum": 0,
            "maximum": 60000,
            "default": 100,
            "description": "How long each step takes, in milliseconds.",
        },
        "fail_attempts": {
            "type": "integer",
            "minimum": 0,
            "maximum": 10,
            "default": 0,
            "description": "Fail this many first attempts halfway with a passing I/O error "
            "(EIO), which is retried automatically: to watch retries.",
        },
    },
)
def wait_steps(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Sleep ``steps`` times ``interval_ms``, reporting after each step; the first
    ``fail_attempts`` attempts stop halfway with EIO (``OSError``), which the registry retries."""
    steps, interval = options["steps"], options["interval_ms"] / 1000
    progress.total = steps
    progress.update(0, message="starting")
    progress.log(f"waiting {counted(steps, 'step')} of {options['interval_ms']} ms")
    every = max(1, steps // 10)
    started = time.monotonic()
    for step in range(1, steps + 1):
        # Sleep to a deadline so the job's length does not drift with reporting costs.
        time.sleep(max(0.0, started + step * interval - time.monotonic()))
        progress.advance(1, message=f"step {step} of {steps}")
        if step == (steps + 1) // 2 and progress.attempt <= options.get("fail_attempts", 0):
            raise OSError(errno.EIO, "a simulated passing I/O error")
        if step % every == 0:
            progress.log(f"step {step} of {steps} done")
    return {"steps": steps, "seconds": round(time.monotonic() - started, 3)}
