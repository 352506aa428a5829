"""Batches in this process: the aggregate of a batch's jobs (weighted by bytes, states), the
zip writer, and the refusals of ``POST /api/batches`` that need no worker."""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile

import pytest
import redis

from tasks import batches
from tasks import jobstore
from tasks.formats import zipstream


def record(sizes: dict[str, int], refused: list | None = None, **more: str) -> dict:
    """Return a batch record with jobs of these sizes."""
    return {
        "id": "b1",
        "owner": "u",
        "processor": "checksum",
        "jobs": json.dumps(list(sizes)),
        "sizes": json.dumps(sizes),
        "refused": json.dumps(refused or []),
        "created_at": "2026-12-01T00:00:00+00:00",
        **more,
    }


def job(
    job_id: str, state: str, current=0, total=None, rate=None, finished=None, started=None
) -> dict:
    """Return a job snapshot with the fields the aggregate reads."""
    return {
        "id": job_id,
        "state": state,
        "progress": {"current": current, "total": total, "rate": rate},
        "started_at": started,
        "finished_at": finished,
    }


START = "2026-12-01T00:00:00+00:00"
START_TS = 1_796_083_200.0  # START as Unix time


def test_progress_is_weighted_by_bytes():
    """A half-done 1,000,000-byte job and nine queued 1,000-byte jobs: 1 GB-style honesty."""
    sizes = {"big": 1_000_000} | {f"s{i}": 1_000 for i in range(9)}
    jobs = [job("big", "PROGRESS", 500_000, 1_000_000, rate=100_000.0, started=START)]
    jobs += [job(f"s{i}", "PENDING") for i in range(9)]
    snap = batches.aggregate(record(sizes), jobs, now=START_TS + 5)
    assert snap["state"] == "PROGRESS"
    assert snap["progress"]["total"] == 1_009_000
    assert snap["progress"]["current"] == 500_000
    assert snap["progress"]["percent"] == pytest.approx(100 * 500_000 / 1_009_000, abs=0.01)
    assert snap["progress"]["rate"] == pytest.approx(100_000.0)
    assert snap["progress"]["eta_s"] == pytest.approx(509_000 / 100_000, abs=0.1)
    assert snap["counts"] == {"PENDING": 9, "PROGRESS": 1}


def test_rate_in_another_unit_is_turned_into_bytes():
    """A job counting rows at 10 rows/s of 100 rows, 1,000 bytes, goes 100 bytes/s."""
    snap = batches.aggregate(record({"a": 1000}), [job("a", "PROGRESS", 50, 100, rate=10.0)])
    assert snap["progress"]["current"] == 500
    assert snap["progress"]["rate"] == pytest.approx(100.0)


def test_time_left_is_the_batchs_own_bytes_a_second_not_small_jobs_rates():
    """Two 1,000-byte simulate jobs at 10 steps a second, a 100 MB file queued: the small
    jobs' step rates, turned into bytes (2,000 a second), once said 14 h left for a batch of
    seconds. Before a basis (a share of the batch's bytes done) there is no time left; after,
    it is what is left at the bytes the batch has done a second since its first job started."""
    sizes = {"a": 1_000, "b": 1_000, "big": 100_000_000}
    small = [job(n, "PROGRESS", 5, 10, rate=10.0, started=START) for n in ("a", "b")]
    queued = [job("big", "PENDING")]
    snap = batches.aggregate(record(sizes, processor="simulate"), small + queued, now=START_TS + 1)
    assert snap["progress"]["eta_s"] is None

    ended = [job(n, "SUCCESS", 10, 10, started=START, finished=START) for n in ("a", "b")]
    running = [job("big", "PROGRESS", 4, 10, rate=10.0, started=START)]
    snap = batches.aggregate(record(sizes), ended + running, now=START_TS + 2)
    done = 2_000 + 40_000_000
    assert snap["progress"]["current"] == done
    assert snap["progress"]["eta_s"] == pytest.approx((100_002_000 - done) / (done / 2), abs=0.1)


