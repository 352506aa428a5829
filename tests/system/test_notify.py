"""Telling owners that their jobs ended, on real parts: a real SMTP server (aiosmtpd), a real
HTTP receiver, and the notifying stack (accounts mode, on a Redis of its own)."""

from __future__ import annotations

import json

from tests.accounts import NOTIFY_RETRIES
from tests.accounts import PUBLIC_URL
from tests.accounts import signed
from tests.accounts import signed_in
from tests.parts import User
from tests.parts import wait_for

LONG = {"steps": 400, "interval_ms": 50}


def submit(
    user: User, notify: list, processor: str = "checksum", content: bytes = b"hello\n", **kwargs
) -> str:
    """Send a job with a ``notify`` list; return its id."""
    response = user.http.post(
        user.url + "/api/jobs",
        files={"file": ("report.txt", content)},
        data={"processor": processor, "notify": json.dumps(notify), **kwargs},
    )
    assert response.status_code == 202, response.text
    assert response.json()["notify"] == notify
    return response.json()["id"]


def test_mail_tells_the_owner_what_ended_and_where(notifying, smtp):
    """A finished job's owner gets one short mail: file, processor, result, link."""
    alice = signed_in(notifying, "alice")
    job_id = submit(alice, ["email"])
    (mail,) = wait_for(lambda: smtp.box.about(job_id))
    body = mail.get_content()
    assert mail["To"] == "alice@example.org" and mail["From"] == "taskboard@example.org"
    assert mail["Subject"] == "Taskboard: report.txt done"
    assert "File: report.txt" in body and "Processor: Checksum" in body
    assert "Result: {" in body and f"{PUBLIC_URL}/jobs/{job_id}" in body
    assert alice.job(job_id)["notify"] == ["email"]


def test_mail_sent_once_after_the_smtp_server_comes_back(notifying, smtp):
    """A job that ends while the SMTP server is down is mailed, once, when it is back."""
    alice = signed_in(notifying, "alice")
    smtp.stop()
    try:
        job_id = submit(alice, ["email"])
        wait_for(lambda: alice.job(job_id)["state"] == "SUCCESS")
        wait_for(lambda: f"email for job {job_id} failed" in notifying.log("worker"))
        assert smtp.box.about(job_id) == []
    finally:
        smtp.start()
    wait_for(lambda: smtp.box.about(job_id), timeout=15)
    wait_for(lambda: f"email for job {job_id} sent" in notifying.log("worker"))
    assert len(smtp.box.about(job_id)) == 1


def test_webhook_gets_the_final_snapshot_signed(notifying, receiver):
    """A webhook receives the final snapshot as JSON with an HMAC-SHA256 signature, once."""
    bob = signed_in(notifying, "bob")
    job_id = submit(bob, [{"webhook": receiver.url + "/hook"}])
    wait_for(lambda: [r for r in receiver.at("/hook") if job_id.encode() in r["body"]])
    wait_for(lambda: f"webhook for job {job_id} sent" in notifying.log("worker"))
    (posted,) = [r for r in receiver.at("/hook") if job_id.encode() in r["body"]]
    assert signed(posted)
    snapshot = json.loads(posted["body"])
    assert snapshot["id"] == job_id and snapshot["state"] == "SUCCESS"
    assert snapshot["result"] == bob.job(job_id)["result"]


def test_failed_job_webhook_says_why(notifying, receiver):
    """A job that fails posts its FAILURE snapshot with the error for a person."""
    bob = signed_in(notifying, "bob")
    wide = ",".join(f"c{i}" for i in range(600)).encode()
    job_id = submit(bob, [{"webhook": receiver.url + "/failed"}], "csv-profile", content=wide)
    wait_for(lambda: receiver.at("/failed"))
    posted = json.loads(receiver.at("/failed")[0]["body"])
    assert posted["id"] == job_id and posted["state"] == "FAILURE"
    assert "600 fields" in posted["error"]
    assert receiver.at("/failed")[0]["headers"]["X-Taskboard-Event"] == "job.failure"


