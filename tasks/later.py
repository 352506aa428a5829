"""Jobs that run later (``run_at``), and the sender that starts them, and schedules' runs, when
they are due.

A job with ``run_at`` is recorded at once (its snapshot says SCHEDULED) and its id is put in the
sorted set :data:`DUE_KEY`, scored by its time. No Celery message exists until it is due: with
the Redis broker an ``eta`` message is held by a worker and given to another after the visibility
timeout, so a time days ahead, or a restart, would run it late or twice. Redis keeps the set
(append-only), so it survives restarts of every part.

Every worker process runs one :class:`Sender` thread (started when the worker is ready). About
every :data:`POLL_S` seconds it claims what is due with one Lua script, atomic in Redis: the ids
leave the due set for :data:`CLAIMED_KEY`, scored by when the claim lapses. Whatever number of
workers run a sender, each due job is claimed by one of them. A sender that dies holding a claim
(between claim and send) leaves it to lapse: after :data:`LEASE_S` the job is due again, and the
next claim sends it unless its first send got through (its backend entry exists by then).

A batch run later sits in the same set as ``batch:<id>`` (:data:`tasks.batches.DUE_MEMBER`);
its jobs are recorded with the batch's ``run_at`` but are not in the set themselves. When it is
due, its jobs not cancelled meanwhile are sent together as one Celery group, as a batch sent at
once is.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import redis
from celery.signals import worker_ready
from celery.signals import worker_shutdown

from tasks import batches
from tasks import jobstore
from tasks import registry
from tasks import settings

log = logging.getLogger(__name__)

DUE_KEY = "taskboard:due"
CLAIMED_KEY = "taskboard:due:claimed"
# How long a sender may hold a claim before another sender takes the job over.
LEASE_S = 30.0
# How often each sender looks for due work: well within the promised second.
POLL_S = 0.2
# The most jobs (or schedules) one claim takes; the rest wait for the next round.
BATCH = 100

# Take back lapsed claims, then move what is due now into the claimed set; return its ids.
CLAIM_SCRIPT = """
local now = tonumber(ARGV[1])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], now, id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
end
return due
"""


def put(r: redis.Redis, job_id: str, when: float) -> None:
    """Keep a recorded job in the due set until ``when`` (Unix time)."""
    r.zadd(DUE_KEY, {job_id: when})


def drop(r: redis.Redis, job_id: str) -> None:
    """Take a job out of the due set (cancelled or deleted before it ran)."""
    with r.pipeline() as pipe:
        pipe.zrem(DUE_KEY, job_id)
        pipe.zrem(CLAIMED_KEY, job_id)
        pipe.execute()


def claim(r: redis.Redis, now: float, keys: tuple[str, str] = (DUE_KEY, CLAIMED_KEY)) -> list:
    """Claim the members of a due set whose time has come (at most :data:`BATCH`); return them."""
    return r.eval(CLAIM_SCRIPT, 2, *keys, now, LEASE_S, BATCH)


def first_task(record: dict) -> Any:
    """Return the Celery task a job starts with: the download of a URL import, else its
    processor's."""
    if record.get("url"):
        from tasks import imports

        return imports.fetch
    processor = registry.get(record.get("processor", ""))
    if processor is None:
        raise LookupError(f"The processor {record.get('processor')!r} is not installed")
    return processor.task


def start(r: redis.Redis, record: dict) -> None:
    """Send a recorded job's first task now, then store it as queued (:func:`mark_queued`)."""
    job_id = record["id"]
    options = json.loads(record.get("options") or "{}")
    first_task(record).apply_async(args=[options], task_id=job_id)
    mark_queued(r, job_id)


def mark_queued(r: redis.Redis, job_id: str) -> None:
    """Store a job just sent as queued (PENDING) unless a worker has stored a later state
    already; the store is published, so tabs see it leave SCHEDULED."""
    meta = {
        "status": jobstore.PENDING,
        "result": None,
        "traceback": None,
        "children": [],
        "date_done": None,
        "task_id": job_id,
    }
    raw = json.dumps(meta)
    key = jobstore.META_KEY.format(job_id)
    if r.set(key, raw, nx=True, ex=settings.RESULT_EXPIRES_S):
        r.publish(key, raw)


