"""The job list's indexes: filter, search, sort, count and page in Redis, kept as jobs change."""

from __future__ import annotations

import json
import random
import time
import tracemalloc
import uuid

import pytest
import redis

from tasks import joblist
from tasks import jobstore
from tasks.joblist import Query
from tasks.joblist import indexes
from tasks.joblist import mirror


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
    batch: str | None = None,
) -> str:
    """Record a job of ``owner`` in ``state`` (None: queued) that ran ``duration`` seconds,
    sent alone or as part of ``batch``."""
    job_id = str(uuid.uuid4())
    fields = {"batch": batch} if batch else {}
    jobstore.create(r, job_id, owner, filename, 1, processor, {}, **fields)
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


def names_lines(r: redis.Redis, owner: str = "u") -> list[str]:
    """Return the ids in a user's search string, one per line."""
    text = r.get(joblist.key(owner, "names")) or ""
    return [line.split("\t")[1][:36] for line in text.splitlines()]


def test_a_search_lists_what_a_plain_scan_of_the_jobs_finds(r):
    """Every search, filter, order and page gives what reading each job would, page by page."""
    rng = random.Random(3)
    jobs = {}
    for n in range(40):
        state = rng.choice([None, "PROGRESS", "SUCCESS", "SUCCESS", "FAILURE", "REVOKED"])
        processor = rng.choice(["checksum", "simulate"])
        name = rng.choice(["Report", "report-final", "photo", "Data"]) + f"-{n}.csv"
        batch = "b1" if n % 3 == 0 else None
        # Equal durations: the order then goes by id, as Redis orders ties.
        duration = rng.choice([1.0, 2.5, 2.5, 7.0])
        job_id = make_job(r, state, processor, name, duration, batch=batch)
        jobs[job_id] = (state or "PENDING", processor, name.casefold(), batch, duration)
    created = {j: r.zscore(jobstore.USER_KEY.format("u"), j) for j in jobs}
    asks = [
        {"q": "report"},
        {"q": "REPORT", "sort": "oldest"},
        {"q": "-1", "sort": "duration"},
        {"q": "report", "states": frozenset({"SUCCESS", "FAILURE"}), "processor": "simulate"},
        {"q": "csv", "no_batch": True},
        {"q": "data", "states": frozenset({"PENDING", "PROGRESS", "REVOKED"})},
        {"no_batch": True},
        {"no_batch": True, "states": frozenset({"SUCCESS"}), "sort": "duration"},
    ]
    for asked in asks:
        expected = [
            j
            for j, (state, processor, name, batch, _) in jobs.items()
            if asked.get("q", "").casefold() in name
            and state in asked.get("states", {state})
            and processor == asked.get("processor", processor)
            and not (asked.get("no_batch") and batch)
        ]
        sort = asked.get("sort", "newest")
        if sort == "duration":
            done = {j: jobs[j][4] if jobs[j][0] in joblist.ENDED_STATES else -1 for j in jobs}
            expected.sort(key=lambda j: (done[j], j), reverse=True)
        else:
            expected.sort(key=lambda j: (created[j], j), reverse=sort == "newest")
        assert everything(r, **asked) == expected, asked
        assert joblist.search(r, "u", Query(**asked)).total == len(expected), asked


def test_the_search_string_is_compacted_after_deletes(r):
    """Deleted jobs' lines leave the search string once they are a quarter of it; the search
    never lists them, before or after, and lines written after the compaction are found."""
    made = [make_job(r, "SUCCESS", filename=f"keep-{n}.csv") for n in range(8)]
    assert everything(r, q="keep") == made[::-1]
    size = r.strlen(joblist.key("u", "names"))
    jobstore.remove(r, jobstore.get(r, made[0]))
    # One delete in eight is not yet worth a rewrite: the line stays, marked gone.
    assert everything(r, q="keep") == made[:0:-1]
    assert r.strlen(joblist.key("u", "names")) == size
    for job_id in made[1:3]:
        jobstore.remove(r, jobstore.get(r, job_id))
    assert everything(r, q="keep") == made[:2:-1]
    assert sorted(names_lines(r)) == sorted(made[3:])
    assert r.strlen(joblist.key("u", "names")) < size
    assert not r.exists(joblist.key("u", "gone"))
    later = make_job(r, "FAILURE", filename="keep-late.csv")
    assert everything(r, q="keep") == [later, *made[:2:-1]]
    assert joblist.search(r, "u", Query(q="keep")).total == 6


