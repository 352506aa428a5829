"""Socket.IO handlers of the live channel: a connection joins its user's room, and
``subscribe`` answers a job's current snapshot (what a job page, or a reconnecting client, asks
first)."""

from __future__ import annotations

import uuid

import redis
from flask import current_app
from flask import request
from flask import session
from flask_socketio import ConnectionRefusedError
from flask_socketio import join_room

from tasks import jobstore
from tasks.snapshot import add_queue_positions
from tasks.snapshot import build
from webapp import tokens
from webapp.extensions import socketio
from webapp.live.relay import relay
from webapp.live.rooms import connect_hooks
from webapp.live.rooms import room_of

# The user of each connection to this process (by Socket.IO sid).
users_by_sid: dict[str, str] = {}
TOO_MANY = "too_many_connections"


@socketio.on("connect")
def connect(auth=None):
    """A browser connects with its session cookie, a program with an API token (``auth``
    ``{"token"}`` or an ``Authorization: Bearer`` header): put it in its user's room, unless the
    user already has ``MAX_CONNECTIONS_PER_USER`` connections to this process."""
    token = auth.get("token") if isinstance(auth, dict) else None
    token = token if isinstance(token, str) else tokens.bearer(request)
    if token is not None:
        r = current_app.extensions["redis"]
        try:
            record = tokens.resolve(r, token, tokens.accounts_or_none(current_app))
            if record is not None:
                tokens.remember_socket(r, record["id"], request.sid)
        except redis.RedisError:
            raise ConnectionRefusedError("token storage is not reachable now") from None
        if record is None:
            raise ConnectionRefusedError("bad_token: the API token is wrong or was revoked")
        # This connection's own session (Flask-SocketIO keeps one per connection): no cookie.
        session["user"] = record["user"]
        session["token_id"] = record["id"]
    user = session.get("user")
    if not user:
        raise ConnectionRefusedError("no session: load the page or GET /api/session first")
    cap = current_app.config["MAX_CONNECTIONS_PER_USER"]
    if relay.connections[user] >= cap:
        current_app.logger.warning(
            "connection refused: user has %d connections to this process", cap
        )
        raise ConnectionRefusedError(
            f"{TOO_MANY}: you have {cap} live connections to this server (open tabs or "
            "clients), the most allowed; close some and this one will connect."
        )
    users_by_sid[request.sid] = user
    join_room(room_of(user))
    relay.watch(user)
    for hook in connect_hooks:
        hook()


@socketio.on("disconnect")
def disconnect(*args):
    """A connection closed: count it out of its user's connections, and forget it among its
    token's connections if it had a token."""
    user = users_by_sid.pop(request.sid, None)
    if user is not None:
        relay.unwatch(user)
    if session.get("token_id"):
        try:
            tokens.forget_socket(current_app.extensions["redis"], session["token_id"], request.sid)
        except redis.RedisError:
            pass  # the set expires; a revoke then finds an id that is gone


def snapshot_of(record: dict, meta: dict | None) -> dict:
    """Return a job's snapshot with the rates this process has seen."""
    return build(record, meta, relay.tracker)


def canonical_id(value: object) -> str | None:
    """Return a job id in canonical UUID form, or None for anything else."""
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) and len(value) <= 64 else None
    except ValueError:
        return None


@socketio.on("subscribe")
def subscribe(data=None):
    """A client asks for a job's current snapshot (``{"job_id"}``) or a batch's
    (``{"batch_id"}``): answer with it, or an error."""
    if isinstance(data, dict) and "batch_id" in data:
        from webapp.live import batches

        try:
            return batches.subscribe(
                current_app.extensions["redis"], data["batch_id"], session.get("user")
            )
        except redis.RedisError:
            return {"error": {"code": "unavailable", "message": "Storage is not reachable now."}}
    job_id = canonical_id(data.get("job_id") if isinstance(data, dict) else None)
    if job_id is None:
        return {"error": {"code": "not_found", "message": "No such job."}}
    try:
        found = jobstore.owned(current_app.extensions["redis"], job_id, session.get("user"))
    except redis.RedisError:
        return {"error": {"code": "unavailable", "message": "Job storage is not reachable now."}}
    if found is None:
        return {"error": {"code": "not_found", "message": "No such job."}}
    snapshot = snapshot_of(*found)
    add_queue_positions(current_app.extensions["redis"], [snapshot])
    return snapshot
