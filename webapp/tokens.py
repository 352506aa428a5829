"""Personal API tokens: made on the account page, shown once, kept only as a hash.

A token is ``tb_`` and 43 characters of :func:`secrets.token_urlsafe` (256 random bits). Redis
keeps its SHA-256, not the token, so a copy of Redis lets no one act as its users. SHA-256 and
not bcrypt: a slow, salted hash protects guessable passwords, but no one guesses 256 random
bits, fast or slow; and an unsalted digest is a key to look the token up by in one read,
where bcrypt's salt would mean trying every stored hash, each slowly, on every request.

``Authorization: Bearer <token>`` stands in for the session cookie on ``/api/`` routes and on
the Socket.IO connection. Such a request has a session of its own that is never saved: it
neither reads nor sets a cookie, and needs no CSRF token (no browser adds the header by itself).
"""

from __future__ import annotations

import hashlib
import secrets
import time

import redis
from flask import Flask
from flask import Request
from flask import current_app
from flask import g
from flask import request
from flask.sessions import SecureCookieSession
from flask.sessions import SecureCookieSessionInterface

from tasks import jobstore
from webapp.errors import ApiError

PREFIX = "tb_"
# Last use is written at most this often per token, not on every request.
TOUCH_INTERVAL_S = 60
MAX_PER_USER = 50
NAME_MAX = 64
# A token's set of connections expires this long after its newest one opened (a leak guard).
SOCKETS_TTL_S = 7 * 24 * 3600
# Writes last use only while the token exists: a revoke between read and write stays a revoke.
TOUCH_SCRIPT = """
if redis.call('exists', KEYS[1]) == 1 then
  redis.call('hset', KEYS[1], 'last_used_at', ARGV[1])
end
"""


def digest(token: str) -> str:
    """Return the SHA-256 of a token, in hex: what Redis keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(req: Request) -> str | None:
    """Return the token of an ``Authorization: Bearer`` header, or None without one."""
    scheme, _, value = req.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def create(r: redis.Redis, user: str, name: str) -> dict:
    """Make a token for ``user``; return ``{"id", "token", "name", "created_at"}`` (the only
    time the token is seen); raise ApiError 409 past :data:`MAX_PER_USER` tokens."""
    if r.hlen(jobstore.USER_TOKENS_KEY.format(user)) >= MAX_PER_USER:
        raise ApiError(409, "too_many_tokens", f"A user has at most {MAX_PER_USER} tokens.")
    token = PREFIX + secrets.token_urlsafe(32)
    record = {
        "id": secrets.token_hex(8),
        "user": user,
        "name": name,
        "created_at": jobstore.now_iso(),
        "last_used_at": "",
    }
    key = digest(token)
    with r.pipeline() as pipe:
        pipe.hset(jobstore.TOKEN_KEY.format(key), mapping=record)
        pipe.hset(jobstore.USER_TOKENS_KEY.format(user), record["id"], key)
        pipe.execute()
    return {"id": record["id"], "token": token, "name": name, "created_at": record["created_at"]}


def listing(r: redis.Redis, user: str) -> list[dict]:
    """Return a user's tokens without secrets, oldest first: id, name, created and last used."""
    digests = r.hgetall(jobstore.USER_TOKENS_KEY.format(user))
    with r.pipeline() as pipe:
        for key in digests.values():
            pipe.hgetall(jobstore.TOKEN_KEY.format(key))
        records = [record for record in pipe.execute() if record.get("user") == user]
    return sorted(
        (
            {
                "id": record["id"],
                "name": record.get("name", ""),
                "created_at": record.get("created_at"),
                "last_used_at": record.get("last_used_at") or None,
            }
            for record in records
        ),
        key=lambda token: token["created_at"] or "",
    )


