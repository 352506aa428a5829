"""The one snapshot shape of the contract, built from a job record and its backend entry.

The API, the relay, the ``subscribe`` acknowledgement and the page all see what :func:`build`
returns. Rates and times left come from a :class:`Tracker` that watches successive updates.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

import redis

from tasks import queueline
from tasks import registry
from tasks.jobstore import PENDING
from tasks.jobstore import RUNNING
from tasks.jobstore import SCHEDULED
from tasks.jobstore import STALLED
from tasks.jobstore import TERMINAL
from tasks.jobstore import now_iso
from tasks.jobstore import parse_time
from tasks.jobstore import state_of
from tasks.jobstore import timestamp

STATE_MESSAGES = {
    "SCHEDULED": "scheduled",
    "PENDING": "queued",
    "STARTED": "started",
    "REVOKED": "cancelled",
}
# How much a new rate sample weighs against the running average.
RATE_SMOOTHING = 0.3
FAILURE_MESSAGES = {
    "TimeLimitExceeded": "The job ran longer than the time limit and was stopped.",
    "SoftTimeLimitExceeded": "The job ran longer than the time limit and was stopped.",
    "WorkerLostError": "The worker running the job stopped (killed, or out of memory).",
    "Stalled": STALLED,
}


@dataclass
class Seen:
    """What a web process last saw of one job's progress."""

    current: float
    total: float | None
    unit: str
    message: str
    ts: float
    rate: float | None = None


class Tracker:
    """Remember the last progress of recent jobs, and their smoothed rates."""

    def __init__(self, size: int = 20000) -> None:
        self._seen: OrderedDict[str, Seen] = OrderedDict()
        self._size = size

    def observe(self, job_id: str, progress: dict) -> Seen:
        """Take a PROGRESS meta and return what is known of the job now."""
        try:
            current = float(progress.get("current") or 0)
            ts = float(progress.get("ts") or 0)
        except (TypeError, ValueError):
            current, ts = 0.0, 0.0
        total = progress.get("total")
        total = total if isinstance(total, int | float) else None
        previous = self._seen.get(job_id)
        if previous and previous.ts == ts:
            return previous
        rate = previous.rate if previous else None
        if previous and ts > previous.ts and current >= previous.current:
            sample = (current - previous.current) / (ts - previous.ts)
            rate = sample if rate is None else rate + RATE_SMOOTHING * (sample - rate)
        seen = Seen(
            current,
            total,
            str(progress.get("unit") or ""),
            str(progress.get("message") or ""),
            ts,
            rate,
        )
        self._seen[job_id] = seen
        self._seen.move_to_end(job_id)
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return seen

    def get(self, job_id: str) -> Seen | None:
        """Return the last progress seen of a job, or None."""
        return self._seen.get(job_id)

    def forget(self, job_id: str) -> None:
        """Drop what is known of a job."""
        self._seen.pop(job_id, None)


def build(record: dict, meta: dict | None, tracker: Tracker | None = None) -> dict:
    """Return the contract's snapshot of a job."""
    job_id = record["id"]
    state = state_of(meta)
    if meta is None and record.get("run_at"):
        # Not sent yet: tasks/later.py sends it at its time.
        state = SCHEDULED
    result = (meta or {}).get("result")
    tracker = tracker or Tracker()
    if state == "PROGRESS" and isinstance(result, dict):
        seen = tracker.observe(job_id, result)
    else:
        seen = _latest(tracker.get(job_id), _recorded(record))
    return {
        "id": job_id,
        "processor": record.get("processor", ""),
        "filename": record.get("filename", ""),
        "size": int(record.get("size") or 0),
        "state": state,
        "progress": _progress(state, seen, record),
        "result": result if state == "SUCCESS" and isinstance(result, dict) else None,
        "error": _error(state, result),
        "created_at": record.get("created_at"),
        **_times(record, meta, state, seen),
        # A job sent as part of a batch names it.
        **({"batch": record["batch"]} if record.get("batch") else {}),
        # A job split over several workers counts its parts.
        **_parts(state, result),
        **_attempts(record, meta, state),
        "notify": notify_of(record),
        # Where a job came from, for jobs run later, URL imports and schedules' runs.
        **{k: record[k] for k in ("run_at", "url", "schedule") if record.get(k)},
        # A job whose delete is held for an Undo (webapp/live/deletes.py): when it goes.
        **({"delete_at": record["delete_at"]} if record.get("delete_at") else {}),
    }


def add_queue_positions(r: redis.Redis, snapshots: list[dict]) -> None:
    """Fill in ``queue_position`` of the queued (PENDING) jobs among the snapshots: how many
    jobs wait ahead of each in its queue (:mod:`tasks.queueline`); one Redis round trip, none
    when no job is queued. A job sent but in no line (its place was not kept) stays None."""
    pending = [s for s in snapshots if s["state"] == PENDING]
    if pending:
        places = queueline.positions(r, [s["id"] for s in pending])
        for snapshot in pending:
            snapshot["queue_position"] = places.get(snapshot["id"])


