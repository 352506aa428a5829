"""Telling a job's (or a batch's) owner that it ended: a mail, or a signed webhook, sent by a
Celery task. How a mail is composed and sent, and a webhook signed and posted, is
``tasks/delivery.py``; here is when, to whom, and once.

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

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from celery import shared_task

from tasks import batches
from tasks import jobstore
from tasks import settings
from tasks import snapshot
from tasks.delivery import GiveUp
from tasks.delivery import compose_batch_mail
from tasks.delivery import compose_mail
from tasks.delivery import post_webhook
from tasks.delivery import send_mail

log = logging.getLogger(__name__)

EMAIL = "email"
WEBHOOK = "webhook"
SENT_KEY = "taskboard:notify:{}:{}:{}"
BATCH_SENT_KEY = "taskboard:notify:batch:{}:{}:{}"
SENT_KEYS = {"job": SENT_KEY, "batch": BATCH_SENT_KEY}
# Longer than the slowest send (tasks.delivery's SMTP and HTTP timeouts), so a live send keeps
# its claim.
CLAIM_S = 180


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
