"""Telling owners that their jobs ended, on real parts: a real SMTP server (aiosmtpd), a real
HTTP receiver, and a stack in accounts mode on a Redis of its own (so that no other stack's
worker, with other settings, takes its notification tasks)."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import threading
import time
from email import policy
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User
from tests.parts import wait_for
from webapp import auth
from webapp.processes import free_port

PASSWORD = "correct horse battery"
SECRET = "webhook-test-secret"
PUBLIC_URL = "https://taskboard.example.org"
LONG = {"steps": 400, "interval_ms": 50}
RETRIES = 6


class Mailbox:
    """An SMTP server's handler that keeps every mail it accepts."""

    def __init__(self) -> None:
        self.mails: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        """Keep the mail."""
        self.mails.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def about(self, job_id: str) -> list:
        """Return the mails that link to a job."""
        return [m for m in self.mails if job_id in m.get_content()]


class SMTPServer:
    """A real SMTP server on a fixed port that can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.box = Mailbox()
        self.controller: Controller | None = None
        self.start()

    def start(self) -> None:
        """Listen on the port."""
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused."""
        self.controller.stop()


class Receiver(ThreadingHTTPServer):
    """A webhook receiver that keeps each request; paths starting with /fail answer 500,
    those starting with /endless 200 with a body that never ends."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self.server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                if self.path.startswith("/endless"):
                    self.answer_endlessly()
                    return
                self.send_response(500 if self.path.startswith("/fail") else 204)
                self.end_headers()

            def answer_endlessly(self) -> None:
                """Answer 200 with a body that never ends, a little at a time."""
                self.send_response(200)
                self.end_headers()
                self.close_connection = True
                try:
                    for _ in range(600):
                        self.wfile.write(b"x" * 1024)
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def at(self, path: str) -> list[dict]:
        """Return the requests made to a path."""
        return [r for r in self.requests if r["path"] == path]


@pytest.fixture(scope="module")
def smtp():
    """Start a real SMTP server for the module."""
    server = SMTPServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver():
    """Start a webhook receiver for the module."""
    server = Receiver()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def notify_stack(smtp, tmp_path_factory):
    """Start a stack in accounts mode that mails through the test SMTP server and may post to
    local receivers, with short retry waits."""
    folder = tmp_path_factory.mktemp("notify")
    users = folder / "users.json"
    auth.add_user(users, "alice", PASSWORD, admin=False, email="alice@example.org")
    auth.add_user(users, "bob", PASSWORD, admin=False)
    redis = RedisServer(folder / "redis")
    running = Stack(
        redis,
        folder,
        AUTH_MODE="accounts",
        USERS_FILE=str(users),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        MAIL_FROM="taskboard@example.org",
        PUBLIC_URL=PUBLIC_URL,
        WEBHOOK_SECRET=SECRET,
        FETCH_ALLOW_PRIVATE="1",
        NOTIFY_RETRY_BASE_S="0.1",
        NOTIFY_RETRIES=str(RETRIES),
    )
    yield running
    running.stop()
    redis.stop()


def signed_in(stack: Stack, name: str) -> User:
    """Return a user of the stack signed in as ``name``."""
    user = User(stack.url)
    response = user.http.post(
        stack.url + "/api/login", json={"username": name, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    user.csrf = user.http.get(stack.url + "/api/session").json()["csrf_token"]
    user.http.headers["X-CSRFToken"] = user.csrf
    return user


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


def test_mail_tells_the_owner_what_ended_and_where(notify_stack, smtp):
    """A finished job's owner gets one short mail: file, processor, result, link."""
    alice = signed_in(notify_stack, "alice")
    job_id = submit(alice, ["email"])
    (mail,) = wait_for(lambda: smtp.box.about(job_id))
    body = mail.get_content()
    assert mail["To"] == "alice@example.org" and mail["From"] == "taskboard@example.org"
    assert mail["Subject"] == "Taskboard: report.txt done"
    assert "File: report.txt" in body and "Processor: Checksum" in body
    assert "Result: {" in body and f"{PUBLIC_URL}/jobs/{job_id}" in body
    assert alice.job(job_id)["notify"] == ["email"]


def test_mail_sent_once_after_the_smtp_server_comes_back(notify_stack, smtp):
    """A job that ends while the SMTP server is down is mailed, once, when it is back."""
    alice = signed_in(notify_stack, "alice")
    smtp.stop()
    try:
        job_id = submit(alice, ["email"])
        wait_for(lambda: alice.job(job_id)["state"] == "SUCCESS")
        wait_for(lambda: f"email for job {job_id} failed" in notify_stack.log("worker"))
        assert smtp.box.about(job_id) == []
    finally:
        smtp.start()
    wait_for(lambda: smtp.box.about(job_id), timeout=15)
    wait_for(lambda: f"email for job {job_id} sent" in notify_stack.log("worker"))
    assert len(smtp.box.about(job_id)) == 1


