"""The ``notify`` field's refusals on the in-process app (anonymous mode, private addresses
refused), and the pure parts of sending: the signature and the mail."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging

import pytest
import redis

from tasks import delivery
from tasks import notify
from tasks import settings


def incoming(app) -> list:
    """Return the files left half-received in the upload folder."""
    folder = app.config["UPLOAD_DIR"] / ".incoming"
    return list(folder.iterdir()) if folder.exists() else []


def upload(client, notify_value: str):
    """Send a checksum job with a ``notify`` field."""
    data = {"processor": "checksum", "notify": notify_value, "file": (io.BytesIO(b"x"), "a.txt")}
    return client.post("/api/jobs", data=data)


@pytest.mark.parametrize(
    ("value", "code", "names"),
    [
        ("{", "bad_notify", "not valid JSON"),
        ('"email"', "bad_notify", "JSON list"),
        ('["sms"]', "bad_notify", '"sms"'),
        ('[{"webhook": "https://example.org", "x": 1}]', "bad_notify", "Unknown notification"),
        ('["email"]', "no_email", "no sign-in"),
        ('[{"webhook": "http://127.0.0.1:9/hook"}]', "url_not_allowed", "127.0.0.1"),
        ('[{"webhook": "ftp://example.org/"}]', "url_not_allowed", "http and https"),
        ('[{"webhook": 5}]', "url_not_allowed", "missing"),
    ],
)
def test_bad_notify_is_refused_and_nothing_is_kept(app, client, value, code, names):
    """Each bad ``notify`` gets a 400 naming the problem; no job, no file is left."""
    response = upload(client, value)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and names in error["message"]
    assert client.job_count() == 0 and incoming(app) == []


def test_signature_is_hmac_sha256_of_the_body():
    """The signature header is ``sha256=`` and the hex HMAC of the exact body."""
    body = b'{"id":"x"}'
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert delivery.signature(body, "k") == f"sha256={expected}"


def test_mail_of_a_failed_job_gives_the_error_not_a_traceback():
    """A failed job's mail says what went wrong for a person, and links to the job."""
    record = {
        "id": "0f1e",
        "filename": "data.csv",
        "processor": "csv-profile",
        "notify": json.dumps(["email"]),
        "notify_email": "a@example.org",
    }
    meta = {
        "status": "FAILURE",
        "result": {"exc_type": "ProcessorError", "exc_message": ["No rows."]},
        "date_done": "2026-01-01T00:00:00",
    }
    mail = delivery.compose_mail(record, meta)
    body = mail.get_content()
    assert mail["Subject"] == "Taskboard: data.csv failed" and mail["To"] == "a@example.org"
    assert "Error: No rows." in body and "Processor: CSV profile" in body
    assert body.rstrip().endswith("/jobs/0f1e")


def test_mail_goes_to_the_log_without_an_smtp_server(monkeypatch, caplog):
    """Without SMTP_HOST (make run) the mail is written to the log, whole, and not sent."""
    monkeypatch.setattr(settings, "SMTP_HOST", "")
    record = {"id": "ab12", "filename": "a.txt", "processor": "checksum"}
    record["notify_email"] = "a@example.org"
    meta = {"status": "SUCCESS", "result": {"sha256": "e3b0"}, "date_done": "2026-01-01T00:00:00"}
    with caplog.at_level(logging.INFO, logger="tasks.delivery"):
        delivery.send_mail(record, lambda: delivery.compose_mail(record, meta))
    (line,) = [r.getMessage() for r in caplog.records if r.name == "tasks.delivery"]
    assert "To: a@example.org" in line and 'Result: {"sha256": "e3b0"}' in line


class Unreachable:
    """A Redis client whose every command fails as when the server is down."""

    def pipeline(self, *args, **kwargs):
        """Fail like a connection that cannot be made."""
        raise redis.ConnectionError("Connection refused")


def test_job_ended_never_fails_its_caller(caplog):
    """Recording a job's end goes on when its notifications cannot be sent; it is logged."""
    with caplog.at_level(logging.WARNING, logger="tasks.notify"):
        assert notify.job_ended(Unreachable(), "ab12") == 0
    assert "notifications of job ab12 not sent" in caplog.text