def revoke(r: redis.Redis, user: str, token_id: str) -> bool:
    """Delete one of a user's tokens; return False when the user has no such token."""
    key = r.hget(jobstore.USER_TOKENS_KEY.format(user), token_id)
    if key is None:
        return False
    with r.pipeline() as pipe:
        pipe.delete(jobstore.TOKEN_KEY.format(key))
        pipe.hdel(jobstore.USER_TOKENS_KEY.format(user), token_id)
        pipe.execute()
    return True


def remember_socket(r: redis.Redis, token_id: str, sid: str) -> None:
    """Note a Socket.IO connection opened with a token, to close it when the token is revoked."""
    key = jobstore.TOKEN_SOCKETS_KEY.format(token_id)
    with r.pipeline() as pipe:
        pipe.sadd(key, sid)
        pipe.expire(key, SOCKETS_TTL_S)
        pipe.execute()


def forget_socket(r: redis.Redis, token_id: str, sid: str) -> None:
    """Forget a closed connection of a token."""
    r.srem(jobstore.TOKEN_SOCKETS_KEY.format(token_id), sid)


def close_sockets(r: redis.Redis, token_id: str) -> None:
    """Close the live connections opened with a token, in whichever web process holds them
    (through the Socket.IO message queue when there is one)."""
    from webapp.extensions import socketio

    key = jobstore.TOKEN_SOCKETS_KEY.format(token_id)
    for sid in r.smembers(key):
        socketio.server.disconnect(sid, namespace="/")
    r.delete(key)


def resolve(r: redis.Redis, token: str, accounts: dict | None = None) -> dict | None:
    """Return the record of a valid token (``id``, ``user``, ...) and note its use, or None.

    In accounts mode (``accounts`` given) the token of a user no longer in the users file is
    no longer valid.
    """
    if not token.startswith(PREFIX) or len(token) > 128:
        return None
    key = jobstore.TOKEN_KEY.format(digest(token))
    record = r.hgetall(key)
    if not record.get("user") or (accounts is not None and record["user"] not in accounts):
        return None
    last = jobstore.timestamp(record.get("last_used_at")) or 0.0
    if time.time() - last >= TOUCH_INTERVAL_S:
        r.eval(TOUCH_SCRIPT, 1, key, jobstore.now_iso())
    return record


def accounts_or_none(app: Flask) -> dict | None:
    """Return the users of accounts mode, or None in anonymous mode."""
    return app.extensions["accounts"] if app.config["AUTH_MODE"] == "accounts" else None


class TokenSession(SecureCookieSession):
    """The session of a token-authenticated request: filled from the token, never saved."""


class SessionInterface(SecureCookieSessionInterface):
    """The signed cookie session, except for ``/api/`` requests that carry a bearer token: those
    get an empty :class:`TokenSession`, whatever cookie they send, and set no cookie."""

    def open_session(self, app: Flask, req: Request):
        """Open the cookie's session, or an empty one for a bearer token under ``/api/``."""
        if req.path.startswith("/api/") and bearer(req) is not None:
            return TokenSession()
        return super().open_session(app, req)

    def save_session(self, app: Flask, session, response) -> None:
        """Save the cookie's session; a token's session is never saved."""
        if isinstance(session, TokenSession):
            return
        super().save_session(app, session, response)


def authenticate() -> None:
    """Before each request: make a bearer token's user the session's user, or answer 401."""
    from flask import session

    if not isinstance(session, TokenSession):
        return
    try:
        record = resolve(store(), bearer(request) or "", accounts_or_none(current_app))
    except redis.RedisError:
        raise ApiError(503, "unavailable", "Token storage is not reachable now.") from None
    if record is None:
        current_app.logger.warning(
            "refused API token on %s from %s", request.path, request.remote_addr
        )
        raise ApiError(401, "bad_token", "The API token is wrong or was revoked.")
    g.token_id = record["id"]
    session["user"] = record["user"]


def store() -> redis.Redis:
    """Return the app's Redis client."""
    return current_app.extensions["redis"]


def by_token() -> bool:
    """Tell whether the current request was authenticated by a token (not a cookie)."""
    return g.get("token_id") is not None
