"""Telling a job's (or a batch's) owner that it ended: a mail, or a signed webhook, sent by a
Celery task.

A job's record keeps its ``notify`` list as the API took it (``"email"`` and
``{"webhook": url}`` items) and, for ``"email"``, the owner's address (``notify_email``).
Wherever a job's end is stored (the worker running it, the worker main process that killed it,
a cancel of a queued job, the stall sweeper), :func:`job_ended` is called; it sends one
:func:`deliver` task per item. Being called more than once for one end costs only tasks that
find their delivery already done.

Once per job, end state and item: :func:`deliver` claims ``taskboard:notify:<id>:<state>:<n>``
with SET NX before it sends, for :data:`CLAIM_S` (longer than a send may take), and marks it
sent after. A send that fails for sure (refused connection, an SMTP error, a 5xx) gives the
claim back and is tried again after ``NOTIFY_RETRY_BASE_S`` * 2^n, ``NOTIFY_RETRIES`` times,
then given up with a log line. A worker lost in the middle of a send leaves its claim to expire:
the message comes back (late acknowledgement) and sends again. So a mail can be sent twice only
when a worker dies between the SMTP server accepting it and the next Redis write (one round
trip); the other side of that choice (never resending) would lose every mail whose worker died
while connecting, a far longer window.

A batch (``tasks.batches``) keeps its own ``notify`` list and address. When :func:`job_ended`
finds that the job was the last unfinished one of its batch, it sends one
:func:`deliver_batch` task per item of the batch's list, claimed the same way under
``taskboard:notify:batch:<id>:<state>:<n>``: the mail counts the files per state and links to
the batch's page and zip, the webhook carries the batch snapshot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import requests
from celery import shared_task

from tasks import batches
from tasks import jobstore
from tasks import outbound
from tasks import registry
from tasks import settings
from tasks import snapshot

log = logging.getLogger(__name__)

EMAIL = "email"
WEBHOOK = "webhook"
SENT_KEY = "taskboard:notify:{}:{}:{}"
BATCH_SENT_KEY = "taskboard:notify:batch:{}:{}:{}"
SENT_KEYS = {"job": SENT_KEY, "batch": BATCH_SENT_KEY}
# Longer than the slowest send (SMTP and HTTP timeouts below), so a live send keeps its claim.
CLAIM_S = 180
SMTP_TIMEOUT_S = 30.0
SIGNATURE_HEADER = "X-Taskboard-Signature"
SUBJECTS = {"SUCCESS": "done", "FAILURE": "failed", "REVOKED": "cancelled"}
BATCH_SUBJECTS = SUBJECTS | {"PARTIAL": "partly done"}


class GiveUp(Exception):
    """A delivery that trying again cannot make work (a refused address, a 4xx answer)."""


def targets_of(record: dict) -> list:
    """Return a job's ``notify`` items as stored, or an empty list."""
    return snapshot.notify_of(record)


def job_ended(r: Any, job_id: str | None) -> int:
    """Send a :func:`deliver` task for each of a job's notifications if the job has ended, and
    when it was the last unfinished job of a batch, a :func:`deliver_batch` task for each of the
    batch's; return how many were sent (0 for a job still running, gone, or with none). Never
    raises: its callers are recording the job's end, which a notification must not break (a
    failure is logged)."""
    if not job_id:
        return 0
    try:
        found = jobstore.get_with_meta(r, [job_id])
        if not found:
            return 0
        record, meta = found[0]
        state = jobstore.state_of(meta)
        if state not in jobstore.TERMINAL:
            return 0
        targets = targets_of(record)
        for index in range(len(targets)):
            deliver.apply_async(args=[job_id, state, index])
        sent = len(targets)
        if record.get("batch") and batches.job_ended(r, record["batch"], job_id):
            sent += batch_ended(r, record["batch"])
        return sent
    except Exception as exc:  # Redis or the broker unreachable: say so, and let the caller go on
        log.warning("notifications of job %s not sent: %s", job_id, describe(exc))
        return 0


def batch_ended(r: Any, batch_id: str) -> int:
    """Send a :func:`deliver_batch` task for each of an ended batch's notifications; return
    how many were sent (0 for a batch gone, not ended, or with none)."""
    record = batches.get(r, batch_id)
    targets = targets_of(record or {})
    if not targets:
        return 0
    state = batches.snapshot(r, record)["state"]
    if state in batches.UNFINISHED:
        return 0
    for index in range(len(targets)):
        deliver_batch.apply_async(args=[batch_id, state, index])
    return len(targets)


@dataclass
class Ended:
    """Something whose end is told: a job or a batch, its record and how to tell it."""

    kind: str  # "job" or "batch"
    id: str
    record: dict
    targets: list
    mail: Callable[[], EmailMessage]
    payload: Callable[[], dict]


def ended_job(r: Any, job_id: str) -> Ended | None:
    """Return what a job's notifications need, or None when the job is gone."""
    found = jobstore.get_with_meta(r, [job_id])
    if not found:
        return None
    record, meta = found[0]
    return Ended(
        "job",
        job_id,
        record,
        targets_of(record),
        lambda: compose_mail(record, meta),
        lambda: snapshot.build(record, meta),
    )


