"""Beat's workers check (lost workers and the stall sweeper), and a worker's start-up check.

A job whose worker died can stay STARTED or PROGRESS for ever: with the Redis broker its message
only comes back after the visibility timeout. A worker that restarts sends again at once the jobs
it was running (:func:`take_back_interrupted`). For workers that never come back, the sweeper
finds running jobs whose progress has not moved for ``STALL_AFTER_S`` and that no live worker
holds, sends them again (up to ``STALL_REDELIVERIES`` times) and otherwise marks them FAILURE
with a message for a person. Quicker, :func:`recover_lost` sends again the running jobs of a worker
that stopped answering for ``WORKER_LOST_S`` (see ``tasks/worker/liveness.py``).

Beat sends one periodic task, :func:`check_workers`, that does the lost-worker check and, once
``STALL_SWEEP_S`` has passed since the last, the stall sweep. Two periodic tasks, each expiring
when the next is due, starved each other on a worker with one free process: the lost-worker check
waits a whole second for the replies of a dead worker, so the sweep sent beside it had always
expired by the time the process was free, and a lost part was never found. ``sweep_stalled`` and
``recover_lost`` remain tasks of their own, to send by hand.

A job split in parts (``tasks/split.py``) is handled part by part: while its parts run, the job
itself names no worker, and each part that started has its own worker and last report. All
three (the restart, the lost-worker check, the sweeper) send a lost part again alone, under its
own id and chord, and never the job: the parts already done are kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import redis
from celery import current_app
from celery import shared_task
from celery.signals import worker_ready

from tasks import joblog
from tasks import jobstore
from tasks import notify
from tasks import partruns
from tasks import settings
from tasks.worker import liveness
from tasks.worker import status
from tasks.worker import unacked

log = logging.getLogger(__name__)
# Set when the stall sweep runs, expiring when the next is due.
SWEEP_DUE = "taskboard:sweep-due"


def heartbeat(meta: dict, record: dict) -> float | None:
    """Return when a running job last showed life, as Unix time, or None if unknown."""
    beats = [float(record.get("redelivered_at") or 0)]
    result = meta.get("result")
    if meta.get("status") == "PROGRESS" and isinstance(result, dict) and result.get("ts"):
        beats.append(float(result["ts"]))
    elif started := record.get("started_at") or record.get("created_at"):
        beats.append(datetime.fromisoformat(started).timestamp())
    return max(beats) or None


def held_by_workers() -> set[str] | None:
    """Return the ids of the jobs live workers are running or hold (a retry waiting out its
    countdown included), or None if none answered."""
    answers = ask_workers()
    return set().union(*answers.values()) if answers else None


def ask_workers(timeout: float = 2.0) -> dict[str, set[str]]:
    """Return the workers that answered, each with the ids of the jobs it holds.

    One broadcast (``tasks.worker.status``): with the Redis broker, a second one sent right
    after the first can lose its replies, and a job missed here would be sent twice. It ends
    as soon as every worker seen within ``WORKER_LOST_S`` answered (the check holds a worker
    process for milliseconds, not ``timeout``); a worker not seen lately holds no running job:
    every task's start counts as an answer (``liveness.note_start``).
    """
    expected = liveness.live_workers(jobstore.client(), time.time())
    replies = status.ask(timeout, expected)
    return {
        name: set(answer.get("held", []) if isinstance(answer, dict) else [])
        for reply in replies
        for name, answer in reply.items()
    }


def running_jobs(r: redis.Redis) -> Iterator[tuple[dict, dict]]:
    """Yield the record and backend entry of every job that is running, as far as Redis says
    (read from the index of unfinished jobs: the cost follows the work in hand, not history)."""
    for record, meta in jobstore.open_jobs(r):
        if meta and meta.get("status") in jobstore.RUNNING:
            yield record, meta


def running_parts(r: redis.Redis) -> Iterator[partruns.PartRun]:
    """Yield the started, unfinished parts of every running job split in parts."""
    for record, meta in running_jobs(r):
        if partruns.is_split(meta):
            yield from partruns.open_parts(r, record["id"])


def stalled_jobs(r: redis.Redis, now: float) -> list[tuple[dict, dict]]:
    """Return the running jobs (not split in parts) whose heartbeat is older than the stall
    limit."""
    found = []
    for record, meta in running_jobs(r):
        beat = heartbeat(meta, record)
        if not partruns.is_split(meta) and beat is not None and now - beat > settings.STALL_AFTER_S:
            found.append((record, meta))
    return found


def stalled_parts(r: redis.Redis, now: float) -> list[partruns.PartRun]:
    """Return the running parts whose last report (or sending again) is older than the stall
    limit."""
    return [part for part in running_parts(r) if now - part.beat > settings.STALL_AFTER_S]


# What each recovery's reason means to the person following the job (its log).
TOLD = {
    "stalled": "its worker sent no word for too long",
    "lost its worker": "its worker stopped answering",
    "was cut off when this worker stopped": "its worker was stopped",
}


def tell(r: redis.Redis, job_id: str, why: str, what: str, part: int | None = None) -> None:
    """Write in the job's own log why it (or its part ``part``, counted from 0) is sent again
    or failed: a job that starts over says so, where the person follows it."""
    who = "" if part is None else f"part {part + 1}: "
    joblog.append(r, job_id, f"{who}{TOLD.get(why, why)}; {what}", "warning")


def redeliver(r: redis.Redis, job_id: str, meta: dict) -> None:
    """Send a job's task again, as it was first sent, under the same id: its own message, when
    the Redis broker still holds it for the worker that is gone (else the broker would give it
    back too, after the visibility timeout, and the ended job would run again), or a new one."""
    # Its wait in the queue is not a stall: count from now.
    r.hset(jobstore.JOB_KEY.format(job_id), "redelivered_at", time.time())
    if unacked.take_back(job_id):
        return
    current_app.send_task(
        meta["name"],
        args=meta.get("args") or [],
        kwargs=meta.get("kwargs") or {},
        task_id=job_id,
        queue=meta.get("queue"),
    )


@worker_ready.connect
def take_back_interrupted(sender: Any = None, **kwargs: Any) -> None:
    """Send again, as a worker starts, the jobs it was running when it last stopped.

    A worker keeps its name across restarts (its supervisor's or container's), so a running job
    stored under that name belongs to a life of this worker that ended: the Redis broker would
    give its message back only after the visibility timeout, and the stall sweeper only after
    ``STALL_AFTER_S``.
    """
    hostname = getattr(sender, "hostname", None)
    if not hostname:
        return
    r = jobstore.client()
    mine = [(record, meta) for record, meta in running_jobs(r) if meta.get("worker") == hostname]
    my_parts = [part for part in running_parts(r) if part.worker == hostname]
    if not mine and not my_parts:
        return
    # Another live worker of the same name (a misconfiguration) may be running them.
    held = held_by_workers() or set()
    for record, meta in mine:
        if record["id"] in held or not meta.get("name"):
            continue
        taken = unacked.take_back(record["id"])
        if taken is False:
            # Given back by the broker when this worker stopped: it waits in its queue.
            log.info("job %s was cut off when this worker stopped; it is queued", record["id"])
            continue
        log.warning("job %s was cut off when this worker stopped; sending it again", record["id"])
        tell(r, record["id"], "was cut off when this worker stopped", "it starts again")
        if taken:
            r.hset(jobstore.JOB_KEY.format(record["id"]), "redelivered_at", time.time())
        else:
            redeliver(r, record["id"], meta)
    for part in my_parts:
        if part.id in held:
            continue
        taken = unacked.take_back(part.id)
        if taken is None:
            resend_part_or_fail(r, part, "was cut off when this worker stopped")
        elif taken:
            tell(
                r,
                part.job_id,
                "was cut off when this worker stopped",
                "it starts again",
                part.index,
            )
            log.warning(
                "job %s part %d was cut off; its message is queued again",
                part.job_id,
                part.index + 1,
            )
            r.hset(
                partruns.PARTS_KEY.format(part.job_id), f"redelivered_at:{part.index}", time.time()
            )


@shared_task
def sweep_stalled() -> dict:
    """Send again, or fail, the running jobs that no live worker holds any more."""
    r = jobstore.client()
    # One sweep at a time: two would both count a redelivery and fail the job.
    if not r.set(jobstore.SWEEP_LOCK, "1", nx=True, ex=max(60, int(settings.STALL_SWEEP_S))):
        return {"redelivered": 0, "failed": 0, "skipped": True}
    try:
        return sweep(r)
    finally:
        r.delete(jobstore.SWEEP_LOCK)


def sweep(r: redis.Redis) -> dict:
    """Send again, or fail, the stalled jobs that no worker holds."""
    now = time.time()
    candidates, parts = stalled_jobs(r, now), stalled_parts(r, now)
    if not candidates and not parts:
        return {"redelivered": 0, "failed": 0}
    held = held_by_workers() or set()
    # A job a live worker holds is a long step that does not report: leave it.
    done = [
        resend_or_fail(r, record, meta, "stalled")
        for record, meta in candidates
        if record["id"] not in held
    ]
    done += [resend_part_or_fail(r, part, "stalled") for part in parts if part.id not in held]
    return {"redelivered": done.count("redelivered"), "failed": done.count("failed")}


def resend_or_fail(r: redis.Redis, record: dict, meta: dict, why: str) -> str:
    """Send a job no live worker holds again, or mark it FAILURE once out of redeliveries;
    return "redelivered", "failed", or "skipped" (another sweep is handling it)."""
    job_id = record["id"]
    # The stall sweep and the lost-worker check may find one job at once: one of them acts.
    if not r.set(jobstore.REDELIVER_CLAIM.format(job_id), "1", nx=True, ex=30):
        return "skipped"
    tries = r.hincrby(jobstore.JOB_KEY.format(job_id), "redelivered", 1)
    if tries <= settings.STALL_REDELIVERIES and meta.get("name"):
        log.warning("job %s %s on %s; sending it again", job_id, why, meta.get("worker"))
        tell(r, job_id, why, f"it starts again (time {tries} of {settings.STALL_REDELIVERIES})")
        redeliver(r, job_id, meta)
        return "redelivered"
    log.warning("job %s %s on %s; marking it failed", job_id, why, meta.get("worker"))
    tell(r, job_id, why, "it was sent again as often as allowed, so it failed")
    jobstore.give_up(r, job_id)
    current_app.backend.mark_as_failure(job_id, jobstore.Stalled(jobstore.STALLED))
    notify.job_ended(r, job_id)
    return "failed"


def resend_part_or_fail(r: redis.Redis, part: partruns.PartRun, why: str) -> str:
    """Send a part no live worker holds again, alone, or fail its job once the part is out of
    redeliveries; return "redelivered", "failed", or "skipped" (another check is on it)."""
    if not r.set(jobstore.REDELIVER_CLAIM.format(part.id), "1", nx=True, ex=30):
        return "skipped"
    where = f"job {part.job_id} part {part.index + 1} {why} on {part.worker}"
    tries = partruns.resend_part(r, part, settings.STALL_REDELIVERIES)
    if tries <= settings.STALL_REDELIVERIES:
        log.warning("%s; sending the part again", where, extra={"job_id": part.job_id})
        tell(
            r,
            part.job_id,
            why,
            f"it starts again (time {tries} of {settings.STALL_REDELIVERIES})",
            part.index,
        )
        return "redelivered"
    log.warning("%s; marking the job failed", where, extra={"job_id": part.job_id})
    tell(
        r, part.job_id, why, "it was sent again as often as allowed, so the job failed", part.index
    )
    partruns.give_up_part(r, part, jobstore.STALLED)
    notify.job_ended(r, part.job_id)
    return "failed"


@shared_task
def check_workers() -> dict:
    """Beat's periodic check: the lost-worker check, then the stall sweep when it is due (once
    per ``STALL_SWEEP_S``, counted in Redis so that every beat and worker agree); return both
    outcomes, the sweep's under ``"sweep"`` when it ran."""
    outcome = recover_lost()
    # Due a little early rather than a whole check late: checks come every CHECK_EVERY_S.
    due_ms = int(1000 * (settings.STALL_SWEEP_S - settings.CHECK_EVERY_S / 2))
    if jobstore.client().set(SWEEP_DUE, "1", nx=True, px=max(1, due_ms)):
        outcome["sweep"] = sweep_stalled()
    return outcome


