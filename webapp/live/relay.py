"""The relay that pushes what the Redis backend publishes to the owners' connections.

Celery's Redis result backend PUBLISHes every state it stores on ``celery-task-meta-<id>``,
PROGRESS included. One relay per web process SUBSCRIBEs to the channels of the jobs its own
connections' users have open, turns each message into the contract's snapshot and emits it to
the owner's connections on this process only (``ignore_queue``). So a web process pays for the
updates its clients watch, not for every job of the cluster, and each tab gets each update
exactly once, whichever process it is on:

- when a user's first connection arrives, the relay subscribes to the user's channel
  (``taskboard:user-jobs:<user>``, where :func:`tasks.jobstore.create` announces each new job);
  once Redis confirms that subscription it subscribes to the channels of the user's open jobs;
- a job created later is announced on the user's channel and subscribed to the same way;
- each job's state is read once Redis confirms its subscription, never before: a read made
  while the SUBSCRIBE is still on its way could miss a state published in between (the two
  travel on different connections). The same state seen by the read and by a message is sent
  once. An end is sent once even when it is stored twice with different payloads (a queued
  job's cancel is stored REVOKED by the web, then again by the worker that drops its message;
  Celery's ``date_done`` differs): the end sent is kept on the job's cached record (``final``),
  and the read on confirmation caches the record it read, so the read and the messages after
  it judge by one record. A state stored after the end (a redelivered job) reopens it;
- a queued job's place in its queue (:mod:`tasks.queueline`) moves when a job ahead starts or is
  cancelled, and is set when it is sent: each such change is published on
  ``taskboard:queue-moved``; the relay then reads the places of the open jobs it follows in one
  Redis call (at most every ``MOVED_EVERY_S``, however many changes came) and pushes the
  snapshot of each queued job whose place changed (one more call for their states);
- a job's channel is left when the job ends, a user's channels when their last connection here
  closes; after a Redis outage every subscription is made again and the open jobs resent.

Job events a web process makes itself (created, deleted) go through Flask-SocketIO's message
queue to the owner's connections wherever they are; those the worker side makes (retention)
come on ``taskboard:events``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections import deque
from collections.abc import Callable

import redis
from flask import Flask

from tasks import jobstore
from tasks import queueline
from tasks.jobstore import RUNNING
from tasks.jobstore import TERMINAL
from tasks.jobstore import state_of
from tasks.snapshot import Tracker
from tasks.snapshot import add_queue_positions
from tasks.snapshot import build
from webapp.extensions import socketio
from webapp.live.places import Places
from webapp.live.records import Records
from webapp.live.rooms import connected_users
from webapp.live.rooms import room_of

log = logging.getLogger(__name__)
META_PREFIX = jobstore.META_KEY.format("")
USER_JOBS_PREFIX = jobstore.USER_JOBS_CHANNEL.format("")
BACKOFF_MAX_S = 5.0
# After an outage, how many of each connected user's newest jobs are sent again.
RESYNC_NEWEST = 50
# How long the relay waits for a message before it looks at subscriptions to make or leave.
CHANGES_POLL_S = 0.05


class Relay:
    """Relay the backend's job updates to the owners' connections on this process."""

    def __init__(self) -> None:
        self.tracker = Tracker()
        self.records = Records()
        self.running: dict[str, str] = {}
        self.relayed = 0
        self.reconnects = 0
        self.connected = False
        # Called with each snapshot built from the backend (metrics watch them here).
        self.listeners: list[Callable[[dict], None]] = []
        # Called with the owner and the payload of each batch event of the worker side.
        self.batch_listeners: list[Callable[[str, dict], None]] = []
        # This process's connections per user, the users whose jobs the relay follows (each
        # with the jobs subscribed for them), subscriptions to make or leave, last sent states.
        self.connections: Counter[str] = Counter()
        self.watched: dict[str, set[str]] = {}
        self.changes: deque[tuple[str, str]] = deque()
        self.sent: dict[str, tuple] = {}
        # Queued jobs' places: whether queues moved since they were read, the last pushed.
        self.places = Places()
        self._app: Flask | None = None

    def watch(self, user: str) -> None:
        """Follow a user's jobs from now on: one of their connections arrived here."""
        self.connections[user] += 1
        self.changes.append(("watch", user))

    def unwatch(self, user: str) -> None:
        """Stop following a user's jobs once their last connection here has closed."""
        self.connections[user] -= 1
        if self.connections[user] <= 0:
            del self.connections[user]
            self.changes.append(("unwatch", user))

    def start(self, app: Flask) -> None:
        """Start relaying in a background task of the server's async mode."""
        if self._app is None:
            self._app = app
            socketio.start_background_task(self.run)

    def run(self) -> None:
        """Listen to the backend for ever, reconnecting with backoff when Redis goes away."""
        r: redis.Redis = self._app.extensions["redis"]
        backoff = 0.1
        while True:
            pubsub = r.pubsub()
            try:
                pubsub.subscribe(jobstore.EVENTS_CHANNEL, queueline.MOVED_CHANNEL)
                self.places.moved = True  # they may have moved while there was no connection
                # A new connection to Redis: every user followed is subscribed again.
                self.changes.extendleft(("watch", user) for user in self.watched)
                self.watched.clear()
                self.apply_changes(r, pubsub)
                if self.reconnects:
                    log.info("relay reconnected to Redis after %d attempt(s)", self.reconnects)
                    self.resync(r)
                self.connected, backoff, self.reconnects = True, 0.1, 0
                while True:
                    self.apply_changes(r, pubsub)
                    message = pubsub.get_message(timeout=CHANGES_POLL_S)
                    if message is not None:
                        self.handle(r, message, pubsub)
                    if self.places.due():
                        self.push_places(r)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                if self.connected:
                    log.warning("relay lost Redis (%s); reconnecting", exc)
                self.connected = False
                self.reconnects += 1
                socketio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except Exception:  # a bad message must not stop the relay
                log.exception("relay error; restarting it")
                socketio.sleep(backoff)
            finally:
                try:
                    pubsub.close()
                except Exception:  # the connection may already be gone
                    pass

    def apply_changes(self, r: redis.Redis, pubsub: redis.client.PubSub) -> None:
        """Make and leave the subscriptions that connections arriving and closing asked for."""
        while self.changes:
            change, user = self.changes.popleft()
            if change == "watch" and user not in self.watched and self.connections[user] > 0:
                self.watched[user] = set()
                pubsub.subscribe(jobstore.USER_JOBS_CHANNEL.format(user))
            elif change == "unwatch" and user in self.watched and self.connections[user] <= 0:
                jobs = self.watched.pop(user)
                channels = [jobstore.META_KEY.format(job_id) for job_id in jobs]
                pubsub.unsubscribe(jobstore.USER_JOBS_CHANNEL.format(user), *channels)

    def follow(self, pubsub: redis.client.PubSub, user: str, job_ids: list[str]) -> None:
        """Subscribe to jobs of a followed user; their states are read once Redis confirms."""
        jobs = self.watched.get(user)
        new = [job_id for job_id in job_ids if jobs is not None and job_id not in jobs]
        if not new:
            return
        jobs.update(new)
        pubsub.subscribe(*(jobstore.META_KEY.format(job_id) for job_id in new))
        # Their places are read too: a move published before they were followed was not theirs.
        self.places.moved = True

    def subscribed(self, r: redis.Redis, channel: str, pubsub: redis.client.PubSub) -> None:
        """Read what a channel Redis has just confirmed missed: a user's open jobs, or the
        state a job is in by now."""
        if channel.startswith(USER_JOBS_PREFIX):
            user = channel[len(USER_JOBS_PREFIX) :]
            if user in self.watched:
                self.follow(pubsub, user, list(r.smembers(jobstore.ACTIVE_KEY.format(user))))
        elif channel.startswith(META_PREFIX):
            for record, meta in jobstore.get_with_meta(r, [channel[len(META_PREFIX) :]]):
                if meta is not None:
                    self.relay_state(r, pubsub, self.records.refresh(record), meta)

    def handle(self, r: redis.Redis, message: dict, pubsub: redis.client.PubSub) -> None:
        """Turn one pub/sub message into pushes to the owner's connections."""
        channel, data = message["channel"], message["data"]
        if message["type"] == "subscribe":
            self.subscribed(r, channel, pubsub)
            return
        if message["type"] != "message":
            return
        if channel == queueline.MOVED_CHANNEL:
            self.places.moved = True
            return
        if channel == jobstore.EVENTS_CHANNEL:
            event = json.loads(data)
            if "log" in event:
                self.emit(event["owner"], event["log"], "log")
                return
            if "batch" in event:  # a job of a batch deleted (tasks.batches.tell_left)
                for batch_listener in self.batch_listeners:
                    batch_listener(event["owner"], event["batch"])
                return
            job = event["job"]
            if job.get("deleted"):
                self.forget(job["id"])
            self.emit(event["owner"], job)
            return
        if channel.startswith(USER_JOBS_PREFIX):
            self.follow(pubsub, channel[len(USER_JOBS_PREFIX) :], [data])
            return
        job_id = channel[len(META_PREFIX) :]
        record = self.records.get(r, job_id)
        meta = jobstore.parse_meta(data)
        if record is None or meta is None:
            return
        self.relay_state(r, pubsub, record, meta)

    def relay_state(
        self, r: redis.Redis, pubsub: redis.client.PubSub, record: dict, meta: dict
    ) -> None:
        """Send a state of a job to its owner's connections, once; leave its channel when the
        job has ended."""
        job_id, state = record["id"], state_of(meta)
        result = meta.get("result")
        key = (state, result.get("ts") if isinstance(result, dict) else meta.get("date_done"))
        if self.sent.get(job_id) == key:
            return  # seen by the read after subscribing and by the message alike
        self.sent[job_id] = key
        if state in TERMINAL:
            self.sent.pop(job_id, None)
            jobs = self.watched.get(record.get("owner", ""))
            if jobs is not None and job_id in jobs:
                jobs.discard(job_id)
                pubsub.unsubscribe(jobstore.META_KEY.format(job_id))
            if record.get("final") == state:
                return  # stored twice (a cancelled job is marked by the web and by the worker)
        if state == "RETRY":
            # Written by the worker just before the retry, after the record was cached.
            record["retry_at"] = r.hget(jobstore.JOB_KEY.format(job_id), "retry_at")
        snapshot = build(record, meta, self.tracker)
        add_queue_positions(r, [snapshot])
        self.remember_times(r, record, state, snapshot)
        self.emit(record["owner"], snapshot)
        for listener in self.listeners:
            listener(snapshot)

    def push_places(self, r: redis.Redis) -> None:
        """Push the snapshot of each followed queued job whose place in its queue changed since
        it was last pushed: one Redis call for the places, one for the changed jobs' states."""
        ids = [job_id for jobs in self.watched.values() for job_id in jobs]
        changed = self.places.read(r, ids)
        if not changed:
            return
        metas = r.mget([jobstore.META_KEY.format(job_id) for job_id in changed])
        for (job_id, place), raw in zip(changed.items(), metas, strict=True):
            record, meta = self.records.get(r, job_id), jobstore.parse_meta(raw)
            if record is None or state_of(meta) != jobstore.PENDING:
                continue  # deleted, or no longer queued (a redelivered job in line again)
            snapshot = build(record, meta, self.tracker)
            if snapshot["state"] != jobstore.PENDING:
                continue
            snapshot["queue_position"] = self.places.pushed[job_id] = place
            self.emit(record["owner"], snapshot)

    def remember_times(self, r: redis.Redis, record: dict, state: str, snapshot: dict) -> None:
        """Keep in the job's record what the backend forgets: when it started, its last progress."""
        job_id = record["id"]
        if state not in TERMINAL:
            # A state stored over a terminal one (a redelivered or restarted job) reopens it.
            record.pop("final", None)
        if state in RUNNING:
            self.running[job_id] = record["owner"]
            if not record.get("started_at"):
                when = snapshot["started_at"] or jobstore.now_iso()
                record["started_at"] = jobstore.mark_started(r, job_id, when)
                snapshot["started_at"] = record["started_at"]
        elif state in TERMINAL:
            record["final"] = state
        if state in TERMINAL and job_id in self.running:
            del self.running[job_id]
            seen = self.tracker.get(job_id)
            if seen is not None:
                record["progress"] = json.dumps(seen.__dict__)
                # Not over the worker's own last report (tasks.progress.keep_last), the later.
                r.hsetnx(jobstore.JOB_KEY.format(job_id), "progress", record["progress"])

    def forget(self, job_id: str) -> None:
        """Drop what the relay knows of a deleted job."""
        self.sent.pop(job_id, None)
        self.places.pushed.pop(job_id, None)
        self.records.pop(job_id)
        self.running.pop(job_id, None)
        self.tracker.forget(job_id)

    def emit(self, owner: str, payload: dict, event: str = "job") -> None:
        """Push a job event (or another) to the owner's connections on this process, if it has
        any."""
        room = room_of(owner)
        if socketio.server.manager.rooms.get("/", {}).get(room):
            socketio.emit(event, payload, to=room, ignore_queue=True)
            self.relayed += 1

    def resync(self, r: redis.Redis) -> None:
        """After an outage, send the true state of the jobs that were running, and of each
        connected user's newest jobs (queued ones may have started or ended meanwhile)."""
        ids = dict.fromkeys(self.running)
        for user in connected_users():
            ids.update(dict.fromkeys(jobstore.page(r, user, RESYNC_NEWEST) or []))
        found = jobstore.get_with_meta(r, list(ids))
        snapshots = [build(record, meta, self.tracker) for record, meta in found]
        add_queue_positions(r, snapshots)
        for (record, _), snapshot in zip(found, snapshots, strict=True):
            self.remember_times(r, record, snapshot["state"], snapshot)
            self.emit(record["owner"], snapshot)


relay = Relay()
