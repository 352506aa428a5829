"""``taskboard``: submit files, follow them with live bars, list, cancel, fetch results; send
several files as one batch and follow it with one bar.

Exit status: 0 when every job ended SUCCESS (or the command did what it was asked; for a batch,
when the batch ended SUCCESS), 1 when a job failed, was cancelled or a file was refused, 2 for a
wrong URL, token or argument, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from email.message import Message
from pathlib import Path
from typing import IO
from typing import Any

from requests_toolbelt import MultipartEncoder
from requests_toolbelt import MultipartEncoderMonitor
from rich.console import Console

from webapp.client.api import Api
from webapp.client.api import ClientError
from webapp.client.api import Refused
from webapp.client.live import STATE_LABELS
from webapp.client.live import TERMINAL
from webapp.client.live import BatchFollower
from webapp.client.live import Follower
from webapp.client.live import Live
from webapp.client.live import counts_text

DEFAULT_URL = "http://127.0.0.1:5000"
STATES = ("SCHEDULED", "PENDING", "STARTED", "PROGRESS", "RETRY", "SUCCESS", "FAILURE", "REVOKED")
out = Console(highlight=False)


def parser() -> argparse.ArgumentParser:
    """Return the command line's parser: global --url/--token, one subcommand each."""
    top = argparse.ArgumentParser(
        prog="taskboard",
        description="Send files to a Taskboard server and follow them.",
        epilog="Exit status: 0 all jobs SUCCESS, 1 a job did not succeed or a file was "
        "refused, 2 a wrong URL, token or argument, 130 interrupted.",
    )
    top.add_argument(
        "--url",
        default=os.environ.get("TASKBOARD_URL", DEFAULT_URL),
        help=f"the server (TASKBOARD_URL; default {DEFAULT_URL})",
    )
    top.add_argument(
        "--token",
        default=os.environ.get("TASKBOARD_TOKEN"),
        help="a personal API token from the account page (TASKBOARD_TOKEN)",
    )
    commands = top.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", help="send files to a processor")
    submit.add_argument("files", nargs="+", type=Path, metavar="FILE")
    submit.add_argument("--processor", "-p", required=True)
    submit.add_argument("--options", default=None, help="the processor's options, as JSON")
    submit.add_argument("--follow", "-f", action="store_true", help="show live bars until done")
    submit.add_argument(
        "--email", action="store_true", help="mail you when each job ends (an account's address)"
    )
    submit.add_argument(
        "--webhook", action="append", default=[], metavar="URL", help="POST each job's end here"
    )
    batch = commands.add_parser("batch", help="send several files as one batch (one bar)")
    batch.add_argument("files", nargs="+", type=Path, metavar="FILE")
    batch.add_argument("--processor", "-p", required=True)
    batch.add_argument("--options", default=None, help="the processor's options, as JSON")
    batch.add_argument("--follow", "-f", action="store_true", help="show its bar until done")
    batches = commands.add_parser("batches", help="list your batches, newest first")
    batches.add_argument("--limit", type=int, default=50)
    jobs = commands.add_parser("jobs", help="list your jobs, newest first")
    jobs.add_argument("--state", action="append", choices=STATES, help="only these states")
    jobs.add_argument("--limit", type=int, default=50)
    for name, text in (("cancel", "cancel a job"), ("watch", "follow a job with a live bar")):
        commands.add_parser(name, help=text).add_argument("id")
    result = commands.add_parser("result", help="save a job's output file, or print its result")
    result.add_argument("id")
    result.add_argument("-o", "--output", type=Path, help="where to save it")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = parser().parse_args(argv)
    if not args.token:
        print("taskboard: no token: pass --token or set TASKBOARD_TOKEN", file=sys.stderr)
        return 2
    api = Api(args.url, args.token)
    try:
        api.check()
        return COMMANDS[args.command](api, args)
    except ClientError as exc:
        print(f"taskboard: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, Refused) or exc.status == 401 else 1
    except KeyboardInterrupt:
        return 130


def submit(api: Api, args: argparse.Namespace) -> int:
    """Send each file as a job; with --follow, show their bars until every one has ended."""
    options = parse_options(args.options)
    notify = (["email"] if args.email else []) + [{"webhook": url} for url in args.webhook]
    extra = {"notify": json.dumps(notify)} if notify else {}
    check_files(args.files)
    follower = Follower(api, out) if args.follow else None
    refused: list[Path] = []

    def send() -> int:
        """Upload each file (on a bar of its own when following); go on past a refused one."""
        for path in args.files:
            bar = follower.bar(path.name, STATE_LABELS["UPLOADING"]) if follower else None
            sent = (lambda n, size, bar=bar: follower.uploaded(bar, n, size)) if follower else None
            try:
                job = upload(api, path, args.processor, options, sent, extra)
            except Refused as exc:
                refused.append(path)
                if follower:
                    follower.refuse(bar)
                print(f"{path}: refused: {exc.message}", file=sys.stderr)
                continue
            if follower:
                follower.add(job, path.name, bar)
            else:
                print(f"{job['id']}  {path.name}")
        return 1 if refused else 0

    return followed(
        follower,
        send,
        lambda final: jobs_ended(final, len(refused)),
        lambda: offer_cancel(api, follower.unfinished()),
    )


def send_batch(api: Api, args: argparse.Namespace) -> int:
    """Send the files as one batch (``POST /api/batches``); with --follow, show one bar for
    the batch until it ends. 0 only when the batch ends SUCCESS (without --follow: when it was
    queued with no file refused)."""
    options = parse_options(args.options)
    check_files(args.files)
    follower = BatchFollower(api, out) if args.follow else None

    def send() -> int:
        """Upload the files in one body (on one bar when following); say each refused one."""
        bar = (
            follower.bar(f"{len(args.files)} files", STATE_LABELS["UPLOADING"])
            if follower
            else None
        )
        sent = (lambda n, size: follower.uploaded(bar, n, size)) if follower else None
        try:
            snapshot = upload_batch(api, args.files, args.processor, options, sent)
        except Refused as exc:
            for item in exc.refused:
                print(f"{item['filename']}: refused: {item['error']['message']}", file=sys.stderr)
            raise
        for item in snapshot.get("refused") or []:
            print(f"{item['filename']}: refused: {item['error']['message']}", file=sys.stderr)
        if follower:
            follower.bars.remove_task(bar)
            follower.follow(snapshot, f"batch of {len(snapshot['jobs'])}")
        else:
            print(f"{snapshot['id']}  {len(snapshot['jobs'])} jobs")
        return 1 if snapshot.get("refused") else 0

    def ended(final: dict) -> int:
        """Say how the batch ended; 0 when it ended SUCCESS."""
        print(f"{final['id']}  {final['state']}  {counts_text(final.get('counts') or {})}")
        return 0 if final["state"] == "SUCCESS" else 1

    return followed(follower, send, ended, lambda: offer_batch_cancel(api, follower.batch["id"]))


def followed(
    follower: Live | None,
    send: Callable[[], int],
    ended: Callable[[Any], int],
    interrupted: Callable[[], int],
) -> int:
    """Run ``send`` (the uploads) and, with a follower, show what it made on live bars until it
    has ended; return the exit status.

    Without a follower it is ``send``'s. With one, the live connection is made before ``send``
    runs, so no event of what it makes is missed; then ``ended(last snapshots)`` gives the
    status, or, on Ctrl-C while waiting, ``interrupted()`` (which offers to cancel)."""
    if follower is None:
        return send()
    follower.connect()
    follower.bars.start()
    try:
        send()
        try:
            final = follower.wait()
        except KeyboardInterrupt:
            follower.bars.stop()
            return interrupted()
        follower.bars.stop()
        return ended(final)
    finally:
        follower.close()


def check_files(paths: list[Path]) -> None:
    """Refuse, before anything is sent, a path that is not a file."""
    for path in paths:
        if path.is_dir():
            raise ClientError(f"{path}: a folder, not a file (give the files in it)")
        if not path.is_file():
            raise ClientError(
                f"{path}: no such file" if not path.exists() else f"{path}: not a file"
            )


def upload_batch(
    api: Api,
    paths: list[Path],
    processor: str,
    options: str | None,
    sent: Callable[[int, int], None] | None = None,
) -> dict:
    """Send the files in one streamed multipart body (a ``file`` field each), telling
    ``sent(bytes, of)`` as it goes; return the new batch's snapshot."""
    fields = [("processor", processor)] + ([("options", options)] if options else [])
    with ExitStack() as opened:
        for path in paths:
            f = opened.enter_context(path.open("rb"))
            fields.append(("file", (path.name, f, "application/octet-stream")))
        body = MultipartEncoder(fields)
        size = body.len
        monitor = MultipartEncoderMonitor(
            body, (lambda m: sent(m.bytes_read, size)) if sent else None
        )
        headers = {"Content-Type": monitor.content_type}
        return api.call("POST", "/api/batches", (202,), data=monitor, headers=headers).json()


def offer_batch_cancel(api: Api, batch_id: str) -> int:
    """Ask whether to cancel the batch, and do it when told yes; return 130."""
    try:
        answer = out.input("Cancel the batch? [y/N] ", markup=False)
    except (EOFError, KeyboardInterrupt):
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print(f"Left running: {batch_id}")
        return 130
    try:
        api.call("POST", f"/api/batches/{batch_id}/cancel", (202,))
        print(f"{batch_id}  cancelled")
    except Refused as exc:
        print(f"{batch_id}  {exc.message}")
    return 130


def list_batches(api: Api, args: argparse.Namespace) -> int:
    """Print the user's batches, one a line: id, state, processor, percent, counts."""
    limit = max(1, min(args.limit, 200))
    found = api.call("GET", "/api/batches", params={"limit": limit}).json()["batches"]
    for batch in found:
        percent = (batch.get("progress") or {}).get("percent")
        shown = f"{percent:.0f}%" if isinstance(percent, int | float) else "-"
        counts = counts_text(batch.get("counts") or {})
        print(f"{batch['id']}  {batch['state']:<8}  {batch['processor']:<16}  {shown:>4}  {counts}")
    return 0


def upload(
    api: Api,
    path: Path,
    processor: str,
    options: str | None,
    sent: Callable[[int, int], None] | None = None,
    extra: dict[str, str] | None = None,
) -> dict:
    """Send one file, streamed (never whole in memory), telling ``sent(bytes, of)`` as it
    goes, with ``extra`` form fields (``notify``); return the new job's snapshot."""
    fields = {"processor": processor} | ({"options": options} if options else {})
    fields |= extra or {}
    with path.open("rb") as f:
        body = MultipartEncoder(fields | {"file": (path.name, f, "application/octet-stream")})
        size = body.len
        monitor = MultipartEncoderMonitor(
            body, (lambda m: sent(m.bytes_read, size)) if sent else None
        )
        headers = {"Content-Type": monitor.content_type}
        return api.call("POST", "/api/jobs", (202,), data=monitor, headers=headers).json()


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


def jobs_ended(final: dict[str, dict], refused: int = 0) -> int:
    """Say why each failed job failed; 0 when every job ended SUCCESS and no file was refused."""
    for snapshot in final.values():
        if snapshot["state"] == "FAILURE":
            print(f"{snapshot['filename']}: {snapshot.get('error')}", file=sys.stderr)
    ok = all(s["state"] == "SUCCESS" for s in final.values())
    return 0 if ok and not refused else 1


def offer_cancel(api: Api, unfinished: list[str]) -> int:
    """Ask whether to cancel the unfinished jobs, and do it when told yes; return 130."""
    if not unfinished:
        return 130
    try:
        answer = out.input(f"Cancel the {len(unfinished)} unfinished job(s)? [y/N] ", markup=False)
    except (EOFError, KeyboardInterrupt):
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("Left running; follow one with: taskboard watch ID")
        return 130
    for job_id in unfinished:
        try:
            api.call("POST", f"/api/jobs/{job_id}/cancel", (202,))
            print(f"{job_id}  cancelled")
        except Refused as exc:
            print(f"{job_id}  {exc.message}")
    return 130


def watch(api: Api, args: argparse.Namespace) -> int:
    """Follow one job with a live bar until it ends; 0 when it ends SUCCESS."""
    snapshot = api.job(args.id)
    follower = Follower(api, out)
    return followed(
        follower,
        lambda: follower.add(snapshot, snapshot.get("filename") or snapshot["id"]),
        jobs_ended,
        lambda: offer_cancel(api, follower.unfinished()),
    )


def list_jobs(api: Api, args: argparse.Namespace) -> int:
    """Print the user's jobs, one a line: id, state, processor, percent, file."""
    limit = max(1, min(args.limit, 200))
    jobs = api.call("GET", "/api/jobs", params={"limit": limit}).json()["jobs"]
    for job in jobs:
        if args.state and job["state"] not in args.state:
            continue
        percent = (job.get("progress") or {}).get("percent")
        shown = f"{percent:.0f}%" if isinstance(percent, int | float) else "-"
        line = f"{job['id']}  {job['state']:<8}  {job['processor']:<16}  {shown:>4}  "
        print(line + job["filename"])
    return 0


def cancel(api: Api, args: argparse.Namespace) -> int:
    """Cancel one job; 1 when it had already finished."""
    try:
        snapshot = api.call("POST", f"/api/jobs/{args.id}/cancel", (202,)).json()
    except Refused as exc:
        if exc.status != 409:
            raise
        print(f"{args.id}  {exc.message}")
        return 1
    print(f"{snapshot['id']}  cancel requested ({snapshot['state']})")
    return 0


def result(api: Api, args: argparse.Namespace) -> int:
    """Save a finished job's output file (-o, else its own name here), or print its result."""
    snapshot = api.job(args.id)
    if snapshot["state"] not in TERMINAL:
        raise ClientError(f"the job is {snapshot['state']}; wait with: taskboard watch {args.id}")
    if snapshot["state"] != "SUCCESS":
        print(f"the job ended {snapshot['state']}: {snapshot.get('error')}", file=sys.stderr)
        return 1
    try:
        response = api.call("GET", f"/api/jobs/{args.id}/result", stream=True)
    except Refused as exc:
        if exc.status != 404:
            raise
        text = json.dumps(snapshot["result"], indent=2)
        if args.output:
            with open_to_write(args.output, "w") as f:
                f.write(text + "\n")
        else:
            print(text)
        return 0
    target = args.output or Path(attachment_name(response.headers) or f"{args.id}.out")
    if not args.output and target.exists():
        raise ClientError(f"{target} exists; choose where with -o PATH")
    with open_to_write(target, "wb") as f:
        for chunk in response.iter_content(64 * 1024):
            f.write(chunk)
    print(f"saved {target}", file=sys.stderr)
    return 0


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


COMMANDS = {
    "submit": submit,
    "batch": send_batch,
    "batches": list_batches,
    "jobs": list_jobs,
    "cancel": cancel,
    "result": result,
    "watch": watch,
}

if __name__ == "__main__":
    sys.exit(main())
