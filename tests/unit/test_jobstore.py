"""The job records and indexes: a page of jobs is one command; periodic work reads what is
unfinished or expired, a batch at a time."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from tasks import jobstore


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


class CountingConnection(redis.Connection):
    """A Redis connection that counts what it sends and the replies it parses."""

    sent = 0
    replies = 0

    def send_packed_command(self, command, check_health=True):
        """Count one round trip's sending."""
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)

    def read_response(self, *args, **kwargs):
        """Count one reply parsed."""
        CountingConnection.replies += 1
        return super().read_response(*args, **kwargs)


@pytest.mark.parametrize("count", [2, 50, 500])
def test_a_page_of_jobs_is_read_in_two_commands_whatever_its_size(r, count):
    """Read the records and backend entries of 2, 50 or 500 jobs in one round trip of two
    commands (a script, loaded by the first read only, and one ``MGET``)."""
    ids = [make_job(r, "SUCCESS" if n % 2 else None) for n in range(count)]
    kwargs = r.connection_pool.connection_kwargs
    pool = redis.ConnectionPool(connection_class=CountingConnection, **kwargs)
    counted = redis.Redis(connection_pool=pool)
    counted.script_flush()
    jobstore.get_with_meta(counted, ids[:1])
    CountingConnection.sent = CountingConnection.replies = 0
    found = jobstore.get_with_meta(counted, ids)
    assert (CountingConnection.sent, CountingConnection.replies) == (1, 2)
    assert [record["id"] for record, _ in found] == ids
    pool.disconnect()


def test_a_page_keeps_every_field_skips_gone_jobs_and_tells_queued_ones(r):
    """Return each job's record as stored (any text), its backend entry decoded, None for a
    queued job with none yet, and nothing for a deleted job, in the order asked."""
    odd = 'résumé "q" \\ / \t tab 漢字 .csv'
    queued, done, gone = make_job(r, None), make_job(r, "SUCCESS"), make_job(r, None)
    r.hset(jobstore.JOB_KEY.format(queued), mapping={"filename": odd, "empty": ""})
    r.delete(jobstore.JOB_KEY.format(gone))
    found = jobstore.get_with_meta(r, [done, gone, queued])
    assert [record["id"] for record, _ in found] == [done, queued]
    assert found[0][1]["status"] == "SUCCESS" and found[1][1] is None
    assert found[1][0] == r.hgetall(jobstore.JOB_KEY.format(queued))
    assert found[1][0]["filename"] == odd and found[1][0]["empty"] == ""
    assert jobstore.get_with_meta(r, []) == []
