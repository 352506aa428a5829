"""Imports from a URL: a job whose input is a URL first downloads it, then runs its processor.

The download is a Celery task of its own (:func:`fetch`, on the default queue) with the job's id:
it streams the answer into the job's folder (progress in bytes as they arrive, message
"downloading"), checks it as an upload is checked (the size limit ``MAX_UPLOAD_BYTES``, on the
declared length and while streaming; the processor's content check on the first bytes), then
queues the processor's own task under the same id, on the processor's queue. A download taking
longer than ``FETCH_MAX_S`` in all fails. Addresses follow :mod:`tasks.outbound`.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

import requests
from celery import shared_task
from celery.exceptions import Ignore
from celery.exceptions import SoftTimeLimitExceeded
from urllib3.exceptions import DecodeError
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import ReadTimeoutError
from urllib3.exceptions import SSLError

from tasks import files
from tasks import jobstore
from tasks import outbound
from tasks import registry
from tasks import settings
from tasks.formats.amounts import size_text
from tasks.formats.binary import SNIFF_BYTES
from tasks.progress import Cancelled
from tasks.progress import Progress
from tasks.registry import ProcessorError

log = logging.getLogger(__name__)
CHUNK = 64 * 1024
DOWNLOADING = "downloading"
# How long a download waits for bytes before it reports what came and checks for a cancel.
WAIT_S = max(settings.PROGRESS_INTERVAL_S, 0.05)
# urllib3's errors while reading a body, as requests raises them from ``iter_content``.
READ_ERRORS = (
    (ProtocolError, requests.exceptions.ChunkedEncodingError),
    (DecodeError, requests.exceptions.ContentDecodingError),
    (ReadTimeoutError, requests.ConnectionError),
    (SSLError, requests.exceptions.SSLError),
)


def name_of(url: str) -> str:
    """Return the raw name a URL's file is shown under: its last path segment, else its host."""
    parts = urlsplit(url)
    segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return segment or parts.hostname or "download"


def too_large(limit: int) -> str:
    """Return the sentence a download over the size limit fails with."""
    return f"The file at that URL is larger than this server takes: {size_text(limit)}."


def download(
    url: str,
    dest: Path,
    limit: int,
    progress: Progress,
    check: Callable[[bytes], str | None] = lambda head: None,
) -> int:
    """Stream ``url`` into ``dest`` and return its size in bytes.

    ``check`` judges the first bytes (None when they suit). Raise :class:`ProcessorError` with a
    sentence for a person when the address is refused, the server fails or is too slow, the file
    is larger than ``limit`` bytes or refused by ``check``; nothing is left at ``dest`` then.
    :class:`Cancelled` comes through from ``progress``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    host = urlsplit(url).hostname or url
    try:
        with outbound.session() as http:
            with http.get(url, stream=True, timeout=outbound.TIMEOUT_S) as response:
                if response.status_code >= 400:
                    raise ProcessorError(
                        f"The server at {host} answered {response.status_code} "
                        f"{response.reason or ''}".rstrip()
                        + "."
                    )
                size = stream_to(response, part, limit, progress)
        head = read_head(part)
        reason = check(head) if head else "The file at that URL is empty."
        if reason:
            raise ProcessorError(f"The file at that URL cannot be taken: {reason}")
        os.replace(part, dest)
        return size
    except (requests.RequestException, outbound.URLNotAllowed) as exc:
        raise ProcessorError(failure(exc, host)) from None
    except SoftTimeLimitExceeded:
        limit = f"{settings.FETCH_MAX_S:g}"
        raise ProcessorError(f"The download from {host} took longer than {limit} s.") from None
    finally:
        part.unlink(missing_ok=True)


def stream_to(response: requests.Response, part: Path, limit: int, progress: Progress) -> int:
    """Write an answer's body to ``part`` within ``limit`` bytes; return its size."""
    declared = response.headers.get("Content-Length", "")
    total = int(declared) if declared.isdigit() else None
    if total is not None and total > limit:
        raise ProcessorError(too_large(limit))
    progress.total = total
    progress.update(0, DOWNLOADING, force=True)
    size = 0
    with open(part, "wb") as out:
        for chunk in arriving(response):
            if not chunk:
                progress.flush()  # the server pauses: show what came, hear a cancel
                continue
            size += len(chunk)
            # Counted after decoding: a small compressed answer cannot become a huge file.
            if size > limit:
                raise ProcessorError(too_large(limit))
            out.write(chunk)
            progress.advance(len(chunk), DOWNLOADING)
    if progress.total != size:
        progress.total = size
        progress.update(size, DOWNLOADING, force=True)
    return size