def ended_batch(r: Any, batch_id: str) -> Ended | None:
    """Return what a batch's notifications need, or None when the batch is gone."""
    record = batches.get(r, batch_id)
    if record is None:
        return None
    snap = batches.snapshot(r, record)
    return Ended(
        "batch",
        batch_id,
        record,
        targets_of(record),
        lambda: compose_batch_mail(record, snap),
        lambda: snap,
    )


@shared_task(bind=True, max_retries=None, acks_late=True, ignore_result=True)
def deliver(self: Any, job_id: str, state: str, index: int) -> str:
    """Send item ``index`` of a job's notifications for its end in ``state``, once; return
    "sent", "skipped" (done or being done elsewhere, or the job is gone) or "given up"."""
    return claim_and_send(self, ended_job, job_id, state, index)


@shared_task(bind=True, max_retries=None, acks_late=True, ignore_result=True)
def deliver_batch(self: Any, batch_id: str, state: str, index: int) -> str:
    """Send item ``index`` of a batch's notifications for its end in ``state``, once; return
    as :func:`deliver` does."""
    return claim_and_send(self, ended_batch, batch_id, state, index)


def claim_and_send(
    task: Any, load: Callable[[Any, str], Ended | None], about: str, state: str, index: int
) -> str:
    """Claim item ``index`` of the notifications of the job or batch ``about`` (what ``load``
    finds) for its end in ``state`` with SET NX, send it, and mark it sent; give the claim
    back and retry the task with backoff when the send fails, up to ``NOTIFY_RETRIES`` (see
    the module's docstring)."""
    r = jobstore.client()
    subject_kind = "batch" if load is ended_batch else "job"
    key = SENT_KEYS[subject_kind].format(about, state, index)
    if not r.set(key, "sending", nx=True, ex=CLAIM_S):
        log.info(
            "notification %d of %s %s (%s) already %s",
            index,
            subject_kind,
            about,
            state,
            r.get(key) or "done",
            extra=_fields(subject_kind, about, "skipped"),
        )
        return "skipped"
    subject = load(r, about)
    targets = subject.targets if subject else []
    if subject is None or index >= len(targets):
        r.set(key, "gone", ex=settings.RESULT_EXPIRES_S)
        return "skipped"
    target = targets[index]
    kind = EMAIL if target == EMAIL else WEBHOOK
    name = f"{subject.kind} {about}"
    try:
        if kind == EMAIL:
            send_mail(subject.record, subject.mail)
        else:
            payload = dict(subject.payload())
            # Another webhook's URL may hold its receiver's secret: each sees only its own.
            payload["notify"] = [t for t in targets if t == EMAIL or t == target]
            post_webhook(target[WEBHOOK], payload, subject.kind)
    except GiveUp as exc:
        r.set(key, "given up", ex=settings.RESULT_EXPIRES_S)
        log.warning(
            "%s for %s given up: %s", kind, name, exc, extra=_fields(subject_kind, about, kind)
        )
        return "given up"
    except Exception as exc:  # any failure to reach the server: try again later
        r.delete(key)
        tries = task.request.retries
        if tries >= settings.NOTIFY_RETRIES:
            log.warning(
                "%s for %s given up after %d tries: %s",
                kind,
                name,
                tries + 1,
                describe(exc),
                extra=_fields(subject_kind, about, kind),
            )
            return "given up"
        wait = settings.NOTIFY_RETRY_BASE_S * 2**tries
        log.info(
            "%s for %s failed (%s); trying again in %.1f s",
            kind,
            name,
            describe(exc),
            wait,
            extra=_fields(subject_kind, about, kind),
        )
        raise task.retry(countdown=wait, exc=exc) from None
    r.set(key, "sent", ex=settings.RESULT_EXPIRES_S)
    log.info("%s for %s sent (%s)", kind, name, state, extra=_fields(subject_kind, about, kind))
    return "sent"


def _fields(subject_kind: str, about: str, kind: str) -> dict:
    """Return the fields of a log line about a notification of a job or a batch."""
    return {f"{subject_kind}_id": about, "event": f"notify.{kind}"}


def describe(exc: BaseException) -> str:
    """Return an exception as a short phrase for a log line."""
    return f"{type(exc).__name__}: {exc}"[:300]


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
        with outbound.session() as http:
            response = http.post(
                url, data=body, headers=headers, timeout=outbound.TIMEOUT_S, allow_redirects=False
            )
    except (requests.RequestException, outbound.URLNotAllowed) as exc:
        refused = outbound.refusal(exc)
        if refused is not None:
            raise GiveUp(str(refused)) from None
        raise
    status = response.status_code
    if 200 <= status < 300:
        return
    if status >= 500 or status in (408, 429):
        raise requests.HTTPError(f"{url} answered {status}", response=response)
    raise GiveUp(f"{url} answered {status}")
