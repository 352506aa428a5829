"""The one progress API for task authors: throttled ``update_state`` and the cancel check.

    progress = Progress(self, total=size, unit="bytes")
    for chunk in chunks:
        ...
        progress.advance(len(chunk), message="hashing")

Every store is a PROGRESS state ``{current, total, unit, message, ts}`` that Celery's Redis
backend also publishes, which is how the dashboard hears of it. Stores are throttled to one per
``interval`` seconds, but the first and the last (``current == total``) always go out. Each
store first looks at the job's cancel flag and raises :class:`Cancelled` when it is set.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis

from tasks import joblog
from tasks import jobstore
from tasks import settings

log = logging.getLogger(__name__)

# Sets one field of a job's record only while the record exists: a job deleted meanwhile
# stays gone rather than coming back as a record of one field.
KEEP_LUA = (
    "if redis.call('exists', KEYS[1]) == 1 then "
    "return redis.call('hset', KEYS[1], ARGV[1], ARGV[2]) end return 0"
)


class Cancelled(Exception):
    """The job's cancel flag was set: stop now, the caller cleans up."""


class Progress:
    """Report a job's progress at a bounded rate, and stop it when it is cancelled."""

    def __init__(
        self,
        task: Any = None,
        total: float | None = None,
        unit: str = "items",
        *,
        interval: float | None = None,
        store: Callable[[dict], None] | None = None,
        is_cancelled: Callable[[], bool] | None = None,
        write_log: Callable[[str, str], object] | None = None,
    ) -> None:
        self.total = total
        self.unit = unit
        self.current: float = 0
        self.message = ""
        self.stores = 0
        # The name the job's file was uploaded under, where the registry knows it.
        self.source_name: str | None = None
        # Which run of the job this is: 1, then 2 after the first automatic retry, and so on.
        self.attempt = 1 + ((getattr(task.request, "retries", 0) or 0) if task is not None else 0)
        self._interval = settings.PROGRESS_INTERVAL_S if interval is None else interval
        # When the next store is due by time (the first one at once).
        self._due = float("-inf")
        # The work done as of the last store (None before any).
        self._stored: float | None = None
        if task is not None:
            job_id = task.request.id
            client = getattr(task.backend, "client", None)
            store = store or (lambda meta: task.update_state(state="PROGRESS", meta=meta))
            if is_cancelled is None and client is not None:
                is_cancelled = lambda: jobstore.cancel_requested(client, job_id)  # noqa: E731
            if write_log is None and client is not None:
                write_log = lambda message, level: joblog.append(  # noqa: E731
                    jobstore.client(), job_id, message, level
                )
        self._store = store
        self._is_cancelled = is_cancelled
        self._write_log = write_log
        # What was logged, kept where there is no job to log to (tests, plain calls).
        self.lines: list[tuple[str, str]] = []

    @property
    def total(self) -> float | None:
        """The work there is in all, or None while it is unknown."""
        return self._total

    @total.setter
    def total(self, value: float | None) -> None:
        self._total = value
        # Reaching the total is the last update, which is always stored.
        self._end = float("inf") if value is None else value

    def advance(self, n: float = 1, message: str | None = None) -> None:
        """Add ``n`` units of work done and report it if it is time to."""
        # Called in task authors' inner loops: the usual call only reads the clock and compares.
        self.current += n
        if message is not None:
            self.message = message
        now = time.monotonic()
        if now >= self._due or self.current >= self._end:
            self._report(now)

    def update(self, current: float, message: str | None = None, *, force: bool = False) -> None:
        """Set the work done to ``current`` and report it if it is time to."""
        self.current = current
        if message is not None:
            self.message = message
        now = time.monotonic()
        if force or now >= self._due or current >= self._end:
            self._report(now)

    def flush(self) -> None:
        """Report the work done since the last store, if it is time to; with none, only check
        the cancel flag. For a task waiting on a slow source between its ``advance`` calls."""
        if self.current != self._stored:
            self.update(self.current)
        else:
            self.check_cancelled()

    def _report(self, now: float) -> None:
        """Check the cancel flag, then store the progress."""
        self._due = now + self._interval
        try:
            self.check_cancelled()
            if self._store is not None:
                self._store(self.meta())
                self.stores += 1
            self._stored = self.current
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Redis restarting: the work goes on, and the next report tries again.
            log.warning("progress report skipped, Redis unreachable: %s", exc)

    def log(self, message: str, level: str = "info") -> None:
        """Add a line for a person to the job's log (level "info", "warning" or "error"):
        phases, rows skipped, what was retried and why. Shown live on the job's page."""
        self.lines.append((level, message))
        if self._write_log is not None:
            self._write_log(message, level)

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the job's cancel flag is set."""
        if self._is_cancelled is not None and self._is_cancelled():
            raise Cancelled()

    def meta(self) -> dict:
        """Return the PROGRESS meta as it is stored."""
        return {
            "current": self.current,
            "total": self.total,
            "unit": self.unit,
            "message": self.message,
            "ts": time.time(),
        }


def keep_last(client: redis.Redis, job_id: str, meta: dict) -> None:
    """Keep a job's last progress (a PROGRESS meta) in its record, where the snapshot of its
    end reads it: the backend's final state replaces its PROGRESS one, so a web process that
    did not see that last report live would not know it (never raises)."""
    seen = {key: meta.get(key) for key in ("current", "total", "unit", "message", "ts")}
    try:
        client.eval(
            KEEP_LUA,
            1,
            jobstore.JOB_KEY.format(job_id),
            "progress",
            json.dumps(seen | {"rate": None}),
        )
    except (redis.RedisError, OSError) as exc:
        log.warning("job %s: its last progress was not kept: %s", job_id, exc)