def send_due_jobs(r: redis.Redis, now: float | None = None) -> int:
    """Send every job whose time has come and that nobody cancelled; return how many."""
    sent = 0
    for job_id in claim(r, time.time() if now is None else now):
        try:
            if send_claimed(r, job_id):
                sent += 1
        except Exception:  # the broker unreachable: the claim lapses and the job is tried again
            log.exception("job %s could not be sent; it will be tried again", job_id)
    return sent


def send_claimed(r: redis.Redis, job_id: str) -> bool:
    """Send one claimed job unless it is gone, cancelled or sent already; release its claim.
    A claimed batch (``batch:<id>``) sends its waiting jobs as one group."""
    if job_id.startswith(batches.DUE_MEMBER.format("")):
        sent = send_batch(r, job_id.removeprefix(batches.DUE_MEMBER.format("")))
        r.zrem(CLAIMED_KEY, job_id)
        return sent
    found = jobstore.get_with_meta(r, [job_id])
    sent = False
    if found and found[0][1] is None and not jobstore.cancel_requested(r, job_id):
        record = found[0][0]
        late = time.time() - (jobstore.timestamp(record.get("run_at")) or time.time())
        try:
            start(r, record)
        except LookupError as exc:  # its processor was removed meanwhile: it can never run
            from celery import current_app

            current_app.backend.mark_as_failure(job_id, registry.ProcessorError(f"{exc}."))
            r.zrem(CLAIMED_KEY, job_id)
            return False
        log.info(
            "job %s sent at its time (%.3f s after it)",
            job_id,
            late,
            extra={"job_id": job_id, "event": "job.sent_later"},
        )
        sent = True
    r.zrem(CLAIMED_KEY, job_id)
    return sent


def send_batch(r: redis.Redis, batch_id: str) -> bool:
    """Send the jobs of a batch run later that are neither cancelled nor sent as one group,
    and store them as queued; return whether any was sent. A batch whose processor was removed
    meanwhile has its jobs marked FAILURE."""
    record = batches.get(r, batch_id)
    if record is None or record.get("cancelled"):
        return False
    waiting = [
        rec["id"]
        for rec, meta in jobstore.get_with_meta(r, batches.job_ids(record))
        if meta is None and not jobstore.cancel_requested(r, rec["id"])
    ]
    if not waiting:
        return False
    processor = registry.get(record.get("processor", ""))
    if processor is None:
        from celery import current_app

        from tasks import notify

        error = registry.ProcessorError(f"The processor {record.get('processor')!r} is gone.")
        for job_id in waiting:
            current_app.backend.mark_as_failure(job_id, error)
            notify.job_ended(r, job_id)
        return False
    batches.send_group(processor, json.loads(record.get("options") or "{}"), waiting)
    for job_id in waiting:
        mark_queued(r, job_id)
    log.info(
        "batch %s sent at its time: %d jobs",
        batch_id,
        len(waiting),
        extra={"batch_id": batch_id, "event": "batch.sent_later"},
    )
    return True


class Sender(threading.Thread):
    """A thread that sends due jobs and runs due schedules until stopped."""

    def __init__(self, interval: float = POLL_S) -> None:
        super().__init__(name="taskboard-sender", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Look for due work every ``interval`` seconds; survive Redis going away."""
        from tasks import schedules

        r = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
        while not self.stopped.wait(self.interval):
            try:
                send_due_jobs(r)
                schedules.run_due(r)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("the sender cannot reach Redis: %s", exc)
                self.stopped.wait(1.0)
            except Exception:
                log.exception("the sender failed a round; it goes on")

    def stop(self) -> None:
        """Ask the thread to end after its round."""
        self.stopped.set()


_sender: Sender | None = None


@worker_ready.connect
def start_sender(**kwargs: Any) -> None:
    """Start this worker's sender thread."""
    global _sender
    if _sender is None:
        _sender = Sender()
        _sender.start()


@worker_shutdown.connect
def stop_sender(**kwargs: Any) -> None:
    """Stop this worker's sender thread."""
    if _sender is not None:
        _sender.stop()
