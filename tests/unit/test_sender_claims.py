"""The senders' claims on the tests' Redis: whatever number of senders claim at once, each due
job (and each due time of a schedule) is taken by one of them; a lapsed claim comes back."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
import redis

from tasks import later
from tasks import schedules

SENDERS = 6


@pytest.fixture
def r(redis_server) -> redis.Redis:
    """Return a client of the tests' Redis."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


def race(claim) -> Counter:
    """Run ``claim()`` from several threads at once, repeatedly; count what each claimed."""
    taken: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(SENDERS)

    def sender() -> None:
        start.wait()
        for _ in range(20):
            got = claim()
            with lock:
                taken.update(got)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return taken


def test_each_due_job_is_claimed_once_by_concurrent_senders(r):
    """300 due jobs, six senders claiming at once: each job is claimed exactly once, and jobs
    not yet due are left alone."""
    keys = (f"test:due:{uuid.uuid4().hex}", f"test:claimed:{uuid.uuid4().hex}")
    due = {f"job-{n}": 1000.0 + n for n in range(300)}
    r.zadd(keys[0], due | {"future": 10**10})
    taken = race(lambda: later.claim(r, 2000.0, keys))
    assert set(taken) == set(due)
    assert set(taken.values()) == {1}
    assert r.zrange(keys[0], 0, -1) == ["future"]


def test_a_lapsed_claim_is_due_again(r):
    """A claim whose sender never finished is taken again once its lease has passed."""
    keys = (f"test:due:{uuid.uuid4().hex}", f"test:claimed:{uuid.uuid4().hex}")
    r.zadd(keys[0], {"job": 1000.0})
    assert later.claim(r, 1000.0, keys) == ["job"]
    assert later.claim(r, 1000.0 + later.LEASE_S - 1, keys) == []
    assert later.claim(r, 1000.0 + later.LEASE_S + 1, keys) == ["job"]


def test_each_due_schedule_is_claimed_once_per_due_time(r):
    """Six senders at once take each due schedule once; its lease keeps it from the others."""
    key = f"test:schedules-due:{uuid.uuid4().hex}"
    due = {f"schedule-{n}": 1000.0 for n in range(100)}
    r.zadd(key, due)

    def claim() -> list[str]:
        return r.eval(schedules.CLAIM_SCRIPT, 1, key, 1000.0, later.LEASE_S, later.BATCH)

    taken = race(claim)
    assert set(taken) == set(due)
    assert set(taken.values()) == {1}
    assert {score for _, score in r.zrange(key, 0, -1, withscores=True)} == {1000.0 + later.LEASE_S}
