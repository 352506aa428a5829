"""Where a worker stores a job's end, tell :mod:`tasks.notify` so that its owner hears of it.

Three places in a worker store a final state: the process that ran the job (SUCCESS, FAILURE,
or REVOKED when the job saw its cancel flag), read after ``task_postrun``; the main process
that killed a cancelled job or dropped it before it ran (``task_revoked``); and the main
process that killed a job past the hard time limit (``task_failure`` with
``TimeLimitExceeded``). Each handler reads the stored state rather than trusting the signal's.

A job split in parts (``tasks.split``) ends in a task that is not its processor's: the merge,
which runs under the job's id, or a part that failed the whole job (the job's id is its first
argument). Both are read after ``task_postrun`` too.
"""

from __future__ import annotations

from typing import Any

from billiard.exceptions import TimeLimitExceeded
from celery.signals import task_failure
from celery.signals import task_postrun
from celery.signals import task_revoked

from tasks import jobstore
from tasks import notify
from tasks import split
from tasks.worker.events import processor_of


def tell(task: Any, job_id: str | None) -> None:
    """Send the job's notifications if it is a job that has ended (never raises)."""
    if processor_of(task) is not None:
        notify.job_ended(jobstore.client(), job_id)


@task_postrun.connect
def after_run(
    task_id: str | None = None, task: Any = None, args: Any = None, **kwargs: Any
) -> None:
    """Notify when the job the process just ran (or the part or merge of a split job) has
    ended."""
    name = getattr(task, "name", None)
    if name == split.merge_parts.name:
        notify.job_ended(jobstore.client(), task_id)
    elif name == split.run_part.name and args:
        notify.job_ended(jobstore.client(), args[0])  # a part may have failed the whole job
    else:
        tell(task, task_id)


@task_revoked.connect
def after_revoke(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    """Notify when the main process cancelled a job (killed, or dropped before it ran)."""
    tell(sender, getattr(request, "id", None))


@task_failure.connect
def after_time_limit(
    sender: Any = None, task_id: str | None = None, exception: Any = None, **kwargs: Any
) -> None:
    """Notify when the main process killed a job past the hard time limit (the process that
    ran it is gone, so ``task_postrun`` never comes)."""
    if isinstance(exception, TimeLimitExceeded):
        tell(sender, task_id)
