"""Which queues have a worker online, pushed to every page so it can say when a job will wait.

Each web process with connections checks the workers every ``OPS_REFRESH_S`` (the operations
overview's status check, whose answer is shared through Redis: web processes and the /ops
refresh mostly reuse one another's) and emits ``workers`` to all its connections when the counts
change; a new connection gets the counts known at once. The page never asks: it is told.
Payload::

    {"online": 1, "queues": {"default": 1, "heavy": 0},
     "processors": {"checksum": 1, "csv-to-xlsx": 0, ...}}
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from flask import current_app
from flask_socketio import emit

from tasks import app as celery_app
from tasks import registry
from webapp.extensions import socketio
from webapp.live.rooms import connect_hooks
from webapp.live.rooms import connected_users
from webapp.ops import overview

log = logging.getLogger(__name__)
EVENT = "workers"


def queue_of(task_name: str) -> str:
    """Return the queue the Celery routing sends a task to."""
    route = celery_app.amqp.router.route({}, task_name, args=(), kwargs={})
    return route["queue"].name


def counts(view: dict) -> dict:
    """Return the online workers per queue and per processor from ``workers_view``'s answer.

    A worker that does not say its queues (an older one) counts for every queue.
    """
    names = overview.queue_names()
    queues = dict.fromkeys(names, 0)
    online = [w for w in view["workers"] if w["online"]]
    for worker in online:
        for name in worker["queues"] or names:
            queues[name] = queues.get(name, 0) + 1
    processors = {
        p.name: queues.get(queue_of(p.task.name), 0) for p in registry.PROCESSORS.values()
    }
    return {"online": len(online), "queues": queues, "processors": processors}


class Presence:
    """Follow the workers while this process has connections; push their counts on change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = False
        self.current: dict | None = None

    def ensure_running(self, app: Flask) -> None:
        """Start the check loop unless it runs."""
        with self._lock:
            if self._running:
                return
            self._running = True
        socketio.start_background_task(self.run, app)

    def run(self, app: Flask) -> None:
        """Check the workers every ``OPS_REFRESH_S`` until this process has no connection."""
        while True:
            with self._lock:
                if not connected_users():
                    self._running = False
                    self.current = None  # unknown until the next connection's first check
                    return
            self.check(app)
            socketio.sleep(app.config["OPS_REFRESH_S"])

    def check(self, app: Flask) -> None:
        """Read the workers and emit their counts to every connection here if they changed."""
        try:
            with app.app_context():
                found = counts(overview.workers_view(app))
        except Exception as exc:  # the broker or Redis away: say nothing rather than "none"
            log.debug("workers not checked: %s", exc)
            return
        if found != self.current:
            self.current = found
            socketio.emit(EVENT, found, ignore_queue=True)

    def greet(self) -> None:
        """Tell a new connection the counts known now, and keep them checked."""
        self.ensure_running(current_app._get_current_object())
        if self.current is not None:
            emit(EVENT, self.current)


presence = Presence()


def init_app(app: Flask) -> None:
    """Greet every new Socket.IO connection with the workers' counts."""
    if presence.greet not in connect_hooks:
        connect_hooks.append(presence.greet)
