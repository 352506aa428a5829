"""The values kept in job records and backend entries, read and written: times, states."""

from __future__ import annotations

import json
import time
from datetime import UTC
from datetime import datetime

from tasks.jobstore.keys import PENDING


def now_iso(ts: float | None = None) -> str:
    """Return a Unix time (now by default) as ISO 8601 UTC."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).isoformat()


def parse_time(value: object) -> datetime | None:
    """Return an ISO 8601 time as an aware datetime (naive means UTC), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def timestamp(value: object) -> float | None:
    """Return an ISO 8601 time as Unix time, or None."""
    moment = parse_time(value)
    return moment.timestamp() if moment else None


def parse_meta(raw: str | bytes | None) -> dict | None:
    """Decode a result backend entry, or None."""
    if not raw:
        return None
    try:
        meta = json.loads(raw)
    except ValueError:
        return None
    return meta if isinstance(meta, dict) else None


def state_of(meta: dict | None) -> str:
    """Return a job's state from its backend entry; a job with none yet is queued."""
    return (meta or {}).get("status") or PENDING