@shared_task
def recover_lost() -> dict:
    """Send again, or fail, the running jobs of workers that stopped answering."""
    r = jobstore.client()
    # Short-lived: a check cut off with its worker must not hold up the next for long.
    if not r.set(jobstore.LOST_LOCK, "1", nx=True, ex=max(10, int(2 * settings.WORKER_CHECK_S))):
        return {"redelivered": 0, "failed": 0, "skipped": True}
    try:
        return recover(r, ask_workers(timeout=1.0), time.time())
    finally:
        r.delete(jobstore.LOST_LOCK)


def recover(r: redis.Redis, answers: dict[str, set[str]], now: float) -> dict:
    """Note who answered; handle the running jobs of the workers silent too long."""
    if not answers:
        # Not even the worker running this check answered: the broadcast failed, not them all.
        return {"redelivered": 0, "failed": 0, "skipped": True}
    liveness.note_answers(r, set(answers), now)
    lost = liveness.lost_workers(r, set(answers), now)
    if not lost:
        return {"redelivered": 0, "failed": 0}
    held = set().union(*answers.values())
    done = []
    for name, last_seen in lost.items():
        waiting = False
        for record, meta in running_jobs(r):
            if meta.get("worker") != name or record["id"] in held:
                continue
            verdict = liveness.orphaned(record, meta, last_seen, heartbeat(meta, record))
            waiting = waiting or verdict is None
            if verdict:
                done.append(resend_or_fail(r, record, meta, "lost its worker"))
        for part in running_parts(r):
            if part.worker != name or part.id in held:
                continue
            sent = {"redelivered_at": part.redelivered_at}
            verdict = liveness.orphaned(sent, {}, last_seen, part.beat)
            waiting = waiting or verdict is None
            if verdict:
                done.append(resend_part_or_fail(r, part, "lost its worker"))
        if not waiting:
            liveness.forget(r, name, last_seen)
    return {"redelivered": done.count("redelivered"), "failed": done.count("failed")}
