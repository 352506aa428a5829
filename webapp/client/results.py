"""``taskboard result``: save a finished job's output file, or print its JSON result."""

from __future__ import annotations

import argparse
import json
import sys
from email.message import Message
from pathlib import Path
from typing import IO

from webapp.client.api import Api
from webapp.client.api import ClientError
from webapp.client.api import Refused
from webapp.client.live import TERMINAL
from webapp.client.live import ending_text

CHUNK = 64 * 1024


def result(api: Api, args: argparse.Namespace) -> int:
    """Save a finished job's output file (to -o, or under its own name in the -o folder or
    here), or print its result; 1 when the job did not succeed."""
    snapshot = api.job(args.id)
    if snapshot["state"] not in TERMINAL:
        raise ClientError(f"the job is {snapshot['state']}; wait with: taskboard watch {args.id}")
    if snapshot["state"] != "SUCCESS":
        print(f"the job {ending_text(snapshot)}", file=sys.stderr)
        return 1
    try:
        response = api.call("GET", f"/api/jobs/{args.id}/result", stream=True)
    except Refused as exc:
        if exc.status != 404:
            raise
        text = json.dumps(snapshot["result"], indent=2)
        if args.output:
            with open_to_write(destination(args.output, f"{args.id}.json"), "w") as f:
                f.write(text + "\n")
        else:
            print(text)
        return 0
    target = destination(args.output, attachment_name(response.headers) or f"{args.id}.out")
    with open_to_write(target, "wb") as f:
        for chunk in response.iter_content(CHUNK):
            f.write(chunk)
    print(f"saved {target}", file=sys.stderr)
    return 0


def destination(output: Path | None, name: str) -> Path:
    """Return where to save a result named ``name``: ``-o`` itself, or ``name`` inside ``-o``
    when that is a folder (as ``curl --output-dir`` and ``wget -P`` do), or here; a name
    chosen by the server never overwrites a file."""
    if output is not None and not output.is_dir():
        return output
    target = (output or Path()) / name
    if target.exists():
        raise ClientError(f"{target} exists; choose where with -o PATH")
    return target


def open_to_write(path: Path, mode: str) -> IO:
    """Open ``path`` to write the result to, or raise :class:`ClientError` saying why it
    cannot be (a missing folder, a folder, no permission)."""
    try:
        return path.open(mode)
    except OSError as exc:
        raise ClientError(f"cannot write {path}: {exc.strerror or exc}") from None


def attachment_name(headers) -> str | None:
    """Return the file name of a Content-Disposition header, without any folders."""
    message = Message()
    message["content-disposition"] = headers.get("Content-Disposition", "")
    name = message.get_filename()
    return Path(name).name or None if name else None
