"""Batches that tell their owner once when they end, batches run later, and the active-jobs cap
on batches and schedule runs, on real parts: a real SMTP server (aiosmtpd), a real HTTP
receiver, and the notifying stack (accounts mode, on a Redis of its own, with a small
``MAX_ACTIVE_JOBS``)."""

from __future__ import annotations

import json
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from tests.accounts import MAX_ACTIVE_JOBS
from tests.accounts import PUBLIC_URL
from tests.accounts import SMTPServer
from tests.accounts import signed
from tests.accounts import signed_in
from tests.hostile import png
from tests.parts import Stack
from tests.parts import User
from tests.parts import wait_for

CAP = MAX_ACTIVE_JOBS
LONG = {"steps": 400, "interval_ms": 50}


def send_batch(user: User, files: list[tuple[str, bytes]], processor: str = "checksum", **data):
    """Send files as one batch with extra form fields (JSON-encoded when not text)."""
    fields = {"processor": processor}
    fields |= {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    return user.http.post(
        user.url + "/api/batches", files=[("file", f) for f in files], data=fields, timeout=30
    )


def batch(user: User, batch_id: str) -> dict:
    """Return a batch's snapshot."""
    return user.http.get(f"{user.url}/api/batches/{batch_id}").json()


def mails_about(smtp: SMTPServer, batch_id: str) -> list:
    """Return the mails that link to a batch's page."""
    return [m for m in smtp.box.mails if f"/batches/{batch_id}" in m.get_content()]


def settled(stack: Stack, batch_id: str, deliveries: int) -> None:
    """Wait until the worker logged ``deliveries`` notifications of the batch sent, then a
    little more, so that a second delivery would have had its time to arrive."""
    wait_for(lambda: stack.log("worker").count(f"for batch {batch_id} sent") >= deliveries, 20)
    time.sleep(1.0)


def test_batch_of_three_sends_one_mail_and_one_webhook(notifying, smtp, receiver):
    """A batch of three files tells its owner once: one mail (counts, bytes, the batch's page,
    the zip) and one signed webhook with the batch snapshot; its jobs send nothing alone."""
    alice = signed_in(notifying, "alice")
    hook = receiver.url + "/batch"
    files = [(f"part-{i}.txt", b"x" * (100 * (i + 1))) for i in range(3)]
    response = send_batch(alice, files, notify=["email", {"webhook": hook}])
    assert response.status_code == 202, response.text
    made = response.json()
    assert made["notify"] == ["email", {"webhook": hook}]
    wait_for(lambda: batch(alice, made["id"])["state"] == "SUCCESS", 30)
    settled(notifying, made["id"], 2)

    (mail,) = mails_about(smtp, made["id"])
    body = mail.get_content()
    assert mail["Subject"] == "Taskboard: batch of 3 files done"
    assert mail["To"] == "alice@example.org"
    assert "Files: 3 done" in body and "Bytes: 600" in body
    assert f"{PUBLIC_URL}/batches/{made['id']}" in body
    assert f"{PUBLIC_URL}/api/batches/{made['id']}/result" in body
    for job_id in made["jobs"]:
        assert not [m for m in smtp.box.mails if job_id in m.get_content()]
        assert alice.job(job_id)["notify"] == []

    (posted,) = [r for r in receiver.at("/batch") if made["id"].encode() in r["body"]]
    assert signed(posted)
    assert posted["headers"]["X-Taskboard-Event"] == "batch.success"
    snapshot = json.loads(posted["body"])
    assert snapshot["id"] == made["id"] and snapshot["counts"] == {"SUCCESS": 3}
    assert snapshot["jobs"] == made["jobs"] and snapshot["progress"]["percent"] == 100.0


def test_batch_with_a_failing_and_a_refused_file_is_mailed_partly_done(notifying, smtp):
    """A failing file and a refused one: one mail saying PARTIAL with the count of each; the
    zip link is there for the file that succeeded."""
    alice = signed_in(notifying, "alice")
    files = [
        ("fine.png", png((40, 40))),
        ("broken.png", png((300, 300))[:400]),
        ("notes.txt", b"not an image at all\n"),
    ]
    response = send_batch(alice, files, "image-thumbnails", notify=["email"])
    assert response.status_code == 202, response.text
    made = response.json()
    assert [r["filename"] for r in made["refused"]] == ["notes.txt"]
    wait_for(lambda: batch(alice, made["id"])["state"] == "PARTIAL", 30)
    settled(notifying, made["id"], 1)
    (mail,) = mails_about(smtp, made["id"])
    body = mail.get_content()
    assert mail["Subject"] == "Taskboard: batch of 3 files partly done"
    assert "Files: 1 done, 1 failed, 1 refused" in body
    assert f"/api/batches/{made['id']}/result" in body


def test_jobs_of_a_batch_mail_alone_only_when_asked(notifying, smtp):
    """``notify_jobs`` asks each job of the batch for its own mail, beside the batch's."""
    carol = signed_in(notifying, "carol")
    files = [("one.txt", b"1"), ("two.txt", b"2")]
    response = send_batch(carol, files, notify=["email"], notify_jobs=["email"])
    assert response.status_code == 202, response.text
    made = response.json()
    wait_for(lambda: batch(carol, made["id"])["state"] == "SUCCESS", 30)
    settled(notifying, made["id"], 1)
    wait_for(lambda: all(smtp.box.about(job_id) for job_id in made["jobs"]))
    assert len(mails_about(smtp, made["id"])) == 1
    for job_id in made["jobs"]:
        (mail,) = [m for m in smtp.box.about(job_id) if "/batches/" not in m.get_content()]
        assert mail["To"] == "carol@example.org"


def in_seconds(seconds: float) -> str:
    """Return the ISO 8601 time ``seconds`` from now, with its offset."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_batch_run_later_waits_then_sends_its_jobs_together(notifying):
    """A batch with run_at is SCHEDULED, and so is each of its jobs, until its time; then every
    job runs (none before the time)."""
    alice = signed_in(notifying, "alice")
    run_at = in_seconds(3)
    response = send_batch(alice, [("a.txt", b"a"), ("b.txt", b"b")], run_at=run_at)
    assert response.status_code == 202, response.text
    made = response.json()
    assert made["state"] == "SCHEDULED" and made["run_at"]
    assert {alice.job(job_id)["state"] for job_id in made["jobs"]} == {"SCHEDULED"}
    done = wait_for(lambda: (b := batch(alice, made["id"]))["state"] == "SUCCESS" and b, 20)
    due = datetime.fromisoformat(run_at).timestamp()
    for job_id in made["jobs"]:
        job = alice.job(job_id)
        assert datetime.fromisoformat(job["started_at"]).timestamp() >= due - 0.05
    assert done["counts"] == {"SUCCESS": 2}


def test_batch_cancelled_before_its_time_never_runs_and_says_so_once(notifying, smtp):
    """Cancelling a batch run later cancels every job of it; nothing runs at its time, and
    the owner is told once that it was cancelled."""
    alice = signed_in(notifying, "alice")
    files = [("x.txt", b"x"), ("y.txt", b"y")]
    response = send_batch(alice, files, run_at=in_seconds(3), notify=["email"])
    assert response.status_code == 202, response.text
    made = response.json()
    answer = alice.http.post(f"{alice.url}/api/batches/{made['id']}/cancel")
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == "REVOKED"
    time.sleep(4.5)  # past its time
    for job_id in made["jobs"]:
        job = alice.job(job_id)
        assert job["state"] == "REVOKED" and job["started_at"] is None
    assert f"batch {made['id']} sent at its time" not in notifying.log("worker")
    settled(notifying, made["id"], 1)
    (mail,) = mails_about(smtp, made["id"])
    assert mail["Subject"] == "Taskboard: batch of 2 files cancelled"


def cancel_all(user: User, job_ids: list[str]) -> None:
    """Cancel jobs and wait until each has ended."""
    for job_id in job_ids:
        user.http.post(f"{user.url}/api/jobs/{job_id}/cancel")
    for job_id in job_ids:
        wait_for(lambda job_id=job_id: user.job(job_id)["state"] == "REVOKED", 15)


def long_jobs(user: User, count: int) -> list[str]:
    """Start ``count`` long simulate jobs; return their ids."""
    ids = []
    for _ in range(count):
        response = user.http.post(
            user.url + "/api/jobs",
            files={"file": ("long.txt", b"x")},
            data={"processor": "simulate", "options": json.dumps(LONG)},
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def test_a_batch_is_refused_only_past_the_cap_and_says_the_numbers(notifying):
    """A batch of CAP files fits; one more file than the user's room is 429 naming the active
    jobs, the batch's files and the cap; nothing of it is stored."""
    carol = signed_in(notifying, "carol")
    wait_for(lambda: carol.http.get(carol.url + "/api/jobs?state=PENDING,STARTED,PROGRESS")
             .json()["total"] == 0, 30)  # fmt: skip
    full = send_batch(carol, [(f"f{i}.txt", b"x") for i in range(CAP)])
    assert full.status_code == 202, full.text
    wait_for(lambda: batch(carol, full.json()["id"])["state"] == "SUCCESS", 30)

    too_big = send_batch(carol, [(f"g{i}.txt", b"x") for i in range(CAP + 1)])
    assert too_big.status_code == 429, too_big.text
    message = too_big.json()["error"]["message"]
    assert too_big.json()["error"]["code"] == "too_many_jobs"
    assert f"add {CAP + 1} jobs to the 0" in message and f"at most {CAP} files" in message

    running = long_jobs(carol, 2)
    try:
        before = carol.http.get(carol.url + "/api/batches").json()["batches"]
        answer = send_batch(carol, [(f"h{i}.txt", b"x") for i in range(CAP - 1)])
        assert answer.status_code == 429, answer.text
        message = answer.json()["error"]["message"]
        assert f"add {CAP - 1} jobs to the 2" in message and f"{CAP} is the most" in message
        assert f"send at most {CAP - 2} files now" in message
        assert carol.http.get(carol.url + "/api/batches").json()["batches"] == before
        fits = send_batch(carol, [(f"i{i}.txt", b"x") for i in range(CAP - 2)])
        assert fits.status_code == 202, fits.text
    finally:
        cancel_all(carol, running)


def test_schedule_run_past_the_cap_is_recorded_not_started(notifying, files_server):
    """A schedule whose owner is at the cap when it is due records the run as not started, with
    the reason, among its last runs; nothing is fetched; it runs again once there is room."""
    alice = signed_in(notifying, "alice")
    running = long_jobs(alice, CAP)
    path = "/capped/report.csv"
    try:
        made = alice.http.post(
            alice.url + "/api/schedules",
            json={"url": files_server.url + path, "processor": "csv-profile", "every_s": 2},
        )
        assert made.status_code == 201, made.text
        schedule_id = made.json()["id"]

        def runs() -> list[dict]:
            return alice.http.get(f"{alice.url}/api/schedules/{schedule_id}").json()["runs"]

        refused = wait_for(lambda: next((r for r in runs() if r["state"] != "PENDING"), None), 15)
        assert refused["state"] == "FAILURE" and refused["schedule"] == schedule_id
        assert refused["error"].startswith(f"Not started: its owner had {CAP} jobs queued")
        assert "MAX_ACTIVE_JOBS" in refused["error"]
        assert files_server.hits(path) == []
    finally:
        cancel_all(alice, running)
    ran = wait_for(lambda: next((r for r in runs() if r["state"] == "SUCCESS"), None), 20)
    assert ran["schedule"] == schedule_id and files_server.hits(path)
    alice.http.delete(f"{alice.url}/api/schedules/{schedule_id}")


def test_batch_of_split_jobs_is_told_when_the_merges_end(notifying, smtp):
    """Jobs split in parts end in their merge task, not their processor's: the batch is still
    told once when the last merge has ended."""
    alice = signed_in(notifying, "alice")
    files = [(f"big-{i}.bin", bytes([i]) * 3 * 1024 * 1024) for i in range(2)]
    response = send_batch(alice, files, options={"parallel": 2}, notify=["email"])
    assert response.status_code == 202, response.text
    made = response.json()
    wait_for(lambda: batch(alice, made["id"])["state"] == "SUCCESS", 30)
    assert all(alice.job(job_id)["parts"]["total"] == 2 for job_id in made["jobs"])
    settled(notifying, made["id"], 1)
    (mail,) = mails_about(smtp, made["id"])
    assert mail["Subject"] == "Taskboard: batch of 2 files done"
