"""Each job's own log: the lines its processor writes (phases, rows skipped, retries and their
cause), kept in Redis beside the job (the newest :data:`KEEP`), and announced to the web
processes, which push them to the owner's tabs as the Socket.IO event ``log``.

A line is ``{"seq": int, "ts": ISO 8601 UTC, "level": "info" | "warning" | "error",
"message": str}``; ``seq`` grows by one per line of the job, so a reader asks for what came
after the last line it has.
"""

from __future__ import annotations

import json
import logging

import redis

from tasks import jobstore

log = logging.getLogger(__name__)
KEEP = 1000
LEVELS = ("info", "warning", "error")
MAX_MESSAGE = 500


def append(r: redis.Redis, job_id: str, message: str, level: str = "info") -> dict | None:
    """Add a line to a job's log and announce it; return the line (None for an unknown job).
    Never raises for Redis being away: a log line is not worth stopping a job for."""
    level = level if level in LEVELS else "info"
    try:
        owner = r.hget(jobstore.JOB_KEY.format(job_id), "owner")
        if owner is None:
            return None
        line = {
            "seq": r.incr(jobstore.JOB_LOG_SEQ_KEY.format(job_id)),
            "ts": jobstore.now_iso(),
            "level": level,
            "message": str(message)[:MAX_MESSAGE],
        }
        key = jobstore.JOB_LOG_KEY.format(job_id)
        with r.pipeline(transaction=False) as pipe:
            pipe.rpush(key, json.dumps(line))
            pipe.ltrim(key, -KEEP, -1)
            pipe.publish(
                jobstore.EVENTS_CHANNEL,
                json.dumps({"owner": owner, "log": {"id": job_id, "lines": [line]}}),
            )
            pipe.execute()
        return line
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        log.warning("log line of job %s dropped, Redis unreachable: %s", job_id, exc)
        return None


def read(r: redis.Redis, job_id: str, after: int = 0) -> list[dict]:
    """Return a job's kept lines with ``seq`` above ``after``, oldest first."""
    lines = [json.loads(raw) for raw in r.lrange(jobstore.JOB_LOG_KEY.format(job_id), 0, -1)]
    return [line for line in lines if line["seq"] > after]
