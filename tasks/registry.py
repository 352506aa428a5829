"""Processors by name, each declared once with :func:`processor` (in the style of ``@app.task``).

    @processor("checksum", title="Checksum", unit="bytes", options={...})
    def compute(src: Path, out: Path, options: dict, progress: Progress) -> dict: ...

The decorator registers the description and makes the Celery task that runs the plain work
function through :func:`run`, which owns what every processor shares: where files are,
cancellation, retries of transient I/O errors, and messages a person can read. The web side reads
this registry for ``GET /api/processors``, option checks and content sniffing. Which modules
declare processors is said by name in :mod:`tasks.processors`, never found by a scan.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import jsonschema
import redis
from celery import shared_task
from celery.exceptions import Ignore

from tasks import files
from tasks import jobstore
from tasks.formats import FormatError
from tasks.formats.binary import is_transient
from tasks.progress import Cancelled
from tasks.progress import Progress
from tasks.progress import keep_last
from tasks.worker.refusal import CancelAwareRequest

log = logging.getLogger(__name__)

PROCESSORS: dict[str, Processor] = {}
# A processor's work: (input file, output folder, options, progress) -> its JSON result.
Work = Callable[[Path, Path, dict, Progress], dict]
MAX_RETRIES = 3
# A bad option value longer than this, written as JSON, is described instead of repeated.
SHOWN_VALUE = 60
# How a value of the wrong length is said: what is counted, and the bound it passes.
LENGTHS = {
    "maxItems": ("value", "more than it takes:"),
    "minItems": ("value", "fewer than it needs:"),
    "maxLength": ("character", "more than it takes:"),
    "minLength": ("character", "fewer than it needs:"),
}


class ProcessorError(FormatError):
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
    # How one file's work is split over several workers (a tasks.split.Splitter), or None.
    split: Any = None

    def describe(self) -> dict:
        """Return the processor as ``GET /api/processors`` lists it."""
        return {
            "name": self.name,
            "title": self.title,
            "accepts": self.accepts,
            "unit": self.unit,
            "options": self.options,
            "output": self.output_name is not None,
            "parallel": self.split is not None,
        }

    def validate(self, options: Any) -> dict:
        """Return the options with defaults filled in, or raise :class:`OptionsError`."""
        schema = {"type": "object", "properties": self.options, "additionalProperties": False}
        try:
            jsonschema.validate(options, schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            raise OptionsError(f"{where + ': ' if where else ''}{json_message(exc)}") from None
        defaults = {k: spec["default"] for k, spec in self.options.items() if "default" in spec}
        return defaults | options

    def check_content(self, head: bytes) -> str | None:
        """Return why the file cannot be taken, judged by its first bytes, or None."""
        if not head:
            return "The file is empty."
        return self.sniff(head)


def processor(
    name: str,
    *,
    title: str,
    unit: str,
    accepts: list[str] | None = None,
    options: dict[str, dict] | None = None,
    sniff: Callable[[bytes], str | None] | None = None,
    output_name: Callable[[str], str] | None = None,
    task_name: str | None = None,
    split: Any = None,
) -> Callable[[Work], Work]:
    """Declare a processor: register its description and make the Celery task that runs the
    decorated work function; return the function unchanged (testable without Celery).

    ``task_name`` defaults to ``tasks.<name with _>.<name with _>``, the names tasks have always
    had, so that messages queued by an older version still find their task after a deploy.
    """

    def declare(work: Work) -> Work:
        """Register the processor whose work this is."""
        snake = name.replace("-", "_")

        def run_job(self: Any, options: dict) -> dict:
            return run(
                self,
                work,
                options,
                unit=unit,
                output_name=output_name,
                split=(name, split) if split else None,
            )

        run_job.__doc__ = f"Run the {title} processor on the job's uploaded file."
        run_job.__name__ = run_job.__qualname__ = snake
        task = shared_task(
            bind=True,
            name=task_name or f"tasks.{snake}.{snake}",
            # A cancelled job is dropped before it starts, even by a worker that never heard
            # its revoke (restarted since).
            Request=CancelAwareRequest,
        )(run_job)
        PROCESSORS[name] = Processor(
            name=name,
            title=title,
            task=task,
            unit=unit,
            accepts=accepts or ["*"],
            options=options or {},
            sniff=sniff or (lambda head: None),
            output_name=output_name,
            split=split,
        )
        return work

    return declare


def json_message(exc: jsonschema.ValidationError) -> str:
    """Return a validation error's message with the value written as JSON (``null``, ``true``,
    ``"yes"``), as it was sent, where jsonschema writes Python's ``None``, ``True``, ``'yes'``;
    a long value is not repeated back, only its bad part or its length is named."""
    instance, bound = exc.instance, exc.validator_value
    if exc.validator in LENGTHS:
        unit, than = LENGTHS[exc.validator]
        given = f"{len(instance):,} {unit}{'' if len(instance) == 1 else 's'} given"
        return f"{given}, {than} {bound:,}"
    if exc.validator == "uniqueItems":
        seen: list = []
        again = next((item for item in instance if item in seen or seen.append(item)), None)
        return f"{json_value(again)} is given more than once"
    shown = repr(instance)
    if not exc.message.startswith(shown):
        return exc.message
    return json_value(instance) + exc.message[len(shown) :]


def json_value(value: object) -> str:
    """Return a value as JSON writes it, or, when that is long, what it is and how long."""
    text = json.dumps(value, default=str)
    if len(text) <= SHOWN_VALUE:
        return text
    if isinstance(value, list):
        return f"a list of {len(value):,} values"
    if isinstance(value, dict):
        return f"an object of {len(value):,} keys"
    if isinstance(value, str):
        return f"a text of {len(value):,} characters"
    return text[: SHOWN_VALUE - 1] + "…"


def get(name: str) -> Processor | None:
    """Return the processor of that name, or None."""
    return PROCESSORS.get(name)


def run(
    task: Any,
    work: Work,
    options: dict,
    unit: str,
    output_name: Callable[[str], str] | None = None,
    split: tuple | None = None,
) -> dict:
    """Run a processor's work for the task's job; return its JSON result.

    A processor that makes a file learns the upload's name (``progress.source_name``), to name
    what it writes after it; its result says the name the file downloads under
    (``download_name``), the one the page shows. With ``split`` (name, splitter) and the option
    ``parallel``, the task is replaced by the splitter's chord of parts, whose merge stores the
    job's result.
    """
    job_id = task.request.id
    if finished(task, job_id):
        # A message that came back for a job that has already ended: leave the job as it is.
        raise Ignore()
    out = files.output_dir(job_id)
    progress = Progress(task, unit=unit)
    if output_name is not None:
        progress.source_name = source_name(job_id)
    attempt = (task.request.retries or 0) + 1
    progress.log(f"started{f' (attempt {attempt})' if attempt > 1 else ''}")
    try:
        progress.check_cancelled()
        files.clear_outputs(job_id)
        out.mkdir(parents=True, exist_ok=True)
        if split is not None and options.get("parallel"):
            parts = split[1].plan(task, split[0], options)
            if parts is not None:
                raise task.replace(parts)
        result = work(files.input_path(job_id), out, options, progress)
        keep_last(jobstore.client(), job_id, progress.meta())
        if output_name is not None and isinstance(result, dict) and result.get("output"):
            result["download_name"] = output_name(files.stem(progress.source_name or "result"))
        return result
    except Cancelled:
        progress.log("cancelled: stopped", "warning")
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
    except ProcessorError as exc:
        progress.log(str(exc), "error")
        files.clear_outputs(job_id)
        raise
    except FormatError as exc:
        # The formats know nothing of processors; their refusals are processors' errors.
        files.clear_outputs(job_id)
        raise ProcessorError(*exc.args) from exc
    except OSError as exc:
        files.clear_outputs(job_id)
        if is_transient(exc) and task.request.retries < MAX_RETRIES:
            countdown = 2**task.request.retries
            cause = exc.strerror or type(exc).__name__
            progress.log(f"retrying in {countdown} s after a passing error: {cause}", "warning")
            with contextlib.suppress(redis.RedisError):
                jobstore.note_retry(jobstore.client(), job_id, time.time() + countdown)
            raise task.retry(exc=exc, countdown=countdown) from exc
        if isinstance(exc, FileNotFoundError):
            raise ProcessorError("The uploaded file is gone; it may have been deleted.") from exc
        raise ProcessorError(f"Reading or writing files failed: {exc.strerror or exc}.") from exc
    except (MemoryError, RecursionError) as exc:
        files.clear_outputs(job_id)
        raise ProcessorError("The file needs more resources than this server allows.") from exc


def source_name(job_id: str) -> str | None:
    """Return the name the job's file was uploaded under, or None when it cannot be read."""
    try:
        record = jobstore.get(jobstore.client(), job_id) or {}
    except (redis.RedisError, OSError):
        return None
    return record.get("filename") or None


def finished(task: Any, job_id: str) -> bool:
    """Tell whether a job has already ended, restoring its failure if it was given up."""
    if task.backend.get_task_meta(job_id).get("status") == "SUCCESS":
        return True
    if jobstore.given_up(jobstore.client(), job_id):
        # Starting stored STARTED over the failure: put the failure back.
        task.backend.mark_as_failure(job_id, jobstore.Stalled(jobstore.STALLED))
        return True
    return False
