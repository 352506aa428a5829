"""What the cluster says about each job: the time its message was sent, and one log line per
event a worker sees (started, finished, failed, retrying, cancelled).

Each event is logged once for the whole cluster, by the worker process that saw it; web
processes log only what they alone see (created, cancel asked, deleted, relay reconnects).
These lines hold ids, names, states and times, never a task's arguments, its result or an
unexpected exception's message, which may quote a user's file.
"""

from __future__ import annotations

import logging
import time
import traceback
from types import TracebackType
from typing import Any

from celery.signals import before_task_publish
from celery.signals import task_failure
from celery.signals import task_postrun
from celery.signals import task_prerun
from celery.signals import task_retry
from celery.signals import task_revoked

from tasks import jobstore
from tasks import registry

log = logging.getLogger(__name__)
# A header of every task message: when it was sent (Unix time), so that the oldest message of a
# queue tells how long it has waited (Celery's messages carry no time of their own).
SENT_AT = "taskboard_sent_at"
# When each job this process runs started (monotonic), for its duration.
_started: dict[str, float] = {}
# Jobs already logged as cancelled here: a terminated job can be announced twice.
_cancelled: dict[str, None] = {}


@before_task_publish.connect
def stamp_sent_time(headers: dict | None = None, **kwargs: Any) -> None:
    """Write the time a task is sent into its message."""
    if headers is not None:
        headers[SENT_AT] = time.time()


def processor_of(task: Any) -> str | None:
    """Return the processor a task runs, or None for a task that is not a job."""
    name = getattr(task, "name", None)
    for processor in registry.PROCESSORS.values():
        if processor.task.name == name:
            return processor.name
    return None


def job_fields(task: Any, job_id: str | None, event: str) -> dict[str, Any]:
    """Return the fields every line about a job carries."""
    worker = getattr(getattr(task, "request", None), "hostname", None)
    return {"job_id": job_id, "event": event, "processor": processor_of(task), "worker": worker}


@task_prerun.connect
def record_start(task_id: str | None = None, **kwargs: Any) -> None:
    """Record on the worker's clock when a job first starts, before Celery stores STARTED: the
    web side then shows start and end times from one clock."""
    key = jobstore.JOB_KEY.format(task_id)
    r = jobstore.client()
    if task_id and r.exists(key):
        r.hsetnx(key, "started_at", jobstore.now_iso())


@task_prerun.connect
def log_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """Log that a worker started a job."""
    if processor_of(task) is None:
        return
    _started[task_id] = time.monotonic()
    attempt = (getattr(task.request, "retries", 0) or 0) + 1
    fields = job_fields(task, task_id, "job.started") | {"attempt": attempt}
    log.info("job %s started on %s (attempt %d)", task_id, fields["worker"], attempt, extra=fields)


@task_postrun.connect
def log_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    """Log that a job succeeded, and how long it ran."""
    started = _started.pop(task_id, None)
    if state != "SUCCESS" or processor_of(task) is None:
        return  # failures, retries and cancels have their own lines
    duration = round(time.monotonic() - started, 3) if started is not None else None
    fields = job_fields(task, task_id, "job.finished") | {"state": state, "duration_s": duration}
    log.info("job %s finished (%s) in %s s", task_id, state, duration, extra=fields)


@task_failure.connect
def log_failed(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    traceback: TracebackType | None = None,
    **kwargs: Any,
) -> None:
    """Log that a task failed: a job's message for a person, or the kind and place of a bug."""
    kind = type(exception).__name__
    if processor_of(sender) is not None:
        fields = job_fields(sender, task_id, "job.failed")
    else:
        fields = {"event": "task.failed"}
    fields |= {"exc_type": kind, "state": "FAILURE"}
    if isinstance(exception, registry.ProcessorError):
        log.warning("job %s failed: %s", task_id, exception, extra=fields)
        return
    # The message of an unexpected error may quote the file; where it was raised may not.
    where = "".join(format_frames(traceback)).rstrip()
    log.error(
        "%s %s failed unexpectedly (%s)%s", describe(sender), task_id, kind, where, extra=fields
    )


def describe(task: Any) -> str:
    """Return how a log line names a task: "job" for a processor's, else the task's name."""
    return "job" if processor_of(task) is not None else f"task {getattr(task, 'name', '?')}"


def format_frames(tb: TracebackType | None) -> list[str]:
    """Return the frames of a traceback as text, without the exception's message."""
    if tb is None:
        return []
    return ["\n", *traceback.format_tb(tb)]


@task_retry.connect
def log_retrying(
    sender: Any = None, request: Any = None, reason: Any = None, **kwargs: Any
) -> None:
    """Log that a job will be tried again, and after which kind of error."""
    if processor_of(sender) is None or request is None:
        return
    kind = type(getattr(reason, "exc", None) or reason).__name__
    fields = job_fields(sender, request.id, "job.retrying") | {"exc_type": kind, "state": "RETRY"}
    log.warning("job %s will be retried after %s", request.id, kind, extra=fields)


@task_revoked.connect
def log_cancelled(
    sender: Any = None, request: Any = None, terminated: bool = False, **kwargs: Any
) -> None:
    """Log that a worker dropped a cancelled job before it ran, or killed it while it ran."""
    job_id = getattr(request, "id", None)
    if processor_of(sender) is None or job_id is None or job_id in _cancelled:
        return
    _cancelled[job_id] = None
    if len(_cancelled) > 1000:
        del _cancelled[next(iter(_cancelled))]
    how = "terminated" if terminated else "dropped before it ran"
    fields = job_fields(sender, job_id, "job.cancelled") | {"state": "REVOKED"}
    log.info("job %s cancelled: %s", job_id, how, extra=fields)
