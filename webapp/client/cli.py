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
from pathlib import Path

from webapp.client.api import Api
from webapp.client.api import ClientError
from webapp.client.api import Refused
from webapp.client.batches import list_batches
from webapp.client.batches import send_batch
from webapp.client.live import STATE_LABELS
from webapp.client.live import Follower
from webapp.client.live import ending_text
from webapp.client.results import result
from webapp.client.sending import check_files
from webapp.client.sending import parse_options
from webapp.client.sending import upload
from webapp.client.terminal import cancel_each
from webapp.client.terminal import confirm
from webapp.client.terminal import followed
from webapp.client.terminal import out
from webapp.client.terminal import percent_text

DEFAULT_URL = "http://127.0.0.1:5000"
STATES = ("SCHEDULED", "PENDING", "STARTED", "PROGRESS", "RETRY", "SUCCESS", "FAILURE", "REVOKED")


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


def jobs_ended(final: dict[str, dict], refused: int = 0) -> int:
    """Say why each failed job failed; 0 when every job ended SUCCESS and no file was refused."""
    for snapshot in final.values():
        if snapshot["state"] == "FAILURE":
            print(f"{snapshot['filename']}: {ending_text(snapshot)}", file=sys.stderr)
    ok = all(s["state"] == "SUCCESS" for s in final.values())
    return 0 if ok and not refused else 1


def offer_cancel(api: Api, unfinished: list[str]) -> int:
    """Ask whether to cancel the unfinished jobs, and do it when told yes; return 130."""
    if not unfinished:
        return 130
    if not confirm(f"Cancel the {len(unfinished)} unfinished job(s)?"):
        print("Left running; follow one with: taskboard watch ID")
        return 130
    cancel_each(api, "jobs", unfinished)
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
        shown = percent_text(job)
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
