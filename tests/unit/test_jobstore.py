"""The job indexes: periodic work reads what is unfinished or expired, a batch at a time."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from tasks import jobstore


@pytest.fixture
def r(redis_server):
    """Return a client of the tests' Redis on a database of its own, emptied first."""
    client = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/3", decode_responses=True)
    client.flushdb()
    client.set(jobstore.SEEDED_KEY, "1")
    return client


def make_job(r: redis.Redis, state: str | None, created: float | None = None) -> str:
    """Record a job of user "u" in ``state`` (None: queued), created at ``created``."""
    job_id = str(uuid.uuid4())
    jobstore.create(r, job_id, "u", "f.csv", 1, "checksum", {})
    if created is not None:
        r.zadd(jobstore.JOBS_KEY, {job_id: created})
    if state:
        meta = {"status": state, "result": None, "date_done": jobstore.now_iso()}
        r.set(jobstore.META_KEY.format(job_id), json.dumps(meta))
    return job_id


def test_open_jobs_yields_unfinished_and_moves_ended_ones_out(r):
    """Yield queued and running jobs; move ended ones to the finished index, drop gone ones."""
    queued, running = make_job(r, None), make_job(r, "PROGRESS")
    done, failed = make_job(r, "SUCCESS"), make_job(r, "FAILURE")
    gone = make_job(r, None)
    r.delete(jobstore.JOB_KEY.format(gone))
    found = {record["id"] for record, _ in jobstore.open_jobs(r, batch=2)}
    assert found == {queued, running}
    assert set(r.zrange(jobstore.OPEN_KEY, 0, -1)) == {queued, running}
    assert r.zrange(jobstore.DONE_KEY.format("SUCCESS"), 0, -1) == [done]
    assert r.zrange(jobstore.DONE_KEY.format("FAILURE"), 0, -1) == [failed]


def test_expired_jobs_come_in_batches_and_pass_over_running_ones(r):
    """Yield finished jobs older than the cutoff in bounded batches; leave running ones."""
    old = time.time() - 10 * 86400
    finished = [make_job(r, "SUCCESS", old) for _ in range(7)]
    still_running = make_job(r, "PROGRESS", old)
    recent = make_job(r, "SUCCESS")
    seen, batches = [], 0
    for batch in jobstore.expired_jobs(r, time.time() - 86400, batch=3):
        assert len(batch) <= 3
        batches += 1
        for record in batch:
            seen.append(record["id"])
            jobstore.remove(r, record)
    assert sorted(seen) == sorted(finished) and batches >= 3
    assert set(r.zrange(jobstore.JOBS_KEY, 0, -1)) == {still_running, recent}


def test_indexes_are_seeded_once_from_older_records(r):
    """Index jobs recorded before the indexes existed, once per Redis."""
    r.delete(jobstore.SEEDED_KEY)
    job_id = str(uuid.uuid4())
    r.hset(jobstore.JOB_KEY.format(job_id), mapping={"id": job_id, "owner": "u"})
    assert [record["id"] for record, _ in jobstore.open_jobs(r)] == [job_id]
    assert r.zscore(jobstore.JOBS_KEY, job_id) is not None
