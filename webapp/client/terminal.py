"""The terminal side shared by the client's commands: the console, live following of what a
command sent, a yes/no question, a percent for listings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console

from webapp.client.api import Api
from webapp.client.api import Refused
from webapp.client.live import Live

out = Console(highlight=False)


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


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; no unless answered y or yes."""
    try:
        answer = out.input(f"{question} [y/N] ", markup=False)
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def percent_text(item: dict) -> str:
    """Return a job's or batch's percent for a listing ("42%"), or "-" when unknown."""
    percent = (item.get("progress") or {}).get("percent")
    return f"{percent:.0f}%" if isinstance(percent, int | float) else "-"


def cancel_each(api: Api, collection: str, ids: list[str]) -> None:
    """Cancel each of the ids (``collection``: "jobs" or "batches"), saying how each went."""
    for item_id in ids:
        try:
            api.call("POST", f"/api/{collection}/{item_id}/cancel", (202,))
            print(f"{item_id}  cancelled")
        except Refused as exc:
            print(f"{item_id}  {exc.message}")
