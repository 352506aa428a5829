"""URL imports, run_at and schedules in this process: bad input answered with clear JSON errors
that change nothing, good input recorded (nothing here is sent: no worker runs)."""

from __future__ import annotations

import io
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from tasks import later
from tasks import schedules
from tasks import timing


def iso(seconds: float) -> str:
    """Return now plus ``seconds`` as ISO 8601 with its offset."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def upload_at(client, run_at: str):
    """Upload a small file to checksum, to run at ``run_at``."""
    data = {"processor": "checksum", "run_at": run_at, "file": (io.BytesIO(b"x"), "a.txt")}
    return client.post("/api/jobs", data=data)


BAD_RUN_AT = [
    ("tomorrow", "bad_run_at"),
    ("2026-13-45T25:00:00+00:00", "bad_run_at"),
    ("2030-01-01T09:00:00", "bad_run_at"),  # no offset: whose 09:00?
    ("2001-01-01T00:00:00Z", "run_at_past"),
    ("2999-01-01T00:00:00Z", "run_at_too_far"),
]


@pytest.mark.parametrize(("run_at", "code"), BAD_RUN_AT)
def test_bad_run_at_of_an_upload_is_refused(client, run_at, code):
    """An upload's run_at that cannot be read, lacks its offset, is past or too far: 400."""
    response = upload_at(client, run_at)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert client.job_count() == 0


@pytest.mark.parametrize(("run_at", "code"), [*BAD_RUN_AT, (12, "bad_run_at")])
def test_bad_run_at_of_a_url_import_is_refused(client, run_at, code):
    """A URL import's run_at is checked alike (a number is not a time)."""
    body = {"url": "https://1.1.1.1/a.csv", "processor": "checksum", "run_at": run_at}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert client.job_count() == 0


def store(app):
    """Return the app's Redis client."""
    return app.extensions["redis"]


def test_upload_with_run_at_is_scheduled_and_kept_in_the_due_set(client, app):
    """A job with run_at days ahead is SCHEDULED, shows its time, and waits in Redis's due set
    scored by it (no broker message, so no visibility timeout to outlast)."""
    days = 3 * 24 * 3600
    response = upload_at(client, iso(days))
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["state"] == "SCHEDULED"
    assert job["progress"]["message"] == "scheduled"
    due = datetime.fromisoformat(job["run_at"]).timestamp()
    assert abs(due - time.time() - days) < 60
    assert store(app).zscore(later.DUE_KEY, job["id"]) == pytest.approx(due, abs=0.01)
    assert client.get(f"/api/jobs/{job['id']}").get_json()["state"] == "SCHEDULED"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "http://127.0.0.1:9/a.csv", "processor": "checksum"}, "url_not_allowed"),
        ({"url": "http://10.0.0.8/a.csv", "processor": "checksum"}, "url_not_allowed"),
        ({"url": "http://169.254.169.254/latest", "processor": "checksum"}, "url_not_allowed"),
        ({"url": "file:///etc/passwd", "processor": "checksum"}, "url_not_allowed"),
        ({"url": "https://1.1.1.1/a", "processor": "nope"}, "unknown_processor"),
        ({"url": "https://1.1.1.1/a", "processor": "simulate", "options": []}, "bad_options"),
        ({"url": "https://1.1.1.1/", "processor": "simulate", "options": {"x": 1}}, "bad_options"),
        ({"url": "https://1.1.1.1/a", "processor": "checksum", "notify": "x"}, "bad_notify"),
        ({"url": "https://1.1.1.1/a", "processor": "checksum", "extra": 1}, "bad_json"),
        ([1, 2], "bad_json"),
        ({"processor": "checksum"}, "not_multipart"),
    ],
)
def test_bad_url_import_is_refused(client, body, code):
    """A URL import Taskboard may not fetch, or with bad fields, is refused and not recorded."""
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert client.job_count() == 0