def test_webhook_gets_the_final_snapshot_signed(notify_stack, receiver):
    """A webhook receives the final snapshot as JSON with an HMAC-SHA256 signature, once."""
    bob = signed_in(notify_stack, "bob")
    job_id = submit(bob, [{"webhook": receiver.url + "/hook"}])
    wait_for(lambda: [r for r in receiver.at("/hook") if job_id.encode() in r["body"]])
    wait_for(lambda: f"webhook for job {job_id} sent" in notify_stack.log("worker"))
    (posted,) = [r for r in receiver.at("/hook") if job_id.encode() in r["body"]]
    expected = "sha256=" + hmac.new(SECRET.encode(), posted["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(posted["headers"]["X-Taskboard-Signature"], expected)
    snapshot = json.loads(posted["body"])
    assert snapshot["id"] == job_id and snapshot["state"] == "SUCCESS"
    assert snapshot["result"] == bob.job(job_id)["result"]


def test_failed_job_webhook_says_why(notify_stack, receiver):
    """A job that fails posts its FAILURE snapshot with the error for a person."""
    bob = signed_in(notify_stack, "bob")
    wide = ",".join(f"c{i}" for i in range(600)).encode()
    job_id = submit(bob, [{"webhook": receiver.url + "/failed"}], "csv-profile", content=wide)
    wait_for(lambda: receiver.at("/failed"))
    posted = json.loads(receiver.at("/failed")[0]["body"])
    assert posted["id"] == job_id and posted["state"] == "FAILURE"
    assert "600 fields" in posted["error"]
    assert receiver.at("/failed")[0]["headers"]["X-Taskboard-Event"] == "job.failure"


def test_cancelled_job_is_notified_once(notify_stack, receiver, smtp):
    """Cancelling a running job sends its REVOKED end to each of its notifications once."""
    alice = signed_in(notify_stack, "alice")
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
    wait_for(lambda: notify_stack.log("worker").count(f"for job {job_id} sent") == 2)
    assert len(receiver.at("/cancelled")) == 1 and len(smtp.box.about(job_id)) == 1


def test_queued_job_cancelled_is_mailed_once(notify_stack, smtp):
    """A queued job cancelled is told by the web (which stores REVOKED) and again by the
    worker that drops its message: the mail goes out once (when a worker process is free:
    deliveries queue behind jobs on the default queue)."""
    alice = signed_in(notify_stack, "alice")
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
    wait_for(lambda: f"job {queued} cancelled: dropped before it ran" in notify_stack.log("worker"))
    wait_for(lambda: f"of job {queued} (REVOKED) already" in notify_stack.log("worker"))
    assert len(smtp.box.about(queued)) == 1


def test_webhook_answering_500_is_retried_then_given_up(notify_stack, receiver):
    """A receiver that keeps answering 500 is tried 1 + NOTIFY_RETRIES times, then given up
    with a log line."""
    bob = signed_in(notify_stack, "bob")
    job_id = submit(bob, [{"webhook": receiver.url + "/fail"}])
    line = f"webhook for job {job_id} given up after {RETRIES + 1} tries"
    wait_for(lambda: line in notify_stack.log("worker"), timeout=30)
    posts = [r for r in receiver.at("/fail") if job_id.encode() in r["body"]]
    assert len(posts) == RETRIES + 1


def test_webhook_answering_an_endless_body_is_sent_once_without_reading_it(notify_stack, receiver):
    """A receiver that answers 200 and then streams a body forever (never quiet long enough
    for a read timeout) counts as delivered at its status line: the body is not read."""
    bob = signed_in(notify_stack, "bob")
    job_id = submit(bob, [{"webhook": receiver.url + "/endless"}])
    wait_for(lambda: f"webhook for job {job_id} sent" in notify_stack.log("worker"), timeout=20)
    assert len([r for r in receiver.at("/endless") if job_id.encode() in r["body"]]) == 1


def test_email_without_an_address_is_refused(notify_stack):
    """An account without an e-mail address cannot ask for mail: 400, no job made."""
    bob = signed_in(notify_stack, "bob")
    before = len(bob.http.get(bob.url + "/api/jobs").json()["jobs"])
    response = bob.http.post(
        bob.url + "/api/jobs",
        files={"file": ("a.txt", b"x")},
        data={"processor": "checksum", "notify": '["email"]'},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_email"
    assert len(bob.http.get(bob.url + "/api/jobs").json()["jobs"]) == before