def _attempts(record: dict, meta: dict | None, state: str) -> dict:
    """Return the job's attempt (1 for the first run) of how many it may take, when a retrying
    job runs again, and the job it re-runs; its place in the queue is filled in by
    :func:`add_queue_positions` (None here)."""
    retries = (meta or {}).get("retries")
    attempt = 1 + (retries if isinstance(retries, int) and retries >= 0 else 0)
    if state == "RETRY":
        attempt += 1  # the attempt that is coming
    return {
        "attempt": attempt,
        # Once, and again after each passing error (tasks.registry retries them).
        "max_attempts": registry.MAX_RETRIES + 1,
        "retry_at": record.get("retry_at") if state == "RETRY" else None,
        "queue_position": None,
        "retry_of": record.get("retry_of"),
        "options": _options(record),
    }


def _parts(state: str, result: object) -> dict:
    """Return ``{"parts": {total, done, running}}`` of a job split in parts, else nothing."""
    parts = result.get("parts") if isinstance(result, dict) else None
    if state not in ("PROGRESS", "SUCCESS") or not isinstance(parts, dict):
        return {}
    return {"parts": {k: int(parts.get(k) or 0) for k in ("total", "done", "running")}}


def notify_of(record: dict) -> list:
    """Return who the job's end is told to: ``"email"`` and ``{"webhook": url}`` items."""
    try:
        targets = json.loads(record.get("notify") or "[]")
    except ValueError:
        return []
    return targets if isinstance(targets, list) else []


def _options(record: dict) -> dict:
    """Return the options the job runs with, as the processor took them."""
    try:
        options = json.loads(record.get("options") or "{}")
    except ValueError:
        return {}
    return options if isinstance(options, dict) else {}


def _times(record: dict, meta: dict | None, state: str, seen: Seen | None) -> dict:
    """Return when the job started and finished; a start read on another clock than the end
    never comes after it."""
    started = record.get("started_at") or _started(state, seen)
    finished = (meta or {}).get("date_done") if state in TERMINAL else None
    try:
        if started and finished and parse_time(started) > parse_time(finished):
            started = finished
    except ValueError:
        pass
    return {"started_at": started, "finished_at": finished}


def _recorded(record: dict) -> Seen | None:
    """Return the last progress kept in the job's record when it finished, or None."""
    try:
        return Seen(**json.loads(record["progress"])) if record.get("progress") else None
    except (TypeError, ValueError):
        return None


def _latest(seen: Seen | None, recorded: Seen | None) -> Seen | None:
    """Return the later of what this process saw of a job and what its record keeps (the
    worker's last report, which a process that polled the job may have missed)."""
    if seen is None or (recorded is not None and recorded.ts > seen.ts):
        return recorded
    return seen


def _started(state: str, seen: Seen | None) -> str | None:
    """Return when a running job started, as far as its progress tells."""
    return now_iso(seen.ts) if state in RUNNING and seen and seen.ts else None


def _unit(record: dict) -> str:
    """Return the unit a job's processor counts its progress in."""
    processor = registry.get(record.get("processor", ""))
    return processor.unit if processor else ""


def _progress(state: str, seen: Seen | None, record: dict) -> dict:
    """Return the snapshot's progress part; before any report, ``ts`` is the creation time."""
    current = seen.current if seen else 0
    total = seen.total if seen else None
    if state == "SUCCESS" and total is None:
        total = current
    percent = None
    if state == "SUCCESS":
        percent = 100.0
    elif total:
        percent = round(min(100.0, 100.0 * current / total), 2)
    elif total == 0:
        percent = 100.0
    rate = seen.rate if seen and state in RUNNING else None
    eta = None
    if rate and total is not None and state in RUNNING:
        eta = round(max(0.0, (total - current) / rate), 1)
    message = STATE_MESSAGES.get(state) or (seen.message if seen else "")
    if state == "SUCCESS":
        message = "done"
    return {
        "current": current,
        "total": total,
        "unit": seen.unit if seen and seen.unit else _unit(record),
        "percent": percent,
        "message": message,
        "rate": round(rate, 3) if rate is not None else None,
        "eta_s": eta,
        "ts": seen.ts if seen else timestamp(record.get("created_at")) or 0.0,
    }


def _error(state: str, result: object) -> str | None:
    """Return a message for a person about a failed or retrying job; never a traceback."""
    if state not in ("FAILURE", "RETRY") or not isinstance(result, dict):
        return None
    kind = str(result.get("exc_type") or "")
    text = exception_text(result.get("exc_message"))
    if kind == "ProcessorError" and text:
        message = text
    else:
        message = FAILURE_MESSAGES.get(kind, f"The job failed unexpectedly ({kind or 'unknown'}).")
    return f"Retrying after a passing error: {text or kind}" if state == "RETRY" else message


def exception_text(args: object) -> str:
    """Return the message of an exception from its arguments as the backend stores them: an
    OSError's ``(errno, strerror[, filename])`` gives its strerror alone (no number, no path),
    any other its arguments' words."""
    if not isinstance(args, list | tuple):
        return str(args or "")
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return args[1]
    return " ".join(str(a) for a in args)
