"""The live side of the client: one bar per job, fed by the server's Socket.IO ``job`` events,
or one bar for a whole batch, fed by its ``batch`` events.

Each job (or the batch) is subscribed once (its current snapshot), then pushed events move its
bar; after a reconnection every unfinished one is subscribed again, so nothing is missed.
"""

from __future__ import annotations

import threading
from abc import ABC
from abc import abstractmethod

import socketio
from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn
from rich.progress import Progress
from rich.progress import TaskID
from rich.progress import TextColumn

from webapp.client.api import Api
from webapp.client.api import ClientError

TERMINAL = {"SUCCESS", "FAILURE", "REVOKED"}
# A batch's states when every job of it has ended.
BATCH_TERMINAL = {"SUCCESS", "PARTIAL", "FAILURE", "REVOKED"}
STATE_LABELS = {
    "UPLOADING": "[dim]uploading[/]",
    "PENDING": "[dim]queued[/]",
    "STARTED": "[cyan]started[/]",
    "PROGRESS": "[cyan]running[/]",
    "RETRY": "[yellow]retrying[/]",
    "SUCCESS": "[green]SUCCESS[/]",
    "FAILURE": "[red]FAILURE[/]",
    "REVOKED": "[yellow]cancelled[/]",
    "PARTIAL": "[yellow]PARTIAL[/]",
}
# How a batch's counts per state are said, in this order.
COUNT_WORDS = (
    ("SUCCESS", "done"),
    ("FAILURE", "failed"),
    ("REVOKED", "cancelled"),
    ("PROGRESS", "running"),
    ("STARTED", "started"),
    ("RETRY", "retrying"),
    ("PENDING", "queued"),
    ("SCHEDULED", "scheduled"),
)


def rate_text(progress: dict) -> str:
    """Return a job's rate for a person: ``1.2 MB/s`` for bytes, ``3.4 rows/s`` otherwise."""
    rate, unit = progress.get("rate"), progress.get("unit") or "units"
    if not isinstance(rate, int | float):
        return ""
    return f"{decimal(int(rate))}/s" if unit == "bytes" else f"{rate:,.1f} {unit}/s"


def eta_text(progress: dict) -> str:
    """Return the time left as ``m:ss left``, or nothing when unknown."""
    eta = progress.get("eta_s")
    if not isinstance(eta, int | float):
        return ""
    minutes, seconds = divmod(int(round(eta)), 60)
    return f"{minutes}:{seconds:02d} left"


def ending_text(snapshot: dict) -> str:
    """Return how an ended job ended, for a person: ``was cancelled``, ``failed: why``."""
    error = snapshot.get("error")
    if snapshot["state"] == "REVOKED":
        return f"was cancelled: {error}" if error else "was cancelled"
    if snapshot["state"] == "FAILURE":
        return f"failed: {error}" if error else "failed (the server gave no reason)"
    return f"ended {snapshot['state']}"


def counts_text(batch: dict) -> str:
    """Return a batch snapshot's counts per state for a person, with its jobs deleted since it
    ran: ``3 done, 1 running, 2 queued, 1 deleted``."""
    counts = batch.get("counts") or {}
    said = [f"{counts[state]} {word}" for state, word in COUNT_WORDS if counts.get(state)]
    if batch.get("deleted_jobs"):
        said.append(f"{batch['deleted_jobs']} deleted")
    return ", ".join(said)


