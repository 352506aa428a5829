"""The job list's indexes: filter, search, sort, count and page in Redis, kept as jobs change."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from tasks import joblist
from tasks import jobstore
from tasks.joblist import Query


@pytest.fixture
def r(redis_server):
    """Return a client of the tests' Redis on a database of its own, emptied first."""
    client = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/4", decode_responses=True)
    client.flushdb()
    return client


def make_job(
    r: redis.Redis,
    state: str | None = None,
    processor: str = "checksum",
    filename: str = "f.csv",
    duration: float = 1.0,
    owner: str = "u",
) -> str:
    """Record a job of ``owner`` in ``state`` (None: queued) that ran ``duration`` seconds."""
    job_id = str(uuid.uuid4())
    jobstore.create(r, job_id, owner, filename, 1, processor, {})
    if state:
        now = time.time()
        r.hset(jobstore.JOB_KEY.format(job_id), "started_at", jobstore.now_iso(now - duration))
        meta = {"status": state, "result": None, "date_done": jobstore.now_iso(now)}
        r.set(jobstore.META_KEY.format(job_id), json.dumps(meta))
    return job_id


def everything(r: redis.Redis, **asked) -> list[str]:
    """Return every id the query lists, page after page (3 a page)."""
    query = Query(**({"limit": 3} | asked))
    ids: list[str] = []
    while True:
        page = joblist.search(r, "u", query)
        ids += page.ids
        if page.next is None:
            return ids
        query = Query(**(asked | {"limit": 3, "cursor": joblist.decode_cursor(page.next)}))


def test_pages_list_every_job_once_newest_first(r):
    """Paging newest first lists each job once, in creation order reversed, with the total."""
    made = [make_job(r) for _ in range(8)]
    assert everything(r) == made[::-1]
    assert everything(r, sort="oldest") == made
    assert joblist.search(r, "u", Query(limit=3)).total == 8


def test_filters_by_states_and_processor(r):
    """A filter by states and processor lists and counts only those jobs."""
    queued = make_job(r)
    running = make_job(r, "PROGRESS", "simulate")
    done = make_job(r, "SUCCESS", "simulate")
    failed = make_job(r, "FAILURE")
    cancelled = make_job(r, "REVOKED", "simulate")
    assert set(everything(r, states=frozenset({"FAILURE", "REVOKED"}))) == {failed, cancelled}
    assert everything(r, states=frozenset({"PENDING"})) == [queued]
    assert everything(r, states=frozenset({"PROGRESS"}), processor="simulate") == [running]
    assert everything(r, processor="simulate") == [cancelled, done, running]
    page = joblist.search(
        r, "u", Query(states=frozenset({"SUCCESS", "REVOKED"}), processor="simulate")
    )
    assert page.total == 2 and set(page.ids) == {done, cancelled}


def test_jobs_that_end_move_to_their_state(r):
    """A job listed as running is listed under its end state once it has ended."""
    job_id = make_job(r)
    assert everything(r, states=frozenset({"PENDING"})) == [job_id]
    meta = {"status": "SUCCESS", "result": None, "date_done": jobstore.now_iso()}
    r.set(jobstore.META_KEY.format(job_id), json.dumps(meta))
    assert everything(r, states=frozenset({"PENDING"})) == []
    assert everything(r, states=frozenset({"SUCCESS"})) == [job_id]


def test_sort_by_duration_puts_longest_first_and_unfinished_last(r):
    """Duration order is longest first; jobs not yet finished come after the finished."""
    short = make_job(r, "SUCCESS", duration=1)
    long = make_job(r, "FAILURE", duration=50)
    middle = make_job(r, "SUCCESS", duration=10)
    queued = make_job(r)
    assert everything(r, sort="duration") == [long, middle, short, queued]
    assert everything(r, sort="duration", states=frozenset({"SUCCESS"})) == [middle, short]


def test_search_is_a_case_insensitive_substring_of_the_name(r):
    """The search finds names holding the text in any case, counted, paged and filtered."""
    hits = [make_job(r, filename=f"Report-{n}.CSV") for n in range(5)]
    make_job(r, filename="photo.png")
    failed = make_job(r, "FAILURE", filename="old report.csv")
    assert everything(r, q="report") == [failed, *hits[::-1]]
    assert joblist.search(r, "u", Query(q="REPORT-", limit=2)).total == 5
    assert everything(r, q="report", states=frozenset({"FAILURE"})) == [failed]
    assert everything(r, q="report", sort="oldest") == [*hits, failed]
    assert everything(r, q="nothing") == []


def test_deleted_jobs_leave_every_index(r):
    """A deleted job is neither listed nor counted, whatever the filter."""
    job_id = make_job(r, "SUCCESS", filename="gone.csv")
    joblist.search(r, "u", Query())
    jobstore.remove(r, jobstore.get(r, job_id))
    for asked in ({}, {"states": frozenset({"SUCCESS"})}, {"q": "gone"}, {"sort": "duration"}):
        assert joblist.search(r, "u", Query(**asked)).total == 0


def test_other_users_jobs_are_never_listed(r):
    """Another user's jobs are in none of this user's lists."""
    make_job(r, owner="someone-else")
    assert joblist.search(r, "u", Query()).total == 0


def test_jobs_recorded_before_the_indexes_are_listed(r):
    """Jobs recorded before the list indexes existed are indexed on the first list."""
    job_id = make_job(r, "SUCCESS", filename="Old.csv")
    for name in r.keys(joblist.PREFIX.format("u") + "*"):
        r.delete(name)
    assert everything(r, q="old", states=frozenset({"SUCCESS"})) == [job_id]


@pytest.mark.parametrize("text", ["", "x", "1.5", "1.5_nope", "nan_" + str(uuid.uuid4())])
def test_a_bad_cursor_is_refused(text):
    """Anything but a list's own cursor is a ValueError."""
    with pytest.raises(ValueError):
        joblist.decode_cursor(text)
