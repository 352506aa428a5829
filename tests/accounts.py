"""Accounts mode on real parts, shared by the tests that sign in: a stack whose users file they
choose, a user signed in to it, and the real ends of its notifications (an SMTP server on
aiosmtpd, an HTTP receiver of webhooks)."""

from __future__ import annotations

import email
import hashlib
import hmac
import threading
import time
from email import policy
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User
from webapp import auth
from webapp.processes import free_port

# Every account the tests make has this password.
PASSWORD = "correct horse battery"
# The notifying stack's settings (tests/conftest.py), which its tests check against.
PUBLIC_URL = "https://taskboard.example.org"
WEBHOOK_SECRET = "webhook-test-secret"
NOTIFY_RETRIES = 6
MAX_ACTIVE_JOBS = 6


def start_accounts_stack(
    redis: RedisServer, folder: Path, users: dict[str, dict], **arguments
) -> Stack:
    """Start a stack (``arguments``: Stack's own and settings) in accounts mode whose users file
    (``folder/users.json``, kept as the stack's ``users_file``) holds ``users``: name ->
    ``auth.add_user``'s keywords (``admin``, ``email``), each with PASSWORD."""
    users_file = folder / "users.json"
    for name, fields in users.items():
        auth.add_user(users_file, name, PASSWORD, **({"admin": False} | fields))
    running = Stack(redis, folder, AUTH_MODE="accounts", USERS_FILE=str(users_file), **arguments)
    running.users_file = users_file
    return running


def signed_in(stack: Stack, name: str) -> User:
    """Return a user of the stack signed in as ``name``, with the new session's CSRF token."""
    user = User(stack.url)
    response = user.http.post(
        stack.url + "/api/login", json={"username": name, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    # A new session after signing in: a new CSRF token too.
    user.csrf = user.http.get(stack.url + "/api/session").json()["csrf_token"]
    user.http.headers["X-CSRFToken"] = user.csrf
    return user


def signed(request: dict) -> bool:
    """Say whether a request the Receiver kept carries, in ``X-Taskboard-Signature``, the
    notifying stack's signature of its body: HMAC-SHA256 under WEBHOOK_SECRET, ``sha256=<hex>``."""
    digest = hmac.new(WEBHOOK_SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(request["headers"]["X-Taskboard-Signature"], f"sha256={digest}")


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