class Live(ABC):
    """Bars fed by one kind of Socket.IO event, on a connection made with the API's token."""

    EVENT = "job"

    def __init__(self, api: Api, console: Console) -> None:
        self.api = api
        self.console = console
        self.bars = Progress(
            TextColumn("{task.description}", style="bold"),
            BarColumn(),
            TextColumn("{task.fields[percent]:>4}"),
            TextColumn("{task.fields[rate]:>12}"),
            TextColumn("{task.fields[eta]:>10}"),
            TextColumn("{task.fields[state]}"),
            console=console,
            refresh_per_second=8,
        )
        self.changed = threading.Condition()
        self.refusal: object = None
        self.sio = socketio.Client(reconnection_delay=0.5, reconnection_delay_max=5)
        self.sio.on(self.EVENT, self.show)
        self.sio.on("connect", self.resubscribe)
        self.sio.on("connect_error", self.refused)

    @abstractmethod
    def show(self, snapshot: dict) -> None:
        """Move a bar to a pushed snapshot."""

    @abstractmethod
    def resubscribe(self) -> None:
        """After a (re)connection, catch up with what is still running."""

    def bar(self, label: str, state: str = STATE_LABELS["PENDING"]) -> TaskID:
        """Show a new bar, not yet a job's or the batch's (an upload's, for one)."""
        return self.bars.add_task(label, total=100, percent="", rate="", eta="", state=state)

    def uploaded(self, bar: TaskID, sent: int, size: int) -> None:
        """Move an upload's bar: ``sent`` of ``size`` bytes."""
        percent = 100 * sent / size if size else 100
        self.bars.update(bar, completed=percent, percent=f"{percent:.0f}%")

    def connect(self) -> None:
        """Open the live connection with the token; fail in one line when refused."""
        try:
            self.sio.connect(self.api.url, auth={"token": self.api.token}, wait_timeout=10)
        except socketio.exceptions.ConnectionError as exc:
            why = self.refusal or exc
            raise ClientError(f"the live connection to {self.api.url} failed: {why}") from None

    def refused(self, data: object = None) -> None:
        """Keep why the server refused the connection, to say it."""
        self.refusal = data.get("message", data) if isinstance(data, dict) else data

    def close(self) -> None:
        """Stop the bars and close the live connection."""
        self.bars.stop()
        if self.sio.connected:
            self.sio.disconnect()


class Follower(Live):
    """Live bars for a set of jobs until all have finished (or the person stops watching)."""

    def __init__(self, api: Api, console: Console) -> None:
        self.jobs: dict[str, dict] = {}
        self.tasks: dict[str, TaskID] = {}
        super().__init__(api, console)

    def refuse(self, bar: TaskID) -> None:
        """Mark an upload's bar as refused by the server."""
        self.bars.update(bar, state="[red]refused[/]", percent="")

    def add(self, snapshot: dict, label: str, bar: TaskID | None = None) -> None:
        """Make a bar (a new one, or an upload's) show a job, then ask for its snapshot now."""
        job_id = snapshot["id"]
        self.tasks[job_id] = self.bar(label) if bar is None else bar
        self.show(snapshot)
        self.subscribe(job_id)

    def subscribe(self, job_id: str) -> None:
        """Ask the server for a job's snapshot now (it may have moved before we listened)."""
        try:
            answer = self.sio.call("subscribe", {"job_id": job_id}, timeout=10)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return  # the next pushed event, or the resubscription on reconnect, catches up
        if isinstance(answer, dict) and "id" in answer:
            self.show(answer)

    def resubscribe(self) -> None:
        """After a (re)connection, catch up with every unfinished job."""
        for job_id in [j for j, s in self.jobs.items() if s["state"] not in TERMINAL]:
            threading.Thread(target=self.subscribe, args=(job_id,), daemon=True).start()

    def show(self, snapshot: dict) -> None:
        """Move a job's bar to a snapshot, unless it is older than what the bar shows."""
        job_id = snapshot.get("id") if isinstance(snapshot, dict) else None
        if job_id not in self.tasks or "state" not in snapshot:
            return  # another job of the same user, or a deletion
        with self.changed:
            before = self.jobs.get(job_id)
            if before and self.older(snapshot, before):
                return
            self.jobs[job_id] = snapshot
            self.changed.notify_all()
        progress = snapshot.get("progress") or {}
        percent = progress.get("percent")
        done = snapshot["state"] in TERMINAL
        self.bars.update(
            self.tasks[job_id],
            total=100 if isinstance(percent, int | float) or done else None,
            completed=percent if isinstance(percent, int | float) else 0,
            percent=f"{percent:.0f}%" if isinstance(percent, int | float) else "",
            rate="" if done else rate_text(progress),
            eta="" if done else eta_text(progress),
            state=STATE_LABELS.get(snapshot["state"], snapshot["state"]),
        )

    @staticmethod
    def older(new: dict, old: dict) -> bool:
        """Tell whether ``new`` says less than ``old``: a finished job never runs again."""
        if old["state"] in TERMINAL:
            return True
        if new["state"] in TERMINAL:
            return False
        return (new.get("progress") or {}).get("ts", 0) < (old.get("progress") or {}).get("ts", 0)

    def unfinished(self) -> list[str]:
        """Return the ids of the jobs not yet finished."""
        with self.changed:
            return [j for j in self.tasks if self.jobs.get(j, {}).get("state") not in TERMINAL]

    def wait(self) -> dict[str, dict]:
        """Wait until every job has finished; return their last snapshots by id."""
        with self.changed:
            while self.unfinished_locked():
                # A short wait, so that Ctrl-C reaches the main thread at once.
                self.changed.wait(0.2)
            return dict(self.jobs)

    def unfinished_locked(self) -> bool:
        """Tell (holding the lock) whether some job has not finished."""
        return any(self.jobs.get(j, {}).get("state") not in TERMINAL for j in self.tasks)


