"""A worker never starts a cancelled job, even one whose revoke it never heard.

Celery keeps revocations in the worker's memory only (there is no state db here), so a worker
that restarts, or one that was not running when the cancel was broadcast, would take a cancelled
job's message and store STARTED over its REVOKED. Before a job's message goes to the pool, the
worker's main process also reads the job's cancel flag and its stored state in Redis: a job that
was cancelled is dropped the way Celery drops a revoked one (REVOKED kept, message acknowledged,
``task_revoked`` sent), and never reports STARTED. A second message of a job the worker is
already running (one given back by the broker and one sent again after a restart) is dropped
without touching the job's state.
"""

from __future__ import annotations

import logging

import redis
from celery import states
from celery.worker.request import Request
from celery.worker.state import active_requests
from celery.worker.state import task_ready

from tasks import jobstore

log = logging.getLogger(__name__)


def cancelled(r: redis.Redis, job_id: str) -> bool:
    """Tell whether a job was cancelled: its flag is set, or its stored state is REVOKED."""
    with r.pipeline(transaction=False) as pipe:
        pipe.exists(jobstore.CANCEL_KEY.format(job_id))
        pipe.get(jobstore.META_KEY.format(job_id))
        flag, raw = pipe.execute()
    return bool(flag) or jobstore.state_of(jobstore.parse_meta(raw)) == states.REVOKED


class CancelAwareRequest(Request):
    """Celery's request of a job, which also counts a cancel recorded in Redis as a revoke."""

    def revoked(self) -> bool:
        """Tell whether the job must not run, dropping it (REVOKED, acknowledged) if so; a
        second message of a job this worker is running is dropped without a state."""
        if super().revoked():
            return True
        if self.running_here():
            log.warning(
                "job %s is already running in this worker: its second message dropped",
                self.id,
                extra={"job_id": self.id, "event": "job.duplicate"},
            )
            task_ready(self)
            self.acknowledge()
            self._already_revoked = True
            return True
        try:
            refused = cancelled(jobstore.client(), self.id)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Redis away: the job's own first progress report reads the flag again.
            log.warning("cancel flag of job %s unread, Redis unreachable: %s", self.id, exc)
            return False
        if not refused:
            return False
        log.info(
            "job %s was cancelled before it ran: dropped",
            self.id,
            extra={"job_id": self.id, "event": "job.refused", "state": states.REVOKED},
        )
        self._announce_revoked("revoked", False, None, False)
        return True

    def running_here(self) -> bool:
        """Tell whether another message of the same job's same run is running in this worker:
        after a stop under a job, its message comes back from the broker and the restarted
        worker also sends it again (tasks.maintenance.take_back_interrupted). The same id alone
        is not enough: a URL import's download queues its processor under the job's id before
        it ends, and a retry is sent while its failed run is still active (its ``retries`` is
        one more)."""
        return any(
            other is not self
            and other.id == self.id
            and other.name == self.name
            and other.request_dict.get("retries") == self.request_dict.get("retries")
            for other in active_requests
        )