@pytest.mark.parametrize(
    ("timing", "code", "says"),
    [
        ({"every_s": 5}, "bad_interval", "at least 60"),
        ({"every_s": "60"}, "bad_interval", "number"),
        ({"every_s": True}, "bad_interval", "number"),
        (
            {"cron": "61 * * * *"},
            "bad_cron",
            "minute field of the cron expression '61 * * * *' "
            "is out of range: 61 is not from 0 to 59.",
        ),
        ({"cron": "0 24 * * *"}, "bad_cron", "hour field"),
        ({"cron": "0 0 1 1-13 *"}, "bad_cron", "13 is not from 1 to 12"),
        ({"cron": "0 0 * * 8"}, "bad_cron", "day of the week field"),
        ({"cron": "0 0 31 2 *"}, "bad_cron", "'0 0 31 2 *' never matches a date"),
        ({"cron": "0 0 31 2,4 *"}, "bad_cron", "never matches a date"),
        ({"cron": "* * *"}, "bad_cron", "5 fields"),
        (
            {"cron": "a b c d e"},
            "bad_cron",
            "minute field of the cron expression 'a b c d e' "
            "('a') cannot be read: give * or numbers from 0 to 59",
        ),
        ({"cron": "0 0 * FOO *"}, "bad_cron", "numbers from 1 to 12 (or JAN to DEC)"),
        ({"cron": "* * * * * *"}, "bad_cron", "5 fields"),
        ({"cron": 5}, "bad_cron", "cron expression"),
        ({"every_s": 60, "cron": "* * * * *"}, "bad_schedule", "not both"),
        ({}, "bad_schedule", "every_s"),
    ],
)
def test_bad_schedule_timing_is_refused_naming_the_problem(client, timing, code, says):
    """An interval below the minimum or a cron expression that is invalid: 400 saying why."""
    body = {"url": "https://1.1.1.1/a.csv", "processor": "checksum"} | timing
    response = client.post("/api/schedules", json=body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code
    assert says in error["message"]
    # croniter's own words ("[61 * * * *] is not acceptable", "failed to find next date") stay
    # out.
    assert "acceptable" not in error["message"] and "next date" not in error["message"]
    assert client.get("/api/schedules").get_json() == {"schedules": []}


def test_schedule_to_a_private_address_is_refused(client):
    """A schedule's URL follows the address rules too."""
    body = {"url": "http://127.0.0.1/a.csv", "processor": "checksum", "every_s": 60}
    response = client.post("/api/schedules", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "url_not_allowed"


def test_schedule_lifecycle_over_http(client, app):
    """Create (201, next run one interval on), list, pause, resume with a cron, delete."""
    body = {"url": "https://1.1.1.1/data/a.csv?x=1", "processor": "checksum", "every_s": 3600}
    response = client.post("/api/schedules", json=body)
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert response.headers["Location"] == f"/api/schedules/{made['id']}"
    assert made["paused"] is False and made["every_s"] == 3600 and made["runs"] == []
    assert made["filename"] == "a.csv"
    next_at = datetime.fromisoformat(made["next_run_at"]).timestamp()
    assert 3500 < next_at - time.time() <= 3600
    assert [s["id"] for s in client.get("/api/schedules").get_json()["schedules"]] == [made["id"]]

    headers = {"X-CSRFToken": client.csrf}
    path = f"/api/schedules/{made['id']}"
    paused = client.http.patch(path, json={"paused": True}, headers=headers).get_json()
    assert paused["paused"] is True and paused["next_run_at"] is None
    assert store(app).zscore(schedules.DUE_KEY, made["id"]) is None

    resumed = client.http.patch(
        path, json={"paused": False, "cron": "0 3 * * *"}, headers=headers
    ).get_json()
    assert resumed["cron"] == "0 3 * * *" and resumed["every_s"] is None
    assert datetime.fromisoformat(resumed["next_run_at"]).hour == 3
    assert store(app).zscore(schedules.DUE_KEY, made["id"]) is not None
    bad = client.http.patch(path, json={"paused": "yes"}, headers=headers)
    assert bad.status_code == 400

    assert client.http.delete(path, headers=headers).status_code == 204
    assert client.get(path).status_code == 404
    assert store(app).zscore(schedules.DUE_KEY, made["id"]) is None


def test_another_users_schedule_is_not_found(app, client):
    """A schedule of another user is answered like one that does not exist."""
    from tests.unit.conftest import Client

    body = {"url": "https://1.1.1.1/a.csv", "processor": "checksum", "every_s": 60}
    made = client.post("/api/schedules", json=body).get_json()
    other = Client(app)
    assert other.get(f"/api/schedules/{made['id']}").status_code == 404
    assert other.post(f"/api/schedules/{made['id']}/run").status_code == 404
    assert other.get("/api/schedules").get_json() == {"schedules": []}


@pytest.mark.parametrize(
    ("every", "due", "now", "expected"),
    [
        (60, 1000, 1000, 1060),  # on time
        (60, 1000, 1001, 1060),  # a second late
        (60, 1000, 1000 + 60 * 50 + 5, 1000 + 60 * 51),  # 50 periods missed: one run, phase kept
    ],
)
def test_an_interval_schedule_skips_missed_periods(every, due, now, expected):
    """After a run, the next is the first due time after now: missed periods run once."""
    assert timing.following_run({"every_s": str(every)}, due, now) == expected


def test_a_cron_schedule_skips_missed_periods():
    """A cron schedule's next run after a long outage is its first time after now."""
    due = datetime(2026, 1, 1, 0, 0, tzinfo=UTC).timestamp()
    now = datetime(2026, 1, 5, 12, 30, tzinfo=UTC).timestamp()
    following = timing.following_run({"cron": "0 * * * *"}, due, now)
    assert datetime.fromtimestamp(following, UTC) == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
