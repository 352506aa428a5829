"""What the relay knows of queued jobs' places (:mod:`tasks.queueline`): whether a queue moved
since the places were last read, and the place last pushed of each job it follows, so that it
reads them at most every ``MOVED_EVERY_S`` however many moves came, and pushes only changes."""

from __future__ import annotations

import time

import redis

from tasks import queueline

# How often, at most, the relay reads queued jobs' places after queues moved.
MOVED_EVERY_S = 0.1


class Places:
    """Queued jobs' places, as last pushed, and whether they are due to be read again."""

    def __init__(self) -> None:
        self.moved = False  # a queue moved (or jobs were followed) since the last read
        self.read_at = 0.0
        self.pushed: dict[str, int] = {}  # job id -> the place last pushed to its owner

    def due(self) -> bool:
        """Tell whether queues moved and the last read is ``MOVED_EVERY_S`` old."""
        return self.moved and time.monotonic() - self.read_at >= MOVED_EVERY_S

    def read(self, r: redis.Redis, job_ids: list[str]) -> dict[str, int]:
        """Read the jobs' places (one Redis call); return those in a line whose place is not
        the one last pushed. Jobs in no line are forgotten; the caller records in
        ``pushed`` the places it does push."""
        self.moved, self.read_at = False, time.monotonic()
        places = queueline.positions(r, job_ids)
        changed: dict[str, int] = {}
        kept: dict[str, int] = {}
        for job_id, place in places.items():
            if place is not None and self.pushed.get(job_id) == place:
                kept[job_id] = place
            elif place is not None:
                changed[job_id] = place
        self.pushed = kept
        return changed
