"""``taskboard batch`` and ``taskboard batches`` against the real stack, read from a
pseudo-terminal as a person sees them: one bar for the whole batch, its counts per state, and
an exit status that says whether the batch ended SUCCESS."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pexpect

from tests.hostile import png
from tests.parts import ROOT
from tests.parts import wait_for
from tests.system import test_client

# A new API token of the test's user.
token = test_client.token
SLOW = json.dumps({"steps": 12, "interval_ms": 100})


def environment(stack, token: str) -> dict:
    """Return the command's environment: the stack's URL and the token, a plain terminal."""
    return {"TASKBOARD_URL": stack.url, "TASKBOARD_TOKEN": token, "TERM": "xterm", "PATH": "/bin"}


def terminal(stack, token: str, *args: str) -> pexpect.spawn:
    """Start the command (this tree's client module) in a pseudo-terminal of 120 columns."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "webapp.client", *args],
        env=environment(stack, token),
        cwd=str(ROOT),
        dimensions=(30, 120),
        encoding="utf-8",
        timeout=60,
    )


def run(stack, token: str, *args: str) -> subprocess.CompletedProcess:
    """Run the command without a terminal and return what it did."""
    return subprocess.run(
        [sys.executable, "-m", "webapp.client", *args],
        env=environment(stack, token),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_batch_follow_shows_one_bar_and_exits_0(stack, user, token, tmp_path):
    """Three files, one batch, one bar moving through percentages with a rate and counts per
    state to SUCCESS; exit status 0; ``taskboard batches`` lists it."""
    names = ("a.txt", "b.txt", "c.txt")
    for name in names:
        (tmp_path / name).write_text("hello\n")
    child = terminal(
        stack, token, "batch", *(str(tmp_path / n) for n in names),
        "--processor", "simulate", "--options", SLOW, "--follow",
    )  # fmt: skip
    output, status = test_client.finished(child)
    assert status == 0, output
    assert "batch of 3" in output and "3 done" in output and "100%" in output
    # Drawn while the jobs ran: a percentage between the ends, a count still running or queued.
    assert re.search(r"\b[1-9][0-9]?%", output), output
    assert re.search(r"\d (running|queued)", output), output
    found = user.http.get(stack.url + "/api/batches").json()["batches"]
    assert found[0]["state"] == "SUCCESS" and len(found[0]["jobs"]) == 3
    assert found[0]["id"] in output
    listed = run(stack, token, "batches")
    assert listed.returncode == 0, listed.stderr
    first = listed.stdout.splitlines()[0]
    assert first.startswith(found[0]["id"]) and "SUCCESS" in first and "3 done" in first
    assert "100%" in first


def test_batch_with_a_refused_and_a_failing_file_exits_1(stack, token, tmp_path):
    """A file refused at upload and one the processor fails on: the refusal said, the batch
    ends PARTIAL, exit status 1."""
    (tmp_path / "notes.txt").write_text("not an image\n")
    (tmp_path / "broken.png").write_bytes(png((300, 300))[:400])
    (tmp_path / "fine.png").write_bytes(png())
    child = terminal(
        stack, token, "batch", str(tmp_path / "notes.txt"), str(tmp_path / "broken.png"),
        str(tmp_path / "fine.png"), "--processor", "image-thumbnails", "--follow",
    )  # fmt: skip
    output, status = test_client.finished(child)
    assert status == 1, output
    assert "notes.txt: refused:" in output
    assert "PARTIAL" in output and "1 done" in output and "1 failed" in output


def test_ctrl_c_while_following_a_batch_offers_to_cancel_it(stack, user, token, tmp_path):
    """Ctrl-C while a batch's bar runs asks; yes cancels every job of the batch, exit 130;
    ``taskboard batches`` then lists it REVOKED at the work done, not 100 %."""
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("x\n")
    child = terminal(
        stack, token, "batch", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"),
        "-p", "simulate", "--options", json.dumps({"steps": 400, "interval_ms": 100}), "--follow",
    )  # fmt: skip
    child.expect("running")
    child.sendintr()
    child.expect(r"Cancel the batch\? \[y/N\]")
    child.sendline("y")
    output, status = test_client.finished(child)
    batch = user.http.get(stack.url + "/api/batches").json()["batches"][0]
    assert status == 130 and f"{batch['id']}  cancelled" in output, output
    wait_for(
        lambda: user.http.get(f"{stack.url}/api/batches/{batch['id']}").json()["state"] == "REVOKED"
    )
    listed = run(stack, token, "batches").stdout
    line = next(line for line in listed.splitlines() if line.startswith(batch["id"]))
    assert re.search(r"REVOKED\s+simulate\s+\d%", line), line


def test_batch_of_refused_files_says_each_reason(stack, token, tmp_path):
    """Every file refused: each file's reason, the server's message, exit status 1."""
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "also.txt").write_bytes(b"")
    done = run(
        stack, token, "batch", str(tmp_path / "empty.txt"), str(tmp_path / "also.txt"),
        "-p", "checksum",
    )  # fmt: skip
    assert done.returncode == 1
    assert "empty.txt: refused: The file is empty." in done.stderr
    assert "also.txt: refused: The file is empty." in done.stderr
    assert "Every file of the batch was refused." in done.stderr


def test_batch_without_follow_prints_its_id(stack, user, token, tmp_path):
    """Without --follow: the batch's id and job count, exit status 0."""
    (tmp_path / "one.txt").write_text("1\n")
    (tmp_path / "two.txt").write_text("2\n")
    done = run(
        stack, token, "batch", str(tmp_path / "one.txt"), str(tmp_path / "two.txt"),
        "-p", "checksum",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    batch_id, count = done.stdout.split()[:2]
    assert count == "2"
    batch = wait_for(
        lambda: (
            (b := user.http.get(f"{stack.url}/api/batches/{batch_id}").json())["state"] == "SUCCESS"
            and b
        )
    )
    assert len(batch["jobs"]) == 2
