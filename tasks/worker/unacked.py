"""A message the Redis broker holds for a worker that is gone, put back in its queue.

Kombu's Redis transport keeps each message a worker has taken and not acknowledged in the
``unacked`` hash (``visibility_timeout`` later it puts it back in its queue by itself). A worker
that stops warmly gives its messages back at once; one killed leaves them there. So, as a worker
starts again under the same name, a job it was running is either back in its queue already
(nothing to send: a second copy would run the job twice, on two workers) or still in ``unacked``
(put that very message back at the head of its queue, as kombu's ``restore_by_tag`` does, so that
it is not also given back later).
"""

from __future__ import annotations

import json
from typing import Any

from celery import current_app


def take_back(task_id: str, app: Any = None) -> bool | None:
    """Put the unacknowledged message of task ``task_id`` back at the head of its queue; return
    True when it was held there, False when it was not (it came back by itself, or was
    acknowledged), None when the broker is not Redis (it cannot be told)."""
    with (app or current_app).connection_for_write() as connection:
        channel = connection.default_channel
        key = getattr(channel, "unacked_key", None)
        if key is None or not hasattr(channel, "qos"):
            return None
        client = channel.client
        for tag, raw in client.hscan_iter(key):
            try:
                payload = json.loads(raw)[0]
            except (ValueError, IndexError, TypeError):
                continue
            headers = payload.get("headers") if isinstance(payload, dict) else None
            if isinstance(headers, dict) and headers.get("id") == task_id:
                channel.qos.restore_by_tag(tag, leftmost=True)
                return True
        return False
