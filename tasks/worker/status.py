"""The status a worker gives the operations page, in one remote-control reply.

Celery's ``stats`` and ``active`` would take two broadcasts, and with the Redis broker a second
broadcast sent within a second of the first from the same thread can lose its replies (kombu
leaves the first one's BRPOP waiting on the connection). One command answers everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import Celery
from celery import current_app
from celery.worker import state as worker_state
from celery.worker.control import inspect_command

COMMAND = "taskboard_status"


class _AllAnswered(Exception):
    """Raised from the reply callback to end the wait once every expected worker answered."""


def ask(timeout: float, expected: Iterable[str] = (), app: Celery | None = None) -> list[dict]:
    """Broadcast the status command; return the replies, each ``{worker name: answer}``.

    Kombu waits for replies until none has come for ``timeout`` seconds, so a broadcast costs
    at least ``timeout`` however quick the answers. Given the names of the workers ``expected``
    to answer (those seen lately), the wait ends as soon as each of them has answered; it runs
    the whole ``timeout`` when one of them is silent (dead, or slow), or with none expected.
    ``app`` is the Celery app to send with (the current one by default).
    """
    waiting = set(expected)
    replies: list[dict] = []

    def collect(reply: dict) -> None:
        replies.append(reply)
        waiting.difference_update(reply)
        if expected and not waiting:
            raise _AllAnswered

    try:
        control = (app or current_app).control
        control.broadcast(COMMAND, reply=True, timeout=timeout, callback=collect)
    except _AllAnswered:
        pass
    return replies


def pool_name(implementation: str) -> str:
    """Return a pool's short name: "prefork" for "celery.concurrency.prefork:TaskPool"."""
    module = implementation.split(":", 1)[0]
    return module.rsplit(".", 1)[-1] or "unknown"


@inspect_command(name=COMMAND)
def taskboard_status(state: Any, **kwargs: Any) -> dict:
    """Answer with this worker's pool, queues, counts and the tasks it runs now."""
    stats = state.consumer.controller.stats()
    pool = stats.get("pool") or {}
    consumer = state.consumer.task_consumer
    return {
        "pid": stats.get("pid"),
        "uptime_s": stats.get("uptime"),
        "pool": pool_name(str(pool.get("implementation") or "")),
        "concurrency": pool.get("max-concurrency"),
        "processed": sum((stats.get("total") or {}).values()),
        "queues": sorted(q.name for q in consumer.queues) if consumer else [],
        "active": [
            {"id": request.id, "task": request.name, "time_start": request.time_start}
            for request in state.tset(worker_state.active_requests)
        ],
        # Every job this worker holds: running, prefetched, or waiting out a retry countdown.
        "held": sorted(
            {request.id for request in state.tset(worker_state.reserved_requests)}
            | {request.id for request in scheduled_requests(state)}
        ),
    }


def scheduled_requests(state: Any) -> list[Any]:
    """Return the requests waiting in this worker's timer (ETA and countdown retries)."""
    found = []
    for waiting in state.consumer.timer.schedule.queue:
        args = getattr(waiting.entry, "args", None) or ()
        if args and hasattr(args[0], "id"):
            found.append(args[0])
    return found