def test_a_job_that_ends_is_written_to_the_search_string_once(r):
    """Two processes that see the same job end write its line once."""
    job_id = make_job(r, "SUCCESS", filename="once.csv")
    record = jobstore.get(r, job_id)
    created = r.zscore(jobstore.USER_KEY.format("u"), job_id)
    for _ in range(2):
        with r.pipeline() as pipe:
            joblist.index_ended(
                pipe, "u", job_id, created, "checksum", "SUCCESS", 1.0, record["filename"]
            )
            pipe.execute()
    joblist.search(r, "u", Query())
    assert names_lines(r) == [job_id]


def test_jobs_of_a_batch_are_left_out_of_the_list_of_jobs_sent_alone(r):
    """``no_batch`` lists and counts only the jobs sent alone; without it, every job."""
    alone = make_job(r, "SUCCESS", filename="alone.csv")
    queued = make_job(r, filename="queued.csv")
    batched = [make_job(r, "SUCCESS", filename=f"part-{n}.csv", batch="b") for n in range(3)]
    running = make_job(r, "PROGRESS", filename="part-3.csv", batch="b")
    assert everything(r, no_batch=True) == [queued, alone]
    assert joblist.search(r, "u", Query(no_batch=True)).total == 2
    assert everything(r) == [running, *batched[::-1], queued, alone]
    assert everything(r, q="part") == [running, *batched[::-1]]
    assert everything(r, q="part", no_batch=True) == []
    assert everything(r, states=frozenset({"SUCCESS"}), no_batch=True) == [alone]


def test_a_search_sees_jobs_that_ended_since_the_last_search(r):
    """A job that ends after a search is found by the next one (read from the string's end)."""
    first = make_job(r, "SUCCESS", filename="Ünïcode-first.csv")
    assert everything(r, q="ünïcode") == [first]
    running = make_job(r, filename="ünïcode-second.csv")
    assert everything(r, q="ÜNÏCODE") == [running, first]
    meta = {"status": "FAILURE", "result": None, "date_done": jobstore.now_iso()}
    r.set(jobstore.META_KEY.format(running), json.dumps(meta))
    assert everything(r, q="ünïcode", states=frozenset({"FAILURE"})) == [running]
    assert everything(r, q="ünïcode") == [running, first]


def test_a_search_passes_over_jobs_deleted_before_or_after_lines_were_read(r):
    """Deleted jobs are left out whether their lines were read before the delete or after it,
    and lines that come after a delete are found, until the compaction."""
    made = [make_job(r, "SUCCESS", filename=f"gone-{n}.csv") for n in range(12)]
    assert everything(r, q="gone") == made[::-1]
    jobstore.remove(r, jobstore.get(r, made[5]))
    assert everything(r, q="gone") == [j for j in made[::-1] if j != made[5]]
    late = make_job(r, "REVOKED", filename="gone-late.csv")
    jobstore.remove(r, jobstore.get(r, made[0]))
    expected = [late, *(j for j in made[::-1] if j not in (made[0], made[5]))]
    assert everything(r, q="gone") == expected
    assert joblist.search(r, "u", Query(q="gone")).total == 11
    assert r.scard(joblist.key("u", "gone")) == 2  # not compacted yet


def test_a_search_copy_keeps_a_job_in_about_130_bytes():
    """A process's copy of 2,000 ended jobs' search lines holds each job's id, times, batch
    and processor packed: about 130 bytes a job with its name, where lists of objects took
    244 (traced allocations, so the count does not depend on the machine)."""
    lines = "".join(
        indexes.search_line(
            str(uuid.uuid4()), f"data-{n}.csv", "SUCCESS", n % 3 == 0, 1e9 + n, n / 7, "simulate"
        )
        for n in range(2000)
    )
    tracemalloc.start()
    copy = mirror.Copy()
    mirror._append(copy, lines)
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    column = copy.columns["S"]
    assert column.id(1999) == lines.splitlines()[-1].split("\t")[1][:36]
    assert kept / 2000 < 140
