"""The relay's rule "each state once", on a real Redis: the read made when a job's channel is
confirmed and the messages published on it name the same states, in whichever order they come."""

from __future__ import annotations

import uuid

import pytest
import redis
from celery import Celery

from tasks import jobstore
from webapp.live.relay import Relay


class Pumped:
    """One relay on the tests' Redis, its pub/sub connection pumped by hand, so that a test
    chooses what Redis holds before the relay reads each message; what it pushes is kept."""

    def __init__(self, url: str) -> None:
        self.r = redis.Redis.from_url(url, decode_responses=True)
        self.relay = Relay()
        self.pubsub = self.r.pubsub()
        self.pushed: list[dict] = []
        # The Socket.IO emit is the relay's only way out: kept here instead of sent.
        self.relay.emit = lambda owner, payload, event="job": self.pushed.append(payload)

    def watch(self, user: str) -> None:
        """Follow a user's jobs, as when their first connection arrives."""
        self.relay.watch(user)
        self.relay.apply_changes(self.r, self.pubsub)

    def handle_one(self) -> bool:
        """Let the relay handle the next message Redis sent; tell whether there was one."""
        message = self.pubsub.get_message(timeout=0.5)
        if message is not None:
            self.relay.handle(self.r, message, self.pubsub)
        return message is not None

    def handle_all(self) -> None:
        """Let the relay handle every message until none comes for half a second."""
        while self.handle_one():
            pass

    def states(self, job_id: str) -> list[str]:
        """Return the states pushed for a job, in order."""
        return [p["state"] for p in self.pushed if p.get("id") == job_id and "state" in p]

    def close(self) -> None:
        """Close the relay's pub/sub connection."""
        self.pubsub.close()


@pytest.fixture
def pumped(redis_server):
    """Make a relay on the tests' Redis whose messages the test hands over one by one."""
    made = Pumped(redis_server.url)
    yield made
    made.close()


@pytest.fixture
def backend(redis_server):
    """Return a Celery result backend on the tests' Redis, storing as the worker and web do."""
    sender = Celery(broker=redis_server.url, backend=redis_server.url)
    sender.conf.result_serializer = "json"
    return sender.backend


def new_job(r: redis.Redis, user: str) -> str:
    """Record a queued job of ``user`` (announced on the user's channel); return its id."""
    job_id = str(uuid.uuid4())
    jobstore.create(r, job_id, user, "a.txt", 3, "simulate", {})
    return job_id


def test_end_stored_before_the_subscription_is_confirmed_is_pushed_once(pumped, backend):
    """A queued job cancelled between the relay's SUBSCRIBE and its confirmation (the web marks
    it REVOKED, then the worker stores REVOKED again): the read on confirmation and the two
    published messages all name REVOKED, and the owner hears of it once."""
    user = f"relay-{uuid.uuid4().hex[:8]}"
    pumped.watch(user)
    job_id = new_job(pumped.r, user)
    pumped.handle_one()  # the user's channel confirmed: the job's SUBSCRIBE is sent
    pumped.handle_one()  # the announcement of the job: already followed
    backend.mark_as_revoked(job_id, "cancelled")  # the web's cancel of a queued job
    backend.mark_as_revoked(job_id, "revoked by the worker")  # the worker's own store
    pumped.handle_all()
    assert pumped.states(job_id) == ["REVOKED"]


def test_end_published_after_the_read_is_pushed_once(pumped, backend):
    """The same end stored twice after the subscription was confirmed (web, then worker) is
    pushed once."""
    user = f"relay-{uuid.uuid4().hex[:8]}"
    pumped.watch(user)
    job_id = new_job(pumped.r, user)
    pumped.handle_all()
    backend.mark_as_revoked(job_id, "cancelled")
    backend.mark_as_revoked(job_id, "revoked by the worker")
    pumped.handle_all()
    assert pumped.states(job_id) == ["REVOKED"]
