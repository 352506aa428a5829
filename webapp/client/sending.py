"""What the terminal client sends: files streamed in multipart bodies (never whole in memory),
checked before anything is sent, with the processor's options checked as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from requests_toolbelt import MultipartEncoder
from requests_toolbelt import MultipartEncoderMonitor

from webapp.client.api import Api
from webapp.client.api import ClientError


def check_files(paths: list[Path]) -> None:
    """Refuse, before anything is sent, a path that is not a file."""
    for path in paths:
        if path.is_dir():
            raise ClientError(f"{path}: a folder, not a file (give the files in it)")
        if not path.is_file():
            raise ClientError(
                f"{path}: no such file" if not path.exists() else f"{path}: not a file"
            )


def parse_options(raw: str | None) -> str | None:
    """Check --options is a JSON object; return it as text for the form."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ClientError(f"--options is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ClientError('--options must be a JSON object, like {"steps": 5}')
    return json.dumps(value)


def upload(
    api: Api,
    path: Path,
    processor: str,
    options: str | None,
    sent: Callable[[int, int], None] | None = None,
    extra: dict[str, str] | None = None,
) -> dict:
    """Send one file as a job (``POST /api/jobs``), with ``extra`` form fields (``notify``),
    telling ``sent(bytes, of)`` as it goes; return the new job's snapshot."""
    return post_files(api, "/api/jobs", [path], processor, options, sent, extra)


def upload_batch(
    api: Api,
    paths: list[Path],
    processor: str,
    options: str | None,
    sent: Callable[[int, int], None] | None = None,
) -> dict:
    """Send the files as one batch (``POST /api/batches``, a ``file`` field each), telling
    ``sent(bytes, of)`` as it goes; return the new batch's snapshot."""
    return post_files(api, "/api/batches", paths, processor, options, sent)


def post_files(
    api: Api,
    path: str,
    files: list[Path],
    processor: str,
    options: str | None,
    sent: Callable[[int, int], None] | None = None,
    extra: dict[str, str] | None = None,
) -> dict:
    """POST the files in one streamed multipart body to ``path`` (202 expected), telling
    ``sent(bytes, of)`` as it goes; return the answer's JSON."""
    fields = [("processor", processor)] + ([("options", options)] if options else [])
    fields += list((extra or {}).items())
    with ExitStack() as opened:
        for file in files:
            f = opened.enter_context(file.open("rb"))
            fields.append(("file", (file.name, f, "application/octet-stream")))
        body = MultipartEncoder(fields)
        size = body.len
        monitor = MultipartEncoderMonitor(
            body, (lambda m: sent(m.bytes_read, size)) if sent else None
        )
        headers = {"Content-Type": monitor.content_type}
        return api.call("POST", path, (202,), data=monitor, headers=headers).json()
