"""The relay's cache of job records: each message on a job's channel needs its record (owner,
file, options), and reading it from Redis per progress update would cost a round trip each."""

from __future__ import annotations

from collections import OrderedDict

import redis

from tasks import jobstore

# Records kept, the most recently used; a job's record is small (a few hundred bytes).
KEPT = 20000


class Records:
    """A bounded cache of job records by id, None kept for tasks that are not jobs."""

    def __init__(self) -> None:
        self.kept: OrderedDict[str, dict | None] = OrderedDict()

    def get(self, r: redis.Redis, job_id: str) -> dict | None:
        """Return a job's record, read from Redis the first time, or None for a task that is
        not a job."""
        if job_id in self.kept:
            self.kept.move_to_end(job_id)
            return self.kept[job_id]
        return self.keep(job_id, jobstore.get(r, job_id))

    def refresh(self, record: dict) -> dict:
        """Cache a record just read in place of the one kept, with the end already sent
        (``final``, which only the relay knows): the read on a subscription's confirmation and
        the messages after it then judge a repeated end by the same record."""
        kept = self.kept.get(record["id"])
        if kept and "final" in kept:
            record["final"] = kept["final"]
        return self.keep(record["id"], record)

    def keep(self, job_id: str, record: dict | None) -> dict | None:
        """Cache a job's record (None for a task that is not a job), the newest ``KEPT`` kept."""
        self.kept[job_id] = record
        self.kept.move_to_end(job_id)
        if len(self.kept) > KEPT:
            self.kept.popitem(last=False)
        return record

    def pop(self, job_id: str) -> None:
        """Forget a job's record (a deleted job)."""
        self.kept.pop(job_id, None)
