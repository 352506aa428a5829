"""Taskboard's web app: the dashboard, the JSON API and the live Socket.IO channel.

Nothing is imported at module level, so that ``python -m webapp`` can patch the standard
library for eventlet or gevent before Flask, Redis and Celery are loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from flask import Flask

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Create the app: settings, extensions, blueprints, Socket.IO events, the relay."""
    from flask import Flask

    from tasks.worker import logs
    from webapp import api
    from webapp import auth
    from webapp import errors
    from webapp import live
    from webapp import pages
    from webapp import tokens
    from webapp.api import openapi
    from webapp.api import uploads
    from webapp.config import ROOT
    from webapp.config import Config
    from webapp.extensions import csrf
    from webapp.extensions import init_redis
    from webapp.extensions import limiter
    from webapp.extensions import socketio
    from webapp.live import deletes
    from webapp.live import events  # noqa: F401 - the Socket.IO handlers
    from webapp.live import presence
    from webapp.ops import metrics
    from webapp.ops import views as ops

    app = Flask(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    app.request_class = uploads.UploadRequest
    app.config.from_object(Config())
    app.config.update(overrides or {})
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("Set SECRET_KEY (or TASKBOARD_ENV=development for a local secret).")
    if app.config["AUTH_MODE"] not in ("anonymous", "accounts"):
        raise RuntimeError("AUTH_MODE is 'anonymous' or 'accounts'.")
    app.extensions["accounts"] = (
        auth.load_accounts(app.config["USERS_FILE"])
        if app.config["AUTH_MODE"] == "accounts"
        else {}
    )
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    logs.configure(app.config["LOG_FORMAT"])

    init_redis(app)
    app.session_interface = tokens.SessionInterface()
    csrf.init_app(app)
    # First: the token's user is the session's user for the CSRF check and the rate limits.
    app.before_request(tokens.authenticate)
    app.before_request(check_csrf_header)
    limiter.init_app(app)
    # The default origin check (same host, or the proxy's forwarded host) refuses cross-site
    # WebSockets. The message queue carries the emits one web process makes for clients that
    # may be on another (job created, deleted); the relay's emits skip it (see live.py).
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"] or None,
        max_http_buffer_size=app.config["SOCKETIO_MAX_PAYLOAD"],
        ping_interval=10,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(openapi.bp)
    ops.init_app(app)
    presence.init_app(app)
    errors.register(app)
    app.teardown_request(uploads.discard_incoming)

    @app.after_request
    def secure_headers(response):
        """Add the security headers to every answer."""
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    if app.config.get("RELAY", True):
        live.relay.start(app)
        deletes.start(app)
    return app


def check_csrf_header() -> None:
    """Refuse a write without a valid ``X-CSRFToken`` header, before its body is read.

    Flask-WTF's own check looks in the form first, which would stream a whole upload to disk
    before refusing it; the contract takes the token from the header only. A request
    authenticated by an API token needs none: it carries no cookie a browser could replay.
    """
    from flask import request
    from flask_wtf.csrf import CSRFError
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    from webapp.tokens import by_token

    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or request.routing_exception:
        return  # reads, and requests that will be answered 404 or 405 anyway
    if by_token():
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from None
