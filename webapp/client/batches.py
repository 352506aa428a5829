"""``taskboard batch`` and ``taskboard batches``: several files sent as one batch, followed on
one bar; the user's batches listed."""

from __future__ import annotations

import argparse
import sys

from webapp.client.api import Api
from webapp.client.api import Refused
from webapp.client.live import STATE_LABELS
from webapp.client.live import BatchFollower
from webapp.client.live import counts_text
from webapp.client.sending import check_files
from webapp.client.sending import parse_options
from webapp.client.sending import upload_batch
from webapp.client.terminal import cancel_each
from webapp.client.terminal import confirm
from webapp.client.terminal import followed
from webapp.client.terminal import out
from webapp.client.terminal import percent_text


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
        print(f"{final['id']}  {final['state']}  {counts_text(final)}")
        return 0 if final["state"] == "SUCCESS" else 1

    return followed(follower, send, ended, lambda: offer_batch_cancel(api, follower.batch["id"]))


def offer_batch_cancel(api: Api, batch_id: str) -> int:
    """Ask whether to cancel the batch, and do it when told yes; return 130."""
    if not confirm("Cancel the batch?"):
        print(f"Left running: {batch_id}")
        return 130
    cancel_each(api, "batches", [batch_id])
    return 130


def list_batches(api: Api, args: argparse.Namespace) -> int:
    """Print the user's batches, one a line: id, state, processor, percent, counts."""
    limit = max(1, min(args.limit, 200))
    found = api.call("GET", "/api/batches", params={"limit": limit}).json()["batches"]
    for batch in found:
        shown = percent_text(batch)
        counts = counts_text(batch)
        print(f"{batch['id']}  {batch['state']:<8}  {batch['processor']:<16}  {shown:>4}  {counts}")
    return 0