def arriving(response: requests.Response, wait_s: float = WAIT_S) -> Iterator[bytes]:
    """Yield an answer's body as it arrives (what one read finds, up to ``CHUNK`` bytes,
    decoded), and ``b""`` after each ``wait_s`` without any.

    A read of a whole chunk would wait for all of it (``iter_content``), so a slow server's
    first bytes would not show; a read of what there is still blocks while the server sends
    nothing, so a thread of its own reads, and the caller stays free to report and to stop.
    """
    chunks: queue.Queue = queue.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: object) -> None:
        """Hand an item to the caller, unless it has stopped."""
        while not stop.is_set():
            try:
                chunks.put(item, timeout=wait_s)
                return
            except queue.Full:
                pass

    def read() -> None:
        """Read the body to its end, then hand over None, or the error that stopped it."""
        try:
            while chunk := response.raw.read1(CHUNK, decode_content=True):
                put(chunk)
            put(None)
        except Exception as exc:
            put(exc)

    reader = threading.Thread(target=read, name="download", daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = chunks.get(timeout=wait_s)
            except queue.Empty:
                yield b""
                continue
            if item is None:
                return
            if isinstance(item, Exception):
                raise as_requests_error(item)
            yield item
    finally:
        stop.set()
        if reader.is_alive():
            try:  # a read waiting on the server ends now rather than at its timeout
                response.raw.shutdown()
            except (ValueError, RuntimeError, OSError):
                pass


def as_requests_error(exc: Exception) -> Exception:
    """Return a body read's error as requests raises it (its own, or urllib3's turned)."""
    for raised, turned in READ_ERRORS:
        if isinstance(exc, raised):
            return turned(exc)
    return exc


def read_head(path: Path) -> bytes:
    """Return a file's first bytes, for the content check."""
    with open(path, "rb") as f:
        return f.read(SNIFF_BYTES)


def failure(exc: BaseException, host: str) -> str:
    """Return the sentence a failed download ends its job with."""
    refused = outbound.refusal(exc)
    if refused is not None:
        return str(refused)
    if isinstance(exc, requests.TooManyRedirects):
        return f"The URL redirected more than {outbound.MAX_REDIRECTS} times."
    if isinstance(exc, requests.Timeout):
        return f"The server at {host} did not answer in time."
    if isinstance(exc, requests.ConnectionError):
        return f"Taskboard could not connect to {host}."
    return f"The download from {host} failed ({type(exc).__name__})."


# Celery stops the download past FETCH_MAX_S by raising SoftTimeLimitExceeded in it, which
# also interrupts a read that a slow server keeps from ever timing out.
@shared_task(bind=True, soft_time_limit=settings.FETCH_MAX_S)
def fetch(self: Any, options: dict) -> None:
    """Download a URL import's file into its job's folder, then queue its processor."""
    job_id = self.request.id
    record = jobstore.get(jobstore.client(), job_id)
    if record is None or registry.finished(self, job_id):
        raise Ignore()  # deleted, or a message that came back for a job that has ended
    processor = registry.get(record.get("processor", ""))
    if processor is None:
        raise ProcessorError(f"The processor {record.get('processor')!r} is not installed.")
    progress = Progress(self, unit="bytes")
    try:
        progress.check_cancelled()
        size = download(
            record["url"],
            files.input_path(job_id),
            settings.MAX_UPLOAD_BYTES,
            progress,
            processor.check_content,
        )
    except Cancelled:
        files.remove_job(job_id)
        self.backend.mark_as_revoked(job_id, "cancelled", request=self.request)
        raise Ignore() from None
    except BaseException:
        files.remove_job(job_id)
        raise
    jobstore.client().hset(jobstore.JOB_KEY.format(job_id), "size", size)
    log.info(
        "job %s downloaded %d bytes; queuing %s",
        job_id,
        size,
        processor.name,
        extra={"job_id": job_id, "event": "job.downloaded", "processor": processor.name},
    )
    processor.task.apply_async(args=[options], task_id=job_id)
    # No state of its own: the job's next state is its processor's.
    raise Ignore()