def test_cancelled_job_is_notified_once(notifying, receiver, smtp):
    """Cancelling a running job sends its REVOKED end to each of its notifications once."""
    alice = signed_in(notifying, "alice")
    hook = receiver.url + "/cancelled"
    job_id = submit(
        alice, ["email", {"webhook": hook}], processor="simulate", options=json.dumps(LONG)
    )
    wait_for(lambda: alice.job(job_id)["state"] == "PROGRESS")
    assert alice.http.post(f"{alice.url}/api/jobs/{job_id}/cancel").status_code == 202
    (mail,) = wait_for(lambda: smtp.box.about(job_id))
    assert mail["Subject"] == "Taskboard: report.txt cancelled"
    wait_for(lambda: receiver.at("/cancelled"))
    posted = json.loads(receiver.at("/cancelled")[0]["body"])
    assert posted["state"] == "REVOKED" and posted["notify"] == ["email", {"webhook": hook}]
    wait_for(lambda: notifying.log("worker").count(f"for job {job_id} sent") == 2)
    assert len(receiver.at("/cancelled")) == 1 and len(smtp.box.about(job_id)) == 1


def test_queued_job_cancelled_is_mailed_once(notifying, smtp):
    """A queued job cancelled is told by the web (which stores REVOKED) and again by the
    worker that drops its message: the mail goes out once (when a worker process is free:
    deliveries queue behind jobs on the default queue)."""
    alice = signed_in(notifying, "alice")
    busy = [submit(alice, [], processor="simulate", options=json.dumps(LONG)) for _ in range(2)]
    for job_id in busy:
        wait_for(lambda job_id=job_id: alice.job(job_id)["state"] == "PROGRESS")
    queued = submit(alice, ["email"])
    assert alice.job(queued)["state"] == "PENDING"
    assert alice.http.post(f"{alice.url}/api/jobs/{queued}/cancel").status_code == 202
    for job_id in busy:
        alice.http.post(f"{alice.url}/api/jobs/{job_id}/cancel")
    (mail,) = wait_for(lambda: smtp.box.about(queued))
    assert mail["Subject"] == "Taskboard: report.txt cancelled"
    wait_for(lambda: f"job {queued} cancelled: dropped before it ran" in notifying.log("worker"))
    wait_for(lambda: f"of job {queued} (REVOKED) already" in notifying.log("worker"))
    assert len(smtp.box.about(queued)) == 1


def test_webhook_answering_500_is_retried_then_given_up(notifying, receiver):
    """A receiver that keeps answering 500 is tried 1 + NOTIFY_RETRIES times, then given up
    with a log line."""
    bob = signed_in(notifying, "bob")
    job_id = submit(bob, [{"webhook": receiver.url + "/fail"}])
    line = f"webhook for job {job_id} given up after {NOTIFY_RETRIES + 1} tries"
    wait_for(lambda: line in notifying.log("worker"), timeout=30)
    posts = [r for r in receiver.at("/fail") if job_id.encode() in r["body"]]
    assert len(posts) == NOTIFY_RETRIES + 1


def test_webhook_answering_an_endless_body_is_sent_once_without_reading_it(notifying, receiver):
    """A receiver that answers 200 and then streams a body forever (never quiet long enough
    for a read timeout) counts as delivered at its status line: the body is not read."""
    bob = signed_in(notifying, "bob")
    job_id = submit(bob, [{"webhook": receiver.url + "/endless"}])
    wait_for(lambda: f"webhook for job {job_id} sent" in notifying.log("worker"), timeout=20)
    assert len([r for r in receiver.at("/endless") if job_id.encode() in r["body"]]) == 1


def test_email_without_an_address_is_refused(notifying):
    """An account without an e-mail address cannot ask for mail: 400, no job made."""
    bob = signed_in(notifying, "bob")
    before = len(bob.http.get(bob.url + "/api/jobs").json()["jobs"])
    response = bob.http.post(
        bob.url + "/api/jobs",
        files={"file": ("a.txt", b"x")},
        data={"processor": "checksum", "notify": '["email"]'},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_email"
    assert len(bob.http.get(bob.url + "/api/jobs").json()["jobs"]) == before
