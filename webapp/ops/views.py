"""The workers and queues page, its API, and the refresh pushed to those who watch it.

A page joins the ``ops`` room with ``ops_watch``. While this process has such a connection, a
background task refreshes the overview every ``OPS_REFRESH_S`` and emits ``ops`` to the room
through the Socket.IO message queue, so watchers on every web process get it; a short Redis lock
lets one web process do the work per refresh however many run. Nobody watching, no work.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

import redis
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_socketio import join_room
from flask_socketio import leave_room
from kombu.exceptions import OperationalError

from tasks import jobstore
from tasks.jobstore import OPS_TURN_KEY
from tasks.jobstore import TERMINAL
from webapp import auth
from webapp.auth import current_user
from webapp.errors import ApiError
from webapp.extensions import socketio
from webapp.live import relay
from webapp.ops import metrics
from webapp.ops import overview

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)
OPS_ROOM = "ops"
# Redis or the broker cannot be reached: the page says so and tries again next time.
UNAVAILABLE = (redis.RedisError, OperationalError, OSError)


def can_see_operations(user: str | None) -> bool:
    """Tell whether a user may see the operations page, its API and its live refresh.

    ``user`` is the session's user (None before it has one): everyone in anonymous mode,
    administrators in accounts mode. Every view and handler of this module asks here only.
    """
    return auth.is_admin(user)


def require_operator() -> None:
    """Answer 403 to a user who may not see the operations API."""
    if not can_see_operations(current_user()):
        raise ApiError(403, "forbidden", "Only administrators can see the cluster's operations.")


@bp.get("/ops")
def operations():
    """Show the workers and queues page."""
    if auth.accounts_mode() and not auth.signed_in_user():
        return redirect(url_for("pages.login", next=request.path))
    if not can_see_operations(current_user()):
        abort(403)
    return render_template("ops.html", refresh_s=current_app.config["OPS_REFRESH_S"])


@bp.get("/api/workers")
def list_workers():
    """List the online workers: pool, active jobs, last heartbeat."""
    require_operator()
    try:
        return overview.workers_view(current_app)
    except UNAVAILABLE as exc:
        raise ApiError(503, "unavailable", "The broker or Redis cannot be reached now.") from exc


@bp.get("/api/queues")
def list_queues():
    """List the queues with their lengths and oldest messages' ages, and the jobs per state."""
    require_operator()
    try:
        return overview.queues_view(current_app)
    except UNAVAILABLE as exc:
        raise ApiError(503, "unavailable", "The broker or Redis cannot be reached now.") from exc


@socketio.on("ops_watch")
def watch(data=None):
    """The operations page asks to follow the cluster: join the room, answer the overview."""
    if not can_see_operations(session.get("user")):
        return {"error": {"code": "forbidden", "message": "Only administrators can see this."}}
    join_room(OPS_ROOM)
    app = current_app._get_current_object()
    refresher.ensure_running(app)
    try:
        return overview.overview(app)
    except UNAVAILABLE:
        return {"error": {"code": "unavailable", "message": "The cluster cannot be read now."}}


@socketio.on("ops_unwatch")
def unwatch(data=None):
    """The operations page is hidden or left: stop sending it refreshes."""
    leave_room(OPS_ROOM)


def watchers_here() -> bool:
    """Tell whether a connection to this process watches the operations page."""
    return bool(socketio.server.manager.rooms.get("/", {}).get(OPS_ROOM))


class Refresher:
    """Push the overview to the ops room while this process has watchers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = False
        self._failing = False
        self.token = f"{socket.gethostname()}:{os.getpid()}"

    def ensure_running(self, app: Flask) -> None:
        """Start the refresh loop unless it runs."""
        with self._lock:
            if self._running:
                return
            self._running = True
        socketio.start_background_task(self.run, app)

    def run(self, app: Flask) -> None:
        """Refresh every ``OPS_REFRESH_S`` until nobody here watches."""
        interval = app.config["OPS_REFRESH_S"]
        while True:
            with self._lock:
                if not watchers_here():
                    self._running = False
                    return
            began = time.monotonic()
            self.refresh(app, interval)
            # A broadcast from this task within a second of the last one could lose its
            # replies (see tasks.worker.status), whatever the interval.
            socketio.sleep(max(interval - (time.monotonic() - began), 1.0))

    def refresh(self, app: Flask, interval: float) -> bool:
        """Read the cluster and push it, if no other web process does this turn; tell if we did."""
        r: redis.Redis = app.extensions["redis"]
        try:
            if not r.set(OPS_TURN_KEY, self.token, nx=True, px=max(1, int(interval * 900))):
                return False
            with app.app_context():
                payload = overview.overview(app, fresh=True)
            socketio.emit("ops", payload, to=OPS_ROOM)
        except UNAVAILABLE as exc:
            if not self._failing:
                log.warning("operations refresh failed (%s); retrying every %.1f s", exc, interval)
            self._failing = True
            return False
        except Exception:  # a bug must not stop the refreshes for good
            log.exception("operations refresh failed")
            return False
        if self._failing:
            log.info("operations refresh works again")
        self._failing = False
        return True


refresher = Refresher()


def count_created(response: Response) -> Response:
    """Count a job the API created (or an upload it refused) for the overview and the metrics."""
    if request.endpoint != "api.create_job":
        return response
    body = response.get_json(silent=True) or {}
    if response.status_code != 202:
        metrics.upload_refused(str((body.get("error") or {}).get("code") or response.status_code))
        return response
    metrics.job_created(body)
    return response


def relay_listener(r: redis.Redis) -> Callable[[dict], None]:
    """Return what the relay calls with each snapshot: relay lag, and each job's end, counted
    once for the cluster."""

    def observe(snapshot: dict) -> None:
        """Measure a progress update, or record a job's end."""
        try:
            metrics.snapshot_relayed(snapshot)
            state = snapshot.get("state")
            if state in TERMINAL and jobstore.note_finished(
                r, snapshot["id"], state, snapshot.get("finished_at")
            ):
                metrics.job_finished(snapshot)
        except Exception:  # the relay must go on whatever happens here
            log.exception("job %s: its end was not counted", snapshot.get("id"))

    observe.operations = True
    return observe


def init_app(app: Flask) -> None:
    """Register the page, its API, and the hooks that count jobs for it and the metrics."""
    app.register_blueprint(bp)
    app.after_request(count_created)
    # The relay serves the first app of the process; so does its listener.
    if not any(getattr(listener, "operations", False) for listener in relay.listeners):
        relay.listeners.append(relay_listener(app.extensions["redis"]))

    @app.context_processor
    def operations_link() -> dict:
        """Tell templates whether to show the operations link."""
        return {"show_operations": can_see_operations(session.get("user"))}
