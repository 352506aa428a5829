"""Which workers are gone: the last time each answered the status command, kept in Redis.

Beat's workers check (``recover_lost`` in ``tasks/maintenance.py``) asks every worker for its
status every ``WORKER_CHECK_S``. A worker that has not answered for ``WORKER_LOST_S`` is lost
(killed, out of memory, its host gone): its running jobs are sent again at once instead of after
``STALL_AFTER_S`` of progress silence. A worker that answers keeps its jobs however long they
stay silent, so one job never runs on two live workers."""

from __future__ import annotations

import time
from typing import Any

import redis
from celery.signals import task_prerun

from tasks import jobstore
from tasks import settings


def note_answers(r: redis.Redis, names: set[str], now: float) -> None:
    """Record that these workers answered at ``now`` (Unix time)."""
    if names:
        r.hset(jobstore.WORKERS_SEEN_KEY, mapping=dict.fromkeys(names, now))


@task_prerun.connect
def note_start(task: Any = None, **kwargs: Any) -> None:
    """Count a worker as answering when it starts a task, so one that dies before the next
    check is known, and found lost, all the same."""
    hostname = getattr(getattr(task, "request", None), "hostname", None)
    if hostname:
        note_answers(jobstore.client(), {hostname}, time.time())


def live_workers(r: redis.Redis, now: float) -> set[str]:
    """Return the workers that answered (or started a task) within ``WORKER_LOST_S``."""
    seen = r.hgetall(jobstore.WORKERS_SEEN_KEY)
    return {name for name, ts in seen.items() if now - float(ts) <= settings.WORKER_LOST_S}


def lost_workers(r: redis.Redis, answered: set[str], now: float) -> dict[str, float]:
    """Return the workers silent for longer than ``WORKER_LOST_S``, with their last answer."""
    seen = {name: float(ts) for name, ts in r.hgetall(jobstore.WORKERS_SEEN_KEY).items()}
    return {
        name: ts
        for name, ts in seen.items()
        if name not in answered and now - ts > settings.WORKER_LOST_S
    }


def forget(r: redis.Redis, name: str, last_seen: float) -> None:
    """Stop watching a lost worker, unless it answered again meanwhile."""
    with r.pipeline() as pipe:
        pipe.watch(jobstore.WORKERS_SEEN_KEY)
        if float(pipe.hget(jobstore.WORKERS_SEEN_KEY, name) or 0) <= last_seen:
            pipe.multi()
            pipe.hdel(jobstore.WORKERS_SEEN_KEY, name)
            try:
                pipe.execute()
            except redis.WatchError:
                pass  # it answered while we looked: keep watching it


def orphaned(record: dict, meta: dict, last_seen: float, beat: float | None) -> bool | None:
    """Tell whether a running job of a lost worker needs sending again: True when its last
    sign of life (``beat``) is older than ``WORKER_LOST_S`` and it was not sent again since its
    worker last answered; None when it must wait a little longer (it showed life lately)."""
    if float(record.get("redelivered_at") or 0) > last_seen:
        return False  # sent again already: it waits in the queue or runs elsewhere
    if beat is not None and time.time() - beat <= settings.WORKER_LOST_S:
        return None
    return True
