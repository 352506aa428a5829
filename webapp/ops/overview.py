"""What the operations page shows: workers, queues and jobs per state.

- Workers answer one remote-control broadcast (``tasks.worker.status``); the last answer of each is
  kept in Redis, so a worker that stops answering is shown with its last heartbeat for a while
  (``WORKER_FORGOTTEN_S``) before it leaves the list. One missed answer does not make a worker
  "not answering" (``OPS_ONLINE_GRACE_S``): a prefork worker answers from its main process,
  which can be late past the 0.5 s timeout while its pool keeps the cores busy and jobs start
  and end (replies take 10-20 ms here, up to 0.6 s then), and a late reply is simply dropped.
  A process's broadcasts are a second apart at least: one sooner can lose the other's replies.
- Queues are read from the broker: with Redis, LLEN of each queue's lists and, from the message
  at the head, the time it was sent (``tasks.worker.events`` stamps every message; older
  messages have no such time and their age is unknown). With another broker, the length only.
- Jobs per state: the unfinished jobs are kept in a sorted set (added when the API creates one,
  removed when the relay sees it end) and their states read from the result backend; finished
  jobs are counted over the last hour from one sorted set per final state.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlsplit

import redis
from flask import Flask

from tasks import app as celery_app
from tasks import jobstore
from tasks import registry
from tasks.jobstore import DONE_KEY
from tasks.jobstore import STATES
from tasks.jobstore import TERMINAL
from tasks.jobstore import WORKERS_KEY
from tasks.jobstore import WORKERS_VIEW_KEY
from tasks.jobstore import now_iso
from tasks.jobstore import timestamp
from tasks.worker import status
from tasks.worker.events import SENT_AT

FINISHED_WINDOW_S = 3600
WORKER_FORGOTTEN_S = 60
# Broadcasts of this process, spaced so that none loses the replies of the one before.
BROADCAST_SPACING_S = 1.0
_broadcast_lock = threading.Lock()
_last_broadcast = 0.0
# How kombu's Redis transport names the lists of a queue's priorities above 0.
PRIORITY_LISTS = ("", "\x06\x163", "\x06\x166", "\x06\x169")


# Workers


def workers_view(app: Flask, fresh: bool = False) -> dict:
    """Return the workers as ``GET /api/workers`` answers, asking them unless a recent answer
    (younger than ``OPS_REFRESH_S``) is kept."""
    r: redis.Redis = app.extensions["redis"]
    if not fresh:
        kept = r.get(WORKERS_VIEW_KEY)
        view = json.loads(kept) if kept else None
        checked = timestamp(view["checked_at"]) if view else None
        if checked and time.time() - checked < app.config["OPS_REFRESH_S"]:
            return view
    timeout = app.config["OPS_INSPECT_TIMEOUT_S"]
    grace = app.config["OPS_ONLINE_GRACE_S"]
    view = ask_workers(r, timeout, grace)
    r.set(WORKERS_VIEW_KEY, json.dumps(view), ex=WORKER_FORGOTTEN_S)
    return view


def broadcast_status(timeout: float) -> list[dict]:
    """Broadcast the status command and return the replies, a second after this process's last
    broadcast at the soonest."""
    global _last_broadcast
    with _broadcast_lock:
        wait = _last_broadcast + BROADCAST_SPACING_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            return status.ask(timeout, app=celery_app)
        finally:
            _last_broadcast = time.monotonic()


def is_online(answered: bool, last_answer_ts: float, now: float, grace: float) -> bool:
    """Tell whether a worker counts as online: it answered now, or less than ``grace`` seconds
    ago (one missed answer is a busy worker, not a gone one)."""
    return answered or now - last_answer_ts < grace


def ask_workers(r: redis.Redis, timeout: float, grace: float = 0.0) -> dict:
    """Ask every worker for its status; return those that answered, those that missed an answer
    within ``grace`` seconds (still online) and those lately gone."""
    replies = broadcast_status(timeout)
    now = time.time()
    known = {name: json.loads(raw) for name, raw in r.hgetall(WORKERS_KEY).items()}
    answered = set()
    for reply in replies:
        for name, answer in reply.items():
            answered.add(name)
            known[name] = describe_worker(name, answer, now)
    gone = [n for n, w in known.items() if now - w["last_heartbeat_ts"] > WORKER_FORGOTTEN_S]
    with r.pipeline() as pipe:
        if gone:
            pipe.hdel(WORKERS_KEY, *gone)
        for name in answered:
            pipe.hset(WORKERS_KEY, name, json.dumps(known[name]))
        pipe.execute()
    listed = []
    for name in sorted(set(known) - set(gone)):
        worker = dict(known[name])
        last = worker.pop("last_heartbeat_ts")
        worker["online"] = is_online(name in answered, last, now, grace)
        worker["last_heartbeat"] = now_iso(last)
        worker["heartbeat_age_s"] = round(max(0.0, now - last), 1)
        listed.append(worker)
    return {"workers": listed, "checked_at": now_iso(now)}


def describe_worker(name: str, answer: object, now: float) -> dict:
    """Return what the page shows of a worker from its answer (empty from an older worker)."""
    answer = answer if isinstance(answer, dict) and "error" not in answer else {}
    tasks = [t for t in answer.get("active") or [] if isinstance(t, dict)]
    return {
        "name": name,
        "host": name.partition("@")[2] or name,
        "pid": answer.get("pid"),
        "pool": answer.get("pool"),
        "concurrency": answer.get("concurrency"),
        "queues": answer.get("queues") or [],
        "processed": answer.get("processed"),
        "uptime_s": answer.get("uptime_s"),
        "active": len(tasks),
        "jobs": [describe_task(t) for t in tasks],
        "last_heartbeat_ts": now,
    }


def describe_task(task: dict) -> dict:
    """Return a running task as the page lists it: its id, what it runs, since when."""
    names = {p.task.name: p.name for p in registry.PROCESSORS.values()}
    started = task.get("time_start")
    return {
        "id": task.get("id"),
        "processor": names.get(task.get("task")),
        "task": task.get("task"),
        "started_at": now_iso(started) if isinstance(started, int | float) else None,
    }


# Queues


def queue_names() -> list[str]:
    """Return the queues the Celery configuration declares, the default one first."""
    names = [celery_app.conf.task_default_queue]
    names += [q.name for q in celery_app.conf.task_queues or [] if q.name not in names]
    return names


def broker_redis(app: Flask) -> redis.Redis | None:
    """Return a client of the broker when it is Redis (the job registry's when they are one)."""
    url = app.config["BROKER_URL"]
    if urlsplit(url).scheme not in ("redis", "rediss"):
        return None
    if url == app.config["REDIS_URL"]:
        return app.extensions["redis"]
    if "broker_redis" not in app.extensions:
        app.extensions["broker_redis"] = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=5
        )
    return app.extensions["broker_redis"]


