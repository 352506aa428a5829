"""Personal API tokens over HTTP: create (shown once), list, revoke. See :mod:`webapp.tokens`."""

from __future__ import annotations

import re

import redis
from flask import current_app
from flask import request

from webapp import tokens
from webapp.api import bp
from webapp.auth import current_user
from webapp.errors import ApiError

TOKEN_ID = re.compile(r"[0-9a-f]{16}")


def session_user() -> str:
    """Return the caller's identity from the session cookie; a token may not manage tokens."""
    if tokens.by_token():
        raise ApiError(403, "token_not_allowed", "Tokens are managed from a signed-in session.")
    return current_user()


def token_name() -> str:
    """Return the name asked for in the optional JSON body ``{"name"}``, or the default."""
    if not request.get_data(cache=True):
        return "token"
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) - {"name"}:
        raise ApiError(400, "bad_request", 'Send nothing, or {"name": ...} as JSON.')
    name = body.get("name", "token")
    # Stripped as str.strip() does, which removes exactly what the schema's ``\S`` does not match.
    if not isinstance(name, str) or not name.strip() or len(name) > tokens.NAME_MAX:
        raise ApiError(400, "bad_name", f"A name is 1 to {tokens.NAME_MAX} characters.")
    return name.strip()


@bp.post("/api/tokens")
def create_token():
    """Make a token for the signed-in user and answer it, the only time it is shown."""
    user = session_user()
    name = token_name()
    try:
        made = tokens.create(tokens.store(), user, name)
    except redis.RedisError:
        raise ApiError(503, "unavailable", "Token storage is not reachable now.") from None
    current_app.logger.info("%s made API token %s (%r)", user, made["id"], name)
    return made, 201


@bp.get("/api/tokens")
def list_tokens():
    """List the signed-in user's tokens, without the tokens themselves."""
    user = session_user()
    try:
        return {"tokens": tokens.listing(tokens.store(), user)}
    except redis.RedisError:
        raise ApiError(503, "unavailable", "Token storage is not reachable now.") from None


@bp.delete("/api/tokens/<token_id>")
def revoke_token(token_id: str):
    """Revoke one of the signed-in user's tokens: it stops working at once, and the live
    connections opened with it are closed."""
    user = session_user()
    try:
        found = TOKEN_ID.fullmatch(token_id) and tokens.revoke(tokens.store(), user, token_id)
        if found:
            tokens.close_sockets(tokens.store(), token_id)
    except redis.RedisError:
        raise ApiError(503, "unavailable", "Token storage is not reachable now.") from None
    if not found:
        raise ApiError(404, "not_found", "No such token.")
    current_app.logger.info("%s revoked API token %s", user, token_id)
    return "", 204
