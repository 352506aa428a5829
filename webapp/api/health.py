"""``GET /healthz``: Redis answers and at least one worker does."""

from __future__ import annotations

from flask import current_app

from webapp.api import bp
from webapp.extensions import store
from webapp.ops import overview


@bp.get("/healthz")
def healthz():
    """Tell whether Redis answers and how many workers reply."""
    try:
        store().ping()
        redis_state = "ok"
    except Exception as exc:  # any failure to reach Redis is "down", whatever its type
        redis_state = f"error: {type(exc).__name__}"
    workers = count_workers() if redis_state == "ok" else 0
    healthy = redis_state == "ok" and workers > 0
    return {"redis": redis_state, "workers": workers}, 200 if healthy else 503


def count_workers() -> int:
    """Return how many workers answered the latest status check (at most ``OPS_REFRESH_S``
    old): the operations page's one broadcast, so health checks add none of their own (two
    broadcasts close together on the Redis broker can lose each other's replies)."""
    try:
        view = overview.workers_view(current_app._get_current_object())
    except Exception:  # a broker that does not answer means no worker we can count
        return 0
    return sum(1 for worker in view["workers"] if worker["online"])