@pytest.mark.parametrize(
    ("state", "started"),
    [("PENDING", None), ("PROGRESS", None), ("PROGRESS", "2026-12-01T00:00:09+00:00")],
    ids=["queued", "no-start", "clock-ahead"],
)
def test_no_time_left_without_a_start_to_measure_from(state, started):
    """No job started, a running job without its start, or a start after now: no time left."""
    snap = batches.aggregate(
        record({"a": 1_000}), [job("a", state, 5, 10, rate=1.0, started=started)], now=START_TS
    )
    assert snap["progress"]["eta_s"] is None


@pytest.mark.parametrize(
    ("states", "refused", "cancelled", "expected"),
    [
        (["PENDING", "PENDING"], [], "", "PENDING"),
        (["PENDING", "STARTED"], [], "", "PROGRESS"),
        (["SUCCESS", "PENDING"], [], "", "PROGRESS"),
        (["SUCCESS", "SUCCESS"], [], "", "SUCCESS"),
        (["SUCCESS", "SUCCESS"], [{"filename": "x"}], "", "PARTIAL"),
        (["SUCCESS", "FAILURE"], [], "", "PARTIAL"),
        (["SUCCESS", "REVOKED"], [], "", "PARTIAL"),
        (["FAILURE", "FAILURE"], [], "", "FAILURE"),
        (["REVOKED", "REVOKED"], [], "", "REVOKED"),
        (["SUCCESS", "REVOKED"], [], "1", "REVOKED"),
    ],
)
def test_batch_state_follows_its_jobs(states, refused, cancelled, expected):
    """Each mix of job states gives the contract's batch state."""
    sizes = {f"j{i}": 10 for i in range(len(states))}
    jobs = [job(f"j{i}", s, finished="2026-12-01T00:00:01+00:00") for i, s in enumerate(states)]
    extra = {"cancelled": cancelled} if cancelled else {}
    snap = batches.aggregate(record(sizes, refused, **extra), jobs)
    assert snap["state"] == expected
    ended = expected not in ("PENDING", "PROGRESS")
    assert (snap["finished_at"] is not None) == ended
    # Cancelled jobs that never started did no work: their bytes are not done.
    assert (snap["progress"]["percent"] == 100.0) == (ended and "REVOKED" not in states)


@pytest.mark.parametrize(
    ("jobs", "percent"),
    [
        ([job("a", "REVOKED"), job("b", "REVOKED")], 0.0),
        ([job("a", "REVOKED", 5, 20), job("b", "REVOKED")], 12.5),
        ([job("a", "SUCCESS", 20, 20), job("b", "REVOKED", 10, 20)], 75.0),
        ([job("a", "FAILURE", 3, 20), job("b", "REVOKED", 10, 20)], 75.0),
    ],
    ids=["none-started", "one-a-quarter", "done-and-half", "failed-and-half"],
)
def test_a_cancelled_job_counts_the_work_it_did(jobs, percent):
    """SUCCESS and FAILURE count whole; a cancelled job counts what it had done when it
    stopped (0 if it never started): a batch cancelled early does not read 100 %."""
    snap = batches.aggregate(record({"a": 100, "b": 100}, cancelled="1"), jobs)
    assert snap["state"] == "REVOKED"
    assert snap["progress"]["percent"] == percent
    assert snap["progress"]["current"] == 2 * percent


def test_time_left_leaves_out_what_cancelled_jobs_will_never_do():
    """Four 1,000-byte jobs: one done, one cancelled a quarter in, one half done, one queued,
    10 s after the first started. Done: 1,000 + 250 + 500 bytes; left: 500 + 1,000 (not the
    cancelled job's 750): 1,500 bytes at 175 bytes a second."""
    sizes = {n: 1_000 for n in "abcd"}
    jobs = [
        job("a", "SUCCESS", 10, 10, started=START, finished=START),
        job("b", "REVOKED", 5, 20, started=START, finished=START),
        job("c", "PROGRESS", 1, 2, started=START),
        job("d", "PENDING"),
    ]
    snap = batches.aggregate(record(sizes), jobs, now=START_TS + 10)
    assert snap["progress"]["current"] == 1_750
    assert snap["progress"]["eta_s"] == pytest.approx(1_500 / 175, abs=0.1)


