"""GET /api/jobs with a filter, search, sort and cursor: the answers, and bad queries refused."""

from __future__ import annotations

import json
import uuid

import pytest

from tasks import jobstore


def add_job(
    app, user: str, state: str | None, filename: str = "a.csv", batch: str | None = None
) -> str:
    """Record a job of ``user`` in ``state`` (None: queued), as the API and worker would, sent
    alone or as part of ``batch``."""
    r = app.extensions["redis"]
    job_id = str(uuid.uuid4())
    fields = {"batch": batch} if batch else {}
    jobstore.create(r, job_id, user, filename, 3, "checksum", {}, **fields)
    if state:
        meta = {"status": state, "result": None, "date_done": jobstore.now_iso()}
        r.set(jobstore.META_KEY.format(job_id), json.dumps(meta))
    return job_id


@pytest.fixture
def user_id(client) -> str:
    """Return the id of the client's user."""
    return client.get("/api/session").get_json()["user"]


def test_filtered_list_has_jobs_total_and_next(app, client, user_id):
    """A filtered list answers its page, the count of all matches, and the next cursor."""
    failed = [add_job(app, user_id, "FAILURE", f"bad-{n}.csv") for n in range(3)]
    add_job(app, user_id, "SUCCESS", "bad-but-fine.csv")
    add_job(app, user_id, None, "other.csv")
    first = client.get("/api/jobs?state=FAILURE,REVOKED&q=BAD&limit=2").get_json()
    assert [j["id"] for j in first["jobs"]] == failed[:0:-1]
    assert first["total"] == 3 and first["next"]
    rest = client.get(f"/api/jobs?state=failure&q=bad&limit=2&cursor={first['next']}").get_json()
    assert [j["id"] for j in rest["jobs"]] == [failed[0]] and rest["next"] is None
    everything = client.get("/api/jobs").get_json()
    assert everything["total"] == 5 and everything["next"] is None


def test_before_still_pages_older_jobs(app, client, user_id):
    """The older ``before=<id>`` paging lists the jobs older than that one."""
    made = [add_job(app, user_id, None) for _ in range(3)]
    page = client.get(f"/api/jobs?before={made[1]}").get_json()
    assert [j["id"] for j in page["jobs"]] == [made[0]]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("state=DONE", 400, "bad_state"),
        ("state=SUCCESS,nope", 400, "bad_state"),
        ("sort=fastest", 400, "bad_sort"),
        ("processor=nope", 400, "unknown_processor"),
        ("q=" + "x" * 201, 400, "bad_query"),
        ("cursor=abc", 400, "bad_cursor"),
        ("cursor=1.5_not-a-uuid", 400, "bad_cursor"),
        ("limit=0", 400, "bad_limit"),
        ("limit=many", 400, "bad_limit"),
        ("batch=nothing", 400, "bad_batch"),
        ("batch=NONE", 400, "bad_batch"),
        (f"batch={uuid.uuid4()}", 400, "bad_batch"),
        ("before=zzz", 400, "bad_cursor"),
        ("before=" + "1" * 1000, 400, "bad_cursor"),
        (f"before={uuid.uuid4()}", 404, "not_found"),
    ],
)
def test_bad_list_queries_are_refused_with_json(client, query, status, code):
    """Every bad query is answered with the contract's JSON error."""
    response = client.get(f"/api/jobs?{query}")
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_batch_none_lists_the_jobs_sent_alone(app, client, user_id):
    """``batch=none`` lists and counts only the jobs in no batch; a search finds every job,
    each naming its batch."""
    batch = str(uuid.uuid4())
    parts = [add_job(app, user_id, "SUCCESS", f"part-{n}.csv", batch) for n in range(3)]
    alone = add_job(app, user_id, "SUCCESS", "alone.csv")
    page = client.get("/api/jobs?batch=none").get_json()
    assert [j["id"] for j in page["jobs"]] == [alone] and page["total"] == 1
    assert "batch" not in page["jobs"][0]
    found = client.get("/api/jobs?q=PART").get_json()
    assert [j["id"] for j in found["jobs"]] == parts[::-1] and found["total"] == 3
    assert {j["batch"] for j in found["jobs"]} == {batch}
    assert client.get("/api/jobs?batch=").get_json()["total"] == 4


def test_a_bulk_filter_with_batch_none_leaves_the_batches_jobs(app, client, user_id):
    """A bulk delete by ``{"state": "SUCCESS", "batch": "none"}`` deletes only the jobs sent
    alone; a bad ``batch`` is refused and deletes nothing."""
    batch = str(uuid.uuid4())
    parts = [add_job(app, user_id, "SUCCESS", f"part-{n}.csv", batch) for n in range(2)]
    alone = add_job(app, user_id, "SUCCESS", "alone.csv")
    refused = client.post("/api/jobs/bulk", json={"action": "delete", "filter": {"batch": "every"}})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "bad_batch"
    assert client.get("/api/jobs").get_json()["total"] == 3
    body = {"action": "delete", "filter": {"state": "SUCCESS", "batch": "none"}}
    answer = client.post("/api/jobs/bulk", json=body).get_json()
    assert answer["done"] == [alone] and answer["remaining"] == 0
    listed = client.get("/api/jobs").get_json()
    assert sorted(j["id"] for j in listed["jobs"]) == sorted(parts)
