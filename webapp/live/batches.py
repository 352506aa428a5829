"""Batches on the live channel: the event ``batch`` with the batch snapshot, to every
connection of its owner, whenever one of its jobs changes; and ``subscribe {"batch_id"}``.

The relay calls :func:`job_changed` with each job snapshot it builds from the backend; a job of
a batch marks its batch changed, and a background task of this process recomputes and emits
each changed batch at most once per ``PUSH_INTERVAL_S``: 40 jobs reporting ten times a second
give four batch pushes a second, not 400. Like the relay's own emits, these go to the owner's
connections on this process only (every web process with a connection of the owner follows the
owner's jobs and does the same); events a web process makes itself (a batch created,
cancelled or deleted) go through the message queue with :func:`push`. A job of a batch deleted
(anywhere: tasks.jobstore.remove) comes as a batch event of the worker side: the batch changed
(recomputed here as above) or went with its last job (``{"id", "deleted": true}``, to the
owner's connections here).
"""

from __future__ import annotations

import logging

import redis
from flask import Flask

from tasks import batches
from tasks import jobstore
from webapp.extensions import socketio
from webapp.live.events import canonical_id
from webapp.live.events import snapshot_of
from webapp.live.relay import relay
from webapp.live.rooms import room_of

log = logging.getLogger(__name__)
PUSH_INTERVAL_S = 0.25
EVENT = "batch"
# Batches with a job changed since the last push, on this process.
changed: set[str] = set()
_started: list[Flask] = []


def snapshot(r: redis.Redis, record: dict) -> dict:
    """Return a batch's snapshot, its jobs read in one round trip with this process's rates."""
    jobs = [
        snapshot_of(rec, meta) for rec, meta in jobstore.get_with_meta(r, batches.job_ids(record))
    ]
    return batches.aggregate(record, jobs)


def push(owner: str, payload: dict) -> None:
    """Push a batch event this process made to the owner's connections on every web process."""
    socketio.emit(EVENT, payload, to=room_of(owner))


def job_changed(job: dict) -> None:
    """Mark a job's batch changed (called by the relay for every job snapshot it builds)."""
    batch_id = job.get("batch")
    if batch_id:
        mark_changed(batch_id)


def job_left(owner: str, payload: dict) -> None:
    """Relay a batch event of a deleted job (called by the relay): a deleted batch to the
    owner's connections here, a changed one marked for the next push."""
    if payload.get("deleted"):
        changed.discard(payload["id"])
        relay.emit(owner, payload, EVENT)
    else:
        mark_changed(payload["id"])


def mark_changed(batch_id: str) -> None:
    """Mark a batch changed, starting this process's pusher of batches the first time."""
    changed.add(batch_id)
    if not _started and relay._app is not None:
        _started.append(relay._app)
        socketio.start_background_task(run, relay._app)


def run(app: Flask) -> None:
    """Emit the changed batches' snapshots, at most once per interval each, for ever."""
    r: redis.Redis = app.extensions["redis"]
    while True:
        socketio.sleep(PUSH_INTERVAL_S)
        try:
            flush(r)
        except redis.RedisError as exc:
            log.warning("batch snapshots not pushed, Redis unreachable: %s", exc)
        except Exception:  # a bad record must not stop the pushes
            log.exception("batch push failed")


def flush(r: redis.Redis) -> None:
    """Emit the snapshot of each batch changed since the last flush to its owner here."""
    while changed:
        record = batches.get(r, changed.pop())
        if record is None:
            continue
        room = room_of(record["owner"])
        if socketio.server.manager.rooms.get("/", {}).get(room):
            socketio.emit(EVENT, snapshot(r, record), to=room, ignore_queue=True)


def subscribe(r: redis.Redis, value: object, user: str | None) -> dict:
    """Answer ``subscribe {"batch_id"}``: the batch's snapshot, or an error."""
    batch_id = canonical_id(value)
    record = batches.owned(r, batch_id, user or "") if batch_id else None
    if record is not None and batches.drop_if_empty(r, record):
        push(record["owner"], {"id": record["id"], "deleted": True})
        record = None
    if record is None:
        return {"error": {"code": "not_found", "message": "No such batch."}}
    return snapshot(r, record)


relay.listeners.append(job_changed)
relay.batch_listeners.append(job_left)