def test_a_batch_with_jobs_deleted_counts_only_the_jobs_left():
    """Of three jobs, two were deleted (their snapshots are gone): the batch lists and counts
    the one left, its bar is over that job alone, and it says two were deleted."""
    sizes = {"a": 100, "b": 200, "c": 300}
    snap = batches.aggregate(record(sizes), [job("b", "REVOKED", 1, 4, finished=START)])
    assert snap["jobs"] == ["b"]
    assert snap["counts"] == {"REVOKED": 1}
    assert snap["deleted_jobs"] == 2
    assert snap["progress"]["total"] == 200 and snap["progress"]["current"] == 50
    assert snap["progress"]["percent"] == 25.0


def made_batch(r: redis.Redis, count: int) -> tuple[dict, list[dict]]:
    """Record a batch of ``count`` queued jobs of user "u" in Redis; return its record and
    its jobs' records."""
    batch_id = str(uuid.uuid4())
    jobs = []
    for i in range(count):
        job_id = str(uuid.uuid4())
        jobs.append(jobstore.create(r, job_id, "u", f"f{i}", 10, "checksum", {}, batch=batch_id))
    made = batches.create(r, batch_id, "u", "checksum", {}, [(j["id"], 10) for j in jobs], [])
    return made, jobs


def batch_events(r: redis.Redis) -> redis.client.PubSub:
    """Return a subscription to the worker side's events, subscribed."""
    pubsub = r.pubsub()
    pubsub.subscribe(jobstore.EVENTS_CHANNEL)
    pubsub.get_message(timeout=1)
    return pubsub


def received(pubsub: redis.client.PubSub) -> list[dict]:
    """Return the batch payloads published so far."""
    found = []
    while message := pubsub.get_message(timeout=0.2):
        event = json.loads(message["data"])
        if "batch" in event:
            found.append(event["batch"])
    return found


def test_deleting_a_job_of_a_batch_changes_it_and_the_last_one_removes_it(r, tmp_path):
    """Every job delete passes jobstore.remove: a job of a batch leaves it (the others stay,
    the web told it changed), and the last one takes the batch and its place in the list."""
    made, jobs = made_batch(r, 2)
    pubsub = batch_events(r)
    jobstore.remove(r, jobs[0], tmp_path)
    assert batches.get(r, made["id"]) is not None
    assert batches.snapshot(r, made)["deleted_jobs"] == 1
    assert received(pubsub) == [{"id": made["id"]}]
    jobstore.remove(r, jobs[1], tmp_path)
    assert batches.get(r, made["id"]) is None
    assert batches.page(r, "u", 10) == []
    assert not r.exists(batches.OPEN_KEY.format(made["id"]))
    assert received(pubsub) == [{"id": made["id"], "deleted": True}]


def delete(r: redis.Redis, record: dict, start: threading.Barrier, root) -> None:
    """Delete a job once every thread of ``start`` is there."""
    start.wait()
    jobstore.remove(r, record, root)


