"""Processors by name: each module of this package that defines ``PROCESSOR`` is one.

The web side reads this registry for ``GET /api/processors``, option checks and content sniffing;
the worker runs each processor's task through :func:`run`, which owns what every processor shares:
where files are, cancellation, retries of transient I/O errors, and messages a person can read.
"""

from __future__ import annotations

import errno
import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import jsonschema
from celery.exceptions import Ignore

from tasks import files
from tasks import jobstore
from tasks.progress import Cancelled
from tasks.progress import Progress

log = logging.getLogger(__name__)

PROCESSORS: dict[str, Processor] = {}
TRANSIENT_ERRNOS = {errno.EIO, errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT, errno.ESTALE}
MAX_RETRIES = 3


class ProcessorError(Exception):
    """A file the processor cannot work on; the message is shown to the person who sent it."""


class OptionsError(ValueError):
    """Options that do not fit the processor's schema."""


@dataclass
class Processor:
    """A processor as the API describes it, and the task that runs it."""

    name: str
    title: str
    task: Any
    unit: str
    accepts: list[str] = field(default_factory=lambda: ["*"])
    options: dict[str, dict] = field(default_factory=dict)
    # Return None when the file's first bytes suit the processor, else why not.
    sniff: Callable[[bytes], str | None] = lambda head: None
    # The download name for an output file, from the upload's name without its extension.
    output_name: Callable[[str], str] | None = None

    def describe(self) -> dict:
        """Return the processor as ``GET /api/processors`` lists it."""
        return {
            "name": self.name,
            "title": self.title,
            "accepts": self.accepts,
            "unit": self.unit,
            "options": self.options,
            "output": self.output_name is not None,
        }

    def validate(self, options: Any) -> dict:
        """Return the options with defaults filled in, or raise :class:`OptionsError`."""
        schema = {"type": "object", "properties": self.options, "additionalProperties": False}
        try:
            jsonschema.validate(options, schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            raise OptionsError(f"{where + ': ' if where else ''}{exc.message}") from None
        defaults = {k: spec["default"] for k, spec in self.options.items() if "default" in spec}
        return defaults | options

    def check_content(self, head: bytes) -> str | None:
        """Return why the file cannot be taken, judged by its first bytes, or None."""
        if not head:
            return "The file is empty."
        return self.sniff(head)


def load() -> dict[str, Processor]:
    """Import every module of this package and register the ``PROCESSOR`` of those that have one."""
    package = importlib.import_module("tasks")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"tasks.{info.name}")
        processor = getattr(module, "PROCESSOR", None)
        if processor is not None:
            PROCESSORS[processor.name] = processor
    return PROCESSORS


def get(name: str) -> Processor | None:
    """Return the processor of that name, or None."""
    return PROCESSORS.get(name)


Work = Callable[[Path, Path, dict, Progress], dict]


def run(task: Any, work: Work, options: dict, unit: str) -> dict:
    """Run a processor's work for the task's job; return its JSON result."""
    job_id = task.request.id
    if finished(task, job_id):
        # A message that came back for a job that has already ended: leave the job as it is.
        raise Ignore()
    out = files.output_dir(job_id)
    progress = Progress(task, unit=unit)
    try:
        progress.check_cancelled()
        files.clear_outputs(job_id)
        out.mkdir(parents=True, exist_ok=True)
        return work(files.input_path(job_id), out, options, progress)
    except Cancelled:
        files.clear_outputs(job_id)
        task.backend.mark_as_revoked(job_id, "cancelled", request=task.request)
        log.info(
            "job %s cancelled at %s %s",
            job_id,
            progress.current,
            unit,
            extra={"job_id": job_id, "event": "job.cancelled"},
        )
        raise Ignore() from None
    except ProcessorError:
        files.clear_outputs(job_id)
        raise
    except OSError as exc:
        files.clear_outputs(job_id)
        if is_transient(exc) and task.request.retries < MAX_RETRIES:
            raise task.retry(exc=exc, countdown=2**task.request.retries) from exc
        if isinstance(exc, FileNotFoundError):
            raise ProcessorError("The uploaded file is gone; it may have been deleted.") from exc
        raise ProcessorError(f"Reading or writing files failed: {exc.strerror or exc}.") from exc
    except (MemoryError, RecursionError) as exc:
        files.clear_outputs(job_id)
        raise ProcessorError("The file needs more resources than this server allows.") from exc


def finished(task: Any, job_id: str) -> bool:
    """Tell whether a job has already ended, restoring its failure if it was given up."""
    if task.backend.get_task_meta(job_id).get("status") == "SUCCESS":
        return True
    if jobstore.given_up(jobstore.client(), job_id):
        # Starting stored STARTED over the failure: put the failure back.
        task.backend.mark_as_failure(job_id, jobstore.Stalled(jobstore.STALLED))
        return True
    return False


def is_transient(exc: OSError) -> bool:
    """Tell whether an I/O error may go away when tried again."""
    return isinstance(exc, TimeoutError | ConnectionError) or exc.errno in TRANSIENT_ERRNOS
