"""How a notification is sent: a short plain-text mail through ``SMTP_HOST`` (or the log when
there is none), or a signed JSON POST to a webhook's URL (HMAC-SHA256 of the body in
``X-Taskboard-Signature``, outbound address rules of ``tasks/outbound.py``, no redirect
followed). When, to whom and once: ``tasks/notify.py``."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
from collections.abc import Callable
from email.message import EmailMessage

import requests

from tasks import outbound
from tasks import registry
from tasks import settings
from tasks import snapshot

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 30.0
SIGNATURE_HEADER = "X-Taskboard-Signature"
SUBJECTS = {"SUCCESS": "done", "FAILURE": "failed", "REVOKED": "cancelled"}
BATCH_SUBJECTS = SUBJECTS | {"PARTIAL": "partly done"}


class GiveUp(Exception):
    """A delivery that trying again cannot make work (a refused address, a 4xx answer)."""


def compose_mail(record: dict, meta: dict | None) -> EmailMessage:
    """Return the short mail about a job's end: file, processor, result or error, link."""
    snap = snapshot.build(record, meta)
    state = snap["state"]
    processor = registry.get(snap["processor"])
    title = processor.title if processor else snap["processor"]
    link = f"{settings.PUBLIC_URL.rstrip('/')}/jobs/{snap['id']}"
    lines = [
        f"File: {snap['filename']}",
        f"Processor: {title}",
        f"State: {SUBJECTS.get(state, state.lower())}",
    ]
    if state == "SUCCESS":
        result = json.dumps(snap["result"], ensure_ascii=False, sort_keys=True)
        lines.append(f"Result: {result if len(result) <= 1000 else result[:1000] + ' ...'}")
    elif snap["error"]:
        lines.append(f"Error: {snap['error']}")
    lines += ["", f"The job: {link}"]
    subject = f"Taskboard: {snap['filename']} {SUBJECTS.get(state, state.lower())}"
    return message(record, subject, f"{snap['id']}.{state.lower()}", lines)


def message(record: dict, subject: str, message_id: str, lines: list[str]) -> EmailMessage:
    """Return a plain-text mail to the record's ``notify_email`` from ``MAIL_FROM``: the lines
    joined, ``Message-ID`` ``<message_id@taskboard>``."""
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = settings.MAIL_FROM
    mail["To"] = record.get("notify_email", "")
    mail["Message-ID"] = f"<{message_id}@taskboard>"
    mail.set_content("\n".join(lines) + "\n")
    return mail


def compose_batch_mail(record: dict, snap: dict) -> EmailMessage:
    """Return the short mail about a batch's end: its files counted per state (refused files
    too), the bytes they weigh together, a link to the batch's page and one to its zip."""
    state = snap["state"]
    processor = registry.get(snap["processor"])
    title = processor.title if processor else snap["processor"]
    base = settings.PUBLIC_URL.rstrip("/")
    files = len(snap["jobs"]) + len(snap["refused"])
    said = BATCH_SUBJECTS.get(state, state.lower())
    counts = [f"{n} {SUBJECTS.get(s, s.lower())}" for s, n in snap["counts"].items()]
    if snap["refused"]:
        counts.append(f"{len(snap['refused'])} refused")
    sizes = json.loads(record.get("sizes") or "{}")
    lines = [
        f"Batch: {files} file{'s' if files != 1 else ''}",
        f"Processor: {title}",
        f"State: {said}",
        f"Files: {', '.join(counts)}",
        f"Bytes: {sum(int(n) for n in sizes.values()):,}",
        "",
        f"The batch: {base}/batches/{snap['id']}",
    ]
    if snap["counts"].get("SUCCESS"):
        lines.append(f"All results in one zip: {base}/api/batches/{snap['id']}/result")
    subject = f"Taskboard: batch of {files} file{'s' if files != 1 else ''} {said}"
    return message(record, subject, f"batch.{snap['id']}.{state.lower()}", lines)


def send_mail(record: dict, compose: Callable[[], EmailMessage]) -> None:
    """Send the mail ``compose`` makes through ``SMTP_HOST``, or write it to the log when there
    is none; raise :class:`GiveUp` when the job or batch ``record`` has no address or the
    server refuses the address."""
    if not record.get("notify_email"):
        raise GiveUp("no e-mail address was kept with it")
    mail = compose()
    if not settings.SMTP_HOST:
        log.info("mail (no SMTP_HOST, so not sent):\n%s", mail.as_string().rstrip())
        return
    with smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=SMTP_TIMEOUT_S) as smtp:
        if settings.SMTP_STARTTLS:
            smtp.starttls()
        if settings.SMTP_USER:
            smtp.login(settings.SMTP_USER, settings.SMTP_PASSWORD)
        try:
            smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise GiveUp(f"the SMTP server refused the address: {exc.recipients}") from None


def webhook_key() -> str:
    """Return the key webhooks are signed with: ``WEBHOOK_SECRET``, else ``SECRET_KEY``, else
    (``make run``) the development secret the web server keeps; empty when there is none."""
    if settings.WEBHOOK_SECRET or settings.SECRET_KEY:
        return settings.WEBHOOK_SECRET or settings.SECRET_KEY
    path = settings.TASKBOARD_DATA / "secret_key"
    if settings.TASKBOARD_ENV == "development" and path.is_file():
        return path.read_text().strip()
    return ""


def signature(body: bytes, secret: str | None = None) -> str:
    """Return the ``X-Taskboard-Signature`` value of a webhook body: ``sha256=<hex HMAC>``."""
    key = (secret or webhook_key()).encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def post_webhook(url: str, payload: dict, subject_kind: str = "job") -> None:
    """POST the payload (a job's or, with ``subject_kind`` "batch", a batch's snapshot) as
    signed JSON with ``X-Taskboard-Event: <job|batch>.<state>``, following no redirect;
    return on a 2xx answer, raise
    :class:`GiveUp` for answers trying again cannot change (3xx, 4xx but 408 and 429) and
    refused addresses, and ``requests.HTTPError`` or a connection error otherwise."""
    if not webhook_key():
        raise GiveUp("no WEBHOOK_SECRET to sign it with")
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(body),
        "X-Taskboard-Event": f"{subject_kind}.{payload['state'].lower()}",
    }
    try:
        # Streamed and closed unread: only the status counts, and a body that never ends (or
        # a huge one) would hold the worker, or fill its memory.
        with outbound.session() as http:
            with http.post(
                url,
                data=body,
                headers=headers,
                timeout=outbound.TIMEOUT_S,
                allow_redirects=False,
                stream=True,
            ) as response:
                status = response.status_code
    except (requests.RequestException, outbound.URLNotAllowed) as exc:
        refused = outbound.refusal(exc)
        if refused is not None:
            raise GiveUp(str(refused)) from None
        raise
    if 200 <= status < 300:
        return
    if status >= 500 or status in (408, 429):
        raise requests.HTTPError(f"{url} answered {status}")
    raise GiveUp(f"{url} answered {status}")