def test_deletes_at_once_remove_the_batch_exactly_once(r, tmp_path):
    """Eight threads delete the eight jobs of a batch at the same moment, twenty times over:
    every time the batch is gone, and it is told gone once."""
    for _ in range(20):
        made, jobs = made_batch(r, 8)
        pubsub = batch_events(r)
        start = threading.Barrier(len(jobs))

        threads = [threading.Thread(target=delete, args=(r, j, start, tmp_path)) for j in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert batches.get(r, made["id"]) is None
        told = received(pubsub)
        assert told.count({"id": made["id"], "deleted": True}) == 1, told
        assert len(told) == 8


def test_zip_stream_is_a_valid_archive(tmp_path):
    """Entries from files and bytes come out as one readable zip."""
    src = tmp_path / "a"
    src.write_bytes(b"x" * 3_000_000)
    data = b"".join(zipstream.stream([("a.bin", src), ("b.json", b"{}")]))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["a.bin", "b.json"]
        assert archive.read("a.bin") == b"x" * 3_000_000
        assert archive.read("b.json") == b"{}"


def test_unique_names_never_collide():
    """Same names (any case) get a number before their extension."""
    taken: set[str] = set()
    names = [zipstream.unique_name(n, taken) for n in ["a.csv", "A.csv", "a.csv", "b", "b"]]
    assert names == ["a.csv", "A (2).csv", "a (3).csv", "b", "b (2)"]


def batch_form(files: list[tuple[str, bytes]], processor: str = "checksum") -> dict:
    """Return a test client's form of several files for one processor."""
    return {"processor": processor, "file": [(io.BytesIO(c), name) for name, c in files]}


def test_every_file_refused_answers_each_reason(client):
    """A batch whose files are all refused: 400 with each file's reason, nothing made."""
    files = [("empty.csv", b""), ("bin.csv", b"\x00\x01\x02" * 10)]
    response = client.post("/api/batches", data=batch_form(files, "csv-profile"))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"]["code"] == "all_refused"
    assert [(r["filename"], r["error"]["code"]) for r in body["refused"]] == [
        ("empty.csv", "empty_file"),
        ("bin.csv", "unsupported_file"),
    ]
    assert client.get("/api/batches").get_json() == {"batches": []}
    assert client.job_count() == 0


def test_too_many_files_answers_413_and_stores_nothing(app, client, monkeypatch):
    """More files than MAX_BATCH_FILES: 413 JSON, no batch, no job, no file left."""
    monkeypatch.setitem(app.config, "MAX_BATCH_FILES", 3)
    files = [(f"f{i}.txt", b"hello") for i in range(12)]
    response = client.post("/api/batches", data=batch_form(files))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_many_files"
    assert client.get("/api/batches").get_json() == {"batches": []}
    assert client.job_count() == 0
    assert not list((app.config["UPLOAD_DIR"] / ".incoming").iterdir())


def test_a_body_over_the_limit_is_not_called_too_many_files(app, client, monkeypatch):
    """Files that together pass the request's limit: 413 saying so, not too_many_files."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    monkeypatch.setitem(app.config, "MAX_BATCH_FILES", 3)
    # The body may be 2000 + 3 * 1024 bytes; these three files weigh 6000.
    files = [(f"f{i}.txt", b"x" * 2000) for i in range(3)]
    response = client.post("/api/batches", data=batch_form(files))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] != "too_many_files"
    assert client.job_count() == 0


def test_a_batch_past_the_active_cap_names_the_numbers(app, client, monkeypatch):
    """A batch whose files would pass MAX_ACTIVE_JOBS: 429 naming the files, the active jobs
    and the cap; nothing made. One that fits is taken."""
    monkeypatch.setitem(app.config, "MAX_ACTIVE_JOBS", 3)
    response = client.post("/api/batches", data=batch_form([(f"{i}.txt", b"x") for i in range(4)]))
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "too_many_jobs"
    assert "add 4 jobs to the 0" in error["message"] and "3 is the most" in error["message"]
    assert client.job_count() == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"processor": "nope", "file": [(io.BytesIO(b"x"), "a")]}, "unknown_processor"),
        ({"processor": "checksum"}, "no_file"),
        (
            {"processor": "checksum", "options": "[", "file": [(io.BytesIO(b"x"), "a")]},
            "bad_options",
        ),
        (
            {"processor": "checksum", "notify": '["fax"]', "file": [(io.BytesIO(b"x"), "a")]},
            "bad_notify",
        ),
        (
            {"processor": "checksum", "notify_jobs": "{", "file": [(io.BytesIO(b"x"), "a")]},
            "bad_notify",
        ),
        (
            {"processor": "checksum", "run_at": "tomorrow", "file": [(io.BytesIO(b"x"), "a")]},
            "bad_run_at",
        ),
        (
            {
                "processor": "checksum",
                "run_at": "2001-01-01T00:00:00Z",
                "file": [(io.BytesIO(b"x"), "a")],
            },
            "run_at_past",
        ),
    ],
)
def test_bad_batch_requests_answer_400(client, data, code):
    """A bad processor, no file or bad options: 400 with its code, nothing made."""
    response = client.post("/api/batches", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert client.job_count() == 0


@pytest.mark.parametrize(
    "path", ["/api/batches/nope", "/api/batches/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12]
)
def test_unknown_batch_is_404(client, path):
    """An unknown batch (or not an id at all) is 404 JSON."""
    for response in (client.get(path), client.post(path + "/cancel"), client.get(path + "/result")):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_a_maximal_batch_fits_the_default_cap(app, client):
    """With the default settings a batch of MAX_BATCH_FILES files is taken (run later, so its
    jobs are not sent); cancelled before its time, it leaves the due set, every job has its
    cancel flag, and the sender sends nothing of it."""
    from datetime import UTC
    from datetime import datetime
    from datetime import timedelta

    from tasks import jobstore
    from tasks import later

    count = app.config["MAX_BATCH_FILES"]
    assert app.config["MAX_ACTIVE_JOBS"] >= count
    run_at = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    form = batch_form([(f"f{i}.txt", b"x") for i in range(count)]) | {"run_at": run_at}
    response = client.post("/api/batches", data=form)
    assert response.status_code == 202, response.get_json()
    made = response.get_json()
    assert made["state"] == "SCHEDULED" and len(made["jobs"]) == count
    r = app.extensions["redis"]
    assert r.zscore(later.DUE_KEY, batches.DUE_MEMBER.format(made["id"])) is not None
    cancelled = client.post(f"/api/batches/{made['id']}/cancel")
    assert cancelled.status_code == 202
    assert r.zscore(later.DUE_KEY, batches.DUE_MEMBER.format(made["id"])) is None
    assert all(jobstore.cancel_requested(r, job_id) for job_id in made["jobs"])
    assert later.send_batch(r, made["id"]) is False  # its time come, nothing is sent


@pytest.mark.parametrize(
    ("name", "portable"),
    [
        ("<three>.csv.json", "_three_.csv.json"),
        ('a:b|c?"d".xlsx', "a_b_c__d_.xlsx"),
        ("back\\slash.json", "back_slash.json"),
        ("bell\x07.json", "bell_.json"),
        ("CON.txt", "_CON.txt"),
        ("report. ", "report"),
        ("..", "_"),
        ("Straße – 5 € off.csv.json", "Straße – 5 € off.csv.json"),
    ],
)
def test_zip_entry_names_extract_everywhere(name, portable):
    """A result's entry name holds nothing Windows refuses (its reserved characters, control
    characters, device names, a trailing dot or space); other text is kept as it is."""
    assert zipstream.unique_name(name, set()) == portable


def test_a_batch_left_without_jobs_by_an_older_version_goes_when_read(app, client):
    """A batch whose jobs were all deleted before a batch went with its last job: reading it,
    or the list, removes it (404, not listed) instead of showing a ghost at 100 %."""
    user = client.get("/api/session").get_json()["user"]
    r = app.extensions["redis"]
    ghost = batches.create(r, str(uuid.uuid4()), user, "checksum", {}, [("gone", 10)], [])
    other = batches.create(r, str(uuid.uuid4()), user, "checksum", {}, [("gone-too", 10)], [])
    assert client.get(f"/api/batches/{ghost['id']}").status_code == 404
    assert batches.get(r, ghost["id"]) is None
    assert client.get("/api/batches").get_json()["batches"] == []
    assert batches.get(r, other["id"]) is None and batches.page(r, user, 10) == []