class BatchFollower(Live):
    """One bar for a whole batch: its bytes-weighted percent, rate and time left, and its
    counts per state, until every job of it has ended."""

    EVENT = "batch"

    def __init__(self, api: Api, console: Console) -> None:
        self.batch: dict | None = None
        self.task: TaskID | None = None
        super().__init__(api, console)

    def follow(self, snapshot: dict, label: str) -> None:
        """Show the batch on a bar of its own, then ask for its snapshot now."""
        self.task = self.bar(label, "")
        self.show(snapshot)
        self.subscribe()

    def subscribe(self) -> None:
        """Ask the server for the batch's snapshot now (it may have moved before we listened)."""
        if self.batch is None:
            return
        try:
            answer = self.sio.call("subscribe", {"batch_id": self.batch["id"]}, timeout=10)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return  # the next pushed event, or the resubscription on reconnect, catches up
        if isinstance(answer, dict) and "id" in answer:
            self.show(answer)

    def resubscribe(self) -> None:
        """After a (re)connection, catch up with the batch unless it has ended."""
        if self.batch is not None and self.batch["state"] not in BATCH_TERMINAL:
            threading.Thread(target=self.subscribe, daemon=True).start()

    def show(self, snapshot: dict) -> None:
        """Move the bar to a batch snapshot; an ended batch is never shown running again."""
        if not isinstance(snapshot, dict) or "state" not in snapshot or self.task is None:
            return
        with self.changed:
            if self.batch is not None:
                if snapshot.get("id") != self.batch["id"]:
                    return  # another batch of the same user
                if self.batch["state"] in BATCH_TERMINAL:
                    return
            self.batch = snapshot
            self.changed.notify_all()
        progress = snapshot.get("progress") or {}
        percent = progress.get("percent")
        done = snapshot["state"] in BATCH_TERMINAL
        counts = counts_text(snapshot)
        state = STATE_LABELS.get(snapshot["state"], snapshot["state"])
        self.bars.update(
            self.task,
            completed=percent if isinstance(percent, int | float) else 0,
            percent=f"{percent:.0f}%" if isinstance(percent, int | float) else "",
            rate="" if done else rate_text(progress),
            eta="" if done else eta_text(progress),
            state=f"{state}  {counts}" if counts else state,
        )

    def wait(self) -> dict:
        """Wait until the batch has ended; return its last snapshot."""
        with self.changed:
            while self.batch is None or self.batch["state"] not in BATCH_TERMINAL:
                # A short wait, so that Ctrl-C reaches the main thread at once.
                self.changed.wait(0.2)
            return dict(self.batch)
