"""Who is asking, and what they may ask for: the session and the processors."""

from __future__ import annotations

from flask_wtf.csrf import generate_csrf

from tasks import registry
from webapp import auth
from webapp.api import bp


@bp.get("/api/session")
def get_session():
    """Return the caller's identity and the CSRF token its writes must carry."""
    return auth.describe_session() | {"csrf_token": generate_csrf()}


@bp.get("/api/processors")
def list_processors():
    """List the processors, their accepted types and options."""
    return [p.describe() for p in sorted(registry.PROCESSORS.values(), key=lambda p: p.name)]
