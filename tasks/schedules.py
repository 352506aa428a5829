"""Schedules: fetch a URL and process it every N seconds or on a cron expression (UTC).

A schedule is a hash ``taskboard:schedule:<id>``; each user has a sorted set of their schedule
ids by creation time, and each schedule keeps the ids of its last runs. The ones not paused sit
in the sorted set :data:`DUE_KEY`, scored by their next run.

Each run is an ordinary URL-import job with ``schedule: <id>``. The workers' sender threads
(:mod:`tasks.later`) run due schedules: one Lua script claims a due schedule by moving its score
to the end of a lease (atomic in Redis, so one claim per due time whatever number of workers),
then the run's job is made under an id derived from the schedule and its due time (a sender that
died mid-way and whose claim lapsed makes the same job again, never a second one), and the
schedule's next time is the first one after now: runs missed while everything was down are
run once, not once per missed period.

A schedule's timing (an interval, or a cron expression read by croniter) is checked, and its
next times found, in :mod:`tasks.timing`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

import redis

from tasks import jobstore
from tasks import later
from tasks import settings
from tasks.formats.amounts import counted
from tasks.timing import following_run
from tasks.timing import next_run

log = logging.getLogger(__name__)

SCHEDULE_KEY = "taskboard:schedule:{}"
USER_SCHEDULES_KEY = "taskboard:schedules:{}"
RUNS_KEY = "taskboard:schedule-runs:{}"
# Not under "taskboard:schedules:", where each user has a set: a user named "due" would meet it.
DUE_KEY = "taskboard:schedule-due"
# Run job ids: uuid5 of this namespace with "<schedule id>:<due time>".
RUN_NAMESPACE = uuid.UUID("5b0b4a53-1f7c-4d2a-9f3e-6f1c2d8e7a10")
RUNS_KEPT = 20


def create(
    r: redis.Redis,
    owner: str,
    url: str,
    processor: str,
    options: dict,
    every_s: float | None,
    cron: str | None,
    notify: list,
) -> dict:
    """Record a new schedule (first run: one interval from now, or the cron's next time) and
    return its record."""
    schedule_id = str(uuid.uuid4())
    now = time.time()
    record = {
        "id": schedule_id,
        "owner": owner,
        "url": url,
        "processor": processor,
        "options": json.dumps(options),
        "every_s": "" if every_s is None else repr(float(every_s)),
        "cron": cron or "",
        "notify": json.dumps(notify),
        "paused": "0",
        "created_at": jobstore.now_iso(now),
    }
    due = next_run(record, now)
    record["next_run_at"] = jobstore.now_iso(due)
    with r.pipeline() as pipe:
        pipe.hset(SCHEDULE_KEY.format(schedule_id), mapping=record)
        pipe.zadd(USER_SCHEDULES_KEY.format(owner), {schedule_id: now})
        pipe.zadd(DUE_KEY, {schedule_id: due})
        pipe.execute()
    return record


def get(r: redis.Redis, schedule_id: str) -> dict | None:
    """Return a schedule's record, or None."""
    return r.hgetall(SCHEDULE_KEY.format(schedule_id)) or None


def owned(r: redis.Redis, schedule_id: str, owner: str) -> dict | None:
    """Return a schedule when ``owner`` owns it; None for unknown and foreign alike."""
    record = get(r, schedule_id)
    return record if record and record.get("owner") == owner else None


def list_of(r: redis.Redis, owner: str) -> list[dict]:
    """Return a user's schedules, newest first."""
    ids = r.zrevrange(USER_SCHEDULES_KEY.format(owner), 0, -1)
    with r.pipeline(transaction=False) as pipe:
        for schedule_id in ids:
            pipe.hgetall(SCHEDULE_KEY.format(schedule_id))
        return [record for record in pipe.execute() if record]


def run_ids(r: redis.Redis, schedule_id: str) -> list[str]:
    """Return the ids of a schedule's last runs, newest first."""
    return r.lrange(RUNS_KEY.format(schedule_id), 0, RUNS_KEPT - 1)


def update(r: redis.Redis, record: dict, changes: dict) -> dict:
    """Apply checked changes (``paused``, ``every_s``, ``cron``) and return the record; a new
    timing or a resume sets the next run from now, a pause takes the schedule off the due set."""
    schedule_id = record["id"]
    fields: dict[str, str] = {}
    if "every_s" in changes:
        fields |= {"every_s": repr(float(changes["every_s"])), "cron": ""}
    if "cron" in changes:
        fields |= {"cron": changes["cron"], "every_s": ""}
    if "paused" in changes:
        fields["paused"] = "1" if changes["paused"] else "0"
    merged = record | fields
    retime = "every_s" in changes or "cron" in changes or fields.get("paused") == "0"
    due = next_run(merged, time.time()) if retime else None
    if due is not None:
        fields["next_run_at"] = merged["next_run_at"] = jobstore.now_iso(due)
    with r.pipeline() as pipe:
        pipe.hset(SCHEDULE_KEY.format(schedule_id), mapping=fields)
        if merged.get("paused") == "1":
            pipe.zrem(DUE_KEY, schedule_id)
        elif due is not None:
            pipe.zadd(DUE_KEY, {schedule_id: due})
        pipe.execute()
    return merged


def delete(r: redis.Redis, record: dict) -> None:
    """Delete a schedule (its runs stay, as ordinary jobs)."""
    schedule_id = record["id"]
    with r.pipeline() as pipe:
        pipe.delete(SCHEDULE_KEY.format(schedule_id), RUNS_KEY.format(schedule_id))
        pipe.zrem(USER_SCHEDULES_KEY.format(record["owner"]), schedule_id)
        pipe.zrem(DUE_KEY, schedule_id)
        pipe.execute()


def make_run(r: redis.Redis, record: dict, job_id: str | None = None) -> dict:
    """Record a run of a schedule as a URL-import job (not yet sent) and return the job's
    record; an existing job of that id is returned as it is."""
    job_id = job_id or str(uuid.uuid4())
    existing = jobstore.get(r, job_id)
    if existing:
        return existing
    from tasks.imports import name_of

    job = jobstore.create(
        r,
        job_id,
        record["owner"],
        clean_name(name_of(record["url"])),
        0,
        record["processor"],
        json.loads(record.get("options") or "{}"),
        url=record["url"],
        schedule=record["id"],
        notify=record.get("notify") or "[]",
        notify_email=record.get("notify_email") or "",
    )
    note_run(r, record["id"], job)
    return job


def note_run(r: redis.Redis, schedule_id: str, job: dict) -> None:
    """Add a job to a schedule's last runs."""
    with r.pipeline() as pipe:
        pipe.lpush(RUNS_KEY.format(schedule_id), job["id"])
        pipe.ltrim(RUNS_KEY.format(schedule_id), 0, RUNS_KEPT - 1)
        pipe.hset(SCHEDULE_KEY.format(schedule_id), "last_run_at", job["created_at"])
        pipe.execute()


def clean_name(name: str) -> str:
    """Return a file name fit for display: no control characters, at most 200 characters."""
    name = "".join(c for c in name if c.isprintable()).strip().strip(".")
    return name[:200] or "download"


def run_due(r: redis.Redis, now: float | None = None) -> int:
    """Run each schedule whose time has come, once per due time; return how many ran."""
    now = time.time() if now is None else now
    # The claim's lease is kept in the due set itself: a lapsed claim is simply due again.
    claimed = r.eval(CLAIM_SCRIPT, 1, DUE_KEY, now, later.LEASE_S, later.BATCH)
    ran = 0
    for schedule_id in claimed:
        try:
            ran += run_claimed(r, schedule_id, now)
        except (redis.ConnectionError, redis.TimeoutError):
            raise
        except Exception:
            log.exception("schedule %s could not run; its claim will lapse", schedule_id)
    return ran


def not_started(r: redis.Redis, job: dict, active: int) -> None:
    """Record a run that cannot start because its owner has ``active`` other jobs queued or
    running, ``MAX_ACTIVE_JOBS`` or more: its job ends FAILURE at once with the reason, so the
    schedule's last runs show it (and its notifications tell it), and nothing is queued."""
    from celery import current_app

    from tasks import notify
    from tasks import registry

    cap = settings.MAX_ACTIVE_JOBS
    reason = (
        f"Not started: its owner had {counted(active, 'job')} queued or running, and {cap} is "
        "the most allowed at once (MAX_ACTIVE_JOBS). The schedule runs again at its next time."
    )
    current_app.backend.mark_as_failure(job["id"], registry.ProcessorError(reason))
    log.warning(
        "schedule %s run not started: %d jobs active, the cap is %d",
        job.get("schedule"),
        active,
        cap,
        extra={"job_id": job["id"], "event": "schedule.not_started", "schedule": job["schedule"]},
    )
    notify.job_ended(r, job["id"])


CLAIM_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
end
return due
"""


def run_claimed(r: redis.Redis, schedule_id: str, now: float) -> int:
    """Make and send the run of a claimed schedule, and set its next time; return 1 if a run
    was sent."""
    record = get(r, schedule_id)
    if record is None or record.get("paused") == "1":
        r.zrem(DUE_KEY, schedule_id)
        return 0
    due = jobstore.timestamp(record.get("next_run_at")) or now
    job_id = str(uuid.uuid5(RUN_NAMESPACE, f"{schedule_id}:{due:.3f}"))
    job = make_run(r, record, job_id)
    sent = 0
    if jobstore.get_with_meta(r, [job_id])[0][1] is not None:
        pass  # sent already by a sender whose claim lapsed
    elif (active := jobstore.active_count(r, record["owner"])) > settings.MAX_ACTIVE_JOBS:
        not_started(r, job, active - 1)
    else:
        later.start(r, job)
        sent = 1
        log.info(
            "schedule %s ran (due %s, %.3f s ago): job %s",
            schedule_id,
            record.get("next_run_at"),
            now - due,
            job_id,
            extra={"job_id": job_id, "event": "schedule.ran", "schedule": schedule_id},
        )
    following = following_run(record, due, now)
    # Only a schedule still due-listed moves on: one paused or deleted meanwhile stays so.
    if r.zadd(DUE_KEY, {schedule_id: following}, xx=True, ch=True):
        r.hset(SCHEDULE_KEY.format(schedule_id), "next_run_at", jobstore.now_iso(following))
    return sent
