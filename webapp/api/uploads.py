"""Streaming uploads straight to disk under generated names, with the size limit enforced while
they stream, and the client's file name cleaned for display."""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import IO
from typing import Any

from flask import Request
from flask import current_app
from flask import g
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from tasks import files

MAX_NAME = 200
# Browsers and requests send a file name's CR, LF and double quote as %0D, %0A and %22 in a
# multipart body (the HTML standard's form encoding), which Werkzeug leaves as they are: undone
# here so that the control characters go with the others, and the quote comes back.
FORM_ESCAPES = re.compile("%(0[aAdD]|22)")


class LimitedFile:
    """A file being written that refuses to grow past a limit."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self._file = open(path, "w+b")  # noqa: SIM115 - closed by the request's teardown

    def write(self, data: bytes) -> int:
        """Write data, or raise 413 once the file would pass the limit."""
        self.size += len(data)
        if self.size > self.limit:
            raise RequestEntityTooLarge()
        return self._file.write(data)

    def __getattr__(self, name: str):
        return getattr(self._file, name)


class UploadRequest(Request):
    """A request whose uploaded files go to ``UPLOAD_DIR`` as they arrive, not to /tmp."""

    def _get_file_stream(
        self, total_content_length, content_type, filename=None, content_length=None
    ) -> IO[bytes]:
        config = current_app.config
        folder = Path(config["UPLOAD_DIR"]) / files.INCOMING
        folder.mkdir(parents=True, exist_ok=True)
        stream = LimitedFile(folder / uuid.uuid4().hex, config["MAX_UPLOAD_BYTES"])
        g.setdefault("incoming", []).append(stream)
        return stream  # type: ignore[return-value]

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Read the JSON body as Flask does, a body nested deeper than the parser goes (which
        raises RecursionError, not ValueError) counting as malformed: None when ``silent``."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("The JSON body is nested too deeply.") from None

    def make_form_data_parser(self) -> FormDataParser:
        """Parse strictly: a malformed multipart body raises ValueError instead of being read
        as an empty form (which would be answered with a misleading error)."""
        parser = super().make_form_data_parser()
        parser.silent = False
        return parser


def claim(stream: LimitedFile, destination: Path) -> None:
    """Move a received file to its job's folder."""
    stream.flush()
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(stream.path, destination)


def discard_incoming(exc: BaseException | None = None) -> None:
    """Close the request's received files and remove those no job has claimed."""
    for stream in g.pop("incoming", []):
        stream.close()
        stream.path.unlink(missing_ok=True)


def clean_filename(name: str | None) -> str:
    """Return a client's file name fit for display: no folders, no control characters."""
    name = FORM_ESCAPES.sub(lambda m: chr(int(m[1], 16)), name or "")
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        name = name[: MAX_NAME - len(keep) - 1] + ("." + keep if keep else "")
    return name or "upload"


def stem(name: str) -> str:
    """Return a file name without its last extension."""
    base, dot, _ = name.rpartition(".")
    return base if dot and base else name
