"""Extensions as module globals, bound to the app in the factory."""

from __future__ import annotations

import redis
from flask import Flask
from flask import current_app
from flask import request
from flask import session
from flask_limiter import Limiter
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect


def rate_limit_key() -> str:
    """Count requests per user where there is one, else per client address."""
    return session.get("user") or request.remote_addr or "unknown"


socketio = SocketIO()
csrf = CSRFProtect()
# Limits are declared on the views that need them; storage is Redis (RATELIMIT_STORAGE_URI).
limiter = Limiter(key_func=rate_limit_key)


def init_redis(app: Flask) -> None:
    """Give the app one Redis connection pool for the job registry and the relay."""
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"],
        decode_responses=True,
        health_check_interval=10,
        socket_connect_timeout=5,
        socket_keepalive=True,
    )


def store() -> redis.Redis:
    """Return the app's Redis client."""
    return current_app.extensions["redis"]