def queues(app: Flask) -> list[dict]:
    """Return each queue's length and the age of its oldest message (None when unknown)."""
    names = queue_names()
    broker = broker_redis(app)
    if broker is None:
        return [{"name": n, "length": other_broker_length(n), "oldest_age_s": None} for n in names]
    now = time.time()
    with broker.pipeline(transaction=False) as pipe:
        for name in names:
            for suffix in PRIORITY_LISTS:
                pipe.llen(name + suffix)
                # Kombu pushes on the left and workers pop on the right: the oldest is last.
                pipe.lindex(name + suffix, -1)
        replies = pipe.execute()
    found = []
    per_queue = 2 * len(PRIORITY_LISTS)
    for i, name in enumerate(names):
        part = replies[i * per_queue : (i + 1) * per_queue]
        lengths, heads = part[::2], part[1::2]
        sent = [sent_at(head) for head in heads if head]
        ages = [round(max(0.0, now - s), 1) for s in sent if s is not None]
        length = sum(lengths)
        oldest = max(ages) if ages and len(ages) == len(sent) else None
        found.append(
            {"name": name, "length": length, "oldest_age_s": 0.0 if not length else oldest}
        )
    return found


def sent_at(raw: str) -> float | None:
    """Return when a task message was sent, from the header ``tasks.worker.events`` gives it."""
    try:
        value = json.loads(raw).get("headers", {}).get(SENT_AT)
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def other_broker_length(name: str) -> int | None:
    """Return a queue's length from a broker other than Redis (AMQP), or None."""
    try:
        with celery_app.connection_for_read() as conn:
            return conn.default_channel.queue_declare(queue=name, passive=True).message_count
    except Exception:  # a queue not declared yet, or a broker that does not answer
        return None


# Jobs per state


def job_states(r: redis.Redis) -> dict[str, int]:
    """Return how many jobs are in each unfinished state now, and in each final state over the
    last ``FINISHED_WINDOW_S``; jobs that ended or vanished unseen are moved or dropped."""
    counts = dict.fromkeys(STATES, 0)
    for record, meta in jobstore.open_jobs(r):
        state = jobstore.state_of(meta)
        if meta is None and record.get("run_at"):
            state = jobstore.SCHEDULED  # waiting for its time, not in a queue
        if state in counts:
            counts[state] += 1
    since = time.time() - FINISHED_WINDOW_S
    with r.pipeline(transaction=False) as pipe:
        for state in sorted(TERMINAL):
            pipe.zremrangebyscore(DONE_KEY.format(state), "-inf", f"({since}")
            pipe.zcard(DONE_KEY.format(state))
        replies = pipe.execute()
    for state, count in zip(sorted(TERMINAL), replies[1::2], strict=True):
        counts[state] = count
    return counts


def queues_view(app: Flask) -> dict:
    """Return the queues and jobs per state as ``GET /api/queues`` answers."""
    return {
        "queues": queues(app),
        "jobs": job_states(app.extensions["redis"]),
        "finished_window_s": FINISHED_WINDOW_S,
        "checked_at": now_iso(time.time()),
    }


def overview(app: Flask, fresh: bool = False) -> dict:
    """Return everything the operations page shows, as the ``ops`` event carries it."""
    return workers_view(app, fresh) | queues_view(app)
