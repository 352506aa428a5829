"""The ``taskboard`` command against the real stack, read from a pseudo-terminal as a person
sees it: live bars, exit statuses, one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pexpect
import pytest

from tests.hostile import png
from tests.parts import wait_for
from webapp.client import cli
from webapp.stack import BIN

COMMAND = str(BIN / "taskboard")
SLOW = json.dumps({"steps": 15, "interval_ms": 100})


@pytest.fixture
def token(user) -> str:
    """Return a new API token of the test's user."""
    response = user.http.post(user.url + "/api/tokens", json={"name": "cli"})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def terminal(stack, token: str, *args: str) -> pexpect.spawn:
    """Start the command in a pseudo-terminal of 120 columns, with the stack's URL and token."""
    env = {"TASKBOARD_URL": stack.url, "TASKBOARD_TOKEN": token, "TERM": "xterm", "PATH": "/bin"}
    return pexpect.spawn(
        COMMAND, list(args), env=env, dimensions=(30, 120), encoding="utf-8", timeout=60
    )


def finished(child: pexpect.spawn) -> tuple[str, int]:
    """Read the command's output to its end; return it and the exit status."""
    child.expect(pexpect.EOF)
    child.close()
    return child.before, child.exitstatus


def succeeded(user, processor: str, content: bytes) -> str:
    """Send ``content`` as ``in.csv`` and return the job's id once it has succeeded."""
    job_id = user.submit(processor, content=content, filename="in.csv")
    wait_for(lambda: user.job(job_id)["state"] == "SUCCESS", 30)
    return job_id


def run(stack, token: str, *args: str) -> subprocess.CompletedProcess:
    """Run the command without a terminal and return what it did."""
    env = {"TASKBOARD_URL": stack.url, "TASKBOARD_TOKEN": token, "PATH": "/bin"}
    return subprocess.run(
        [COMMAND, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_submit_follow_shows_live_bars_and_exits_0(stack, user, token, tmp_path):
    """Two files, two bars moving through percentages to SUCCESS; exit status 0."""
    for name in ("first.txt", "second.txt"):
        (tmp_path / name).write_text("hello\n")
    child = terminal(
        stack, token, "submit", str(tmp_path / "first.txt"), str(tmp_path / "second.txt"),
        "--processor", "simulate", "--options", SLOW, "--follow",
    )  # fmt: skip
    output, status = finished(child)
    assert status == 0, output
    assert "first.txt" in output and "second.txt" in output
    assert output.count("SUCCESS") >= 2 and "100%" in output
    # Bars drawn while the jobs ran: percentages between the ends, and a rate.
    assert re.search(r"\b[1-9][0-9]?%", output), output
    assert "steps/s" in output
    jobs = user.http.get(stack.url + "/api/jobs").json()["jobs"]
    assert [j["state"] for j in jobs[:2]] == ["SUCCESS", "SUCCESS"]


def test_submit_follow_exits_1_when_a_job_fails(stack, token, tmp_path):
    """A file the processor fails on: FAILURE on its bar, its error below, exit status 1."""
    (tmp_path / "broken.png").write_bytes(png((300, 300))[:400])
    (tmp_path / "fine.png").write_bytes(png())
    child = terminal(
        stack, token, "submit", str(tmp_path / "broken.png"), str(tmp_path / "fine.png"),
        "--processor", "image-thumbnails", "--follow",
    )  # fmt: skip
    output, status = finished(child)
    assert status == 1, output
    assert "FAILURE" in output and "SUCCESS" in output
    assert re.search(r"broken\.png: .*image", output), output


def test_bad_token_exits_2_with_one_line(stack, tmp_path):
    """A wrong token: one line naming the refusal, exit status 2, nothing sent."""
    (tmp_path / "a.txt").write_text("a\n")
    child = terminal(
        stack, "tb_" + "w" * 43, "submit", str(tmp_path / "a.txt"), "-p", "checksum", "--follow"
    )
    output, status = finished(child)
    assert status == 2
    assert output.strip().count("\n") == 0 and "refused the token" in output, output


@pytest.mark.parametrize(
    ("where", "words"),
    [("http://127.0.0.1:9", "cannot reach"), ("{url}/elsewhere", "does not look like a Taskboard")],
)
def test_wrong_url_exits_2_with_one_line(stack, token, where, words):
    """No server, or a server that is not a Taskboard: a one-line error, exit status 2."""
    done = run(stack, token, "--url", where.format(url=stack.url), "jobs")
    assert done.returncode == 2
    assert words in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr


def test_refused_file_says_the_servers_message(stack, token, tmp_path):
    """An empty file is refused by the server: its message, exit status 1."""
    (tmp_path / "empty.txt").write_bytes(b"")
    done = run(stack, token, "submit", str(tmp_path / "empty.txt"), "-p", "checksum")
    assert done.returncode == 1
    assert "empty.txt: refused: The file is empty." in done.stderr


def test_ctrl_c_offers_to_cancel_and_cancels(stack, user, token, tmp_path):
    """Ctrl-C while following asks; yes cancels the unfinished job."""
    (tmp_path / "long.txt").write_text("x\n")
    options = json.dumps({"steps": 400, "interval_ms": 100})
    child = terminal(
        stack, token, "submit", str(tmp_path / "long.txt"), "-p", "simulate",
        "--options", options, "--follow",
    )  # fmt: skip
    child.expect("running")
    child.sendintr()
    child.expect(r"Cancel the 1 unfinished job\(s\)\? \[y/N\]")
    child.sendline("y")
    output, status = finished(child)
    assert status == 130 and "cancelled" in output
    job_id = user.http.get(stack.url + "/api/jobs").json()["jobs"][0]["id"]
    wait_for(lambda: user.job(job_id)["state"] == "REVOKED")


def test_jobs_watch_result_and_cancel(stack, user, token, tmp_path):
    """The other commands: list by state, watch a finished job, print a result, save a file,
    and refuse to cancel what has finished."""
    checksum = user.submit("checksum", content=b"abc\n")
    table = user.submit("csv-to-xlsx", content=b"a,b\n1,2\n", filename="t.csv")
    for job_id in (checksum, table):
        user.wait_pushed(job_id, {"SUCCESS"})
    listed = run(stack, token, "jobs", "--state", "SUCCESS")
    assert listed.returncode == 0 and checksum in listed.stdout and table in listed.stdout
    assert run(stack, token, "jobs", "--state", "FAILURE").stdout.count(checksum) == 0
    watched = terminal(stack, token, "watch", checksum)
    output, status = finished(watched)
    assert status == 0 and "SUCCESS" in output
    printed = run(stack, token, "result", checksum)
    assert printed.returncode == 0 and json.loads(printed.stdout)["size"] == 4
    saved = run(stack, token, "result", table, "-o", str(tmp_path / "t.xlsx"))
    assert saved.returncode == 0 and (tmp_path / "t.xlsx").read_bytes()[:2] == b"PK"
    refused = run(stack, token, "cancel", checksum)
    assert refused.returncode == 1 and checksum in refused.stdout
    missing = run(stack, token, "watch", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "No such job" in missing.stderr


def test_refused_file_does_not_stop_the_others_while_following(stack, token, tmp_path):
    """One file refused, one sent: the refused bar says so, the other ends SUCCESS; exit 1."""
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "fine.txt").write_bytes(b"fine\n" * 50_000)
    child = terminal(
        stack, token, "submit", str(tmp_path / "empty.txt"), str(tmp_path / "fine.txt"),
        "-p", "checksum", "--follow",
    )  # fmt: skip
    output, status = finished(child)
    assert status == 1, output
    assert "refused" in output and "The file is empty." in output and "SUCCESS" in output


def test_submit_sends_the_notify_choice(stack, token, tmp_path, capsys):
    """--webhook goes with the file: a local address is refused by the server (exit 1, one line
    saying why); --email in anonymous mode is refused alike. (In this process: the installed
    command may run another checkout's code.)"""
    path = tmp_path / "hooked.txt"
    path.write_text("hello\n")
    common = ["--url", stack.url, "--token", token, "submit", str(path), "-p", "checksum"]
    assert cli.main([*common, "--webhook", "http://127.0.0.1:9/"]) == 1
    assert "loopback, private or link-local" in capsys.readouterr().err
    assert cli.main([*common, "--email"]) == 1
    assert "no sign-in" in capsys.readouterr().err


# A processor whose result is JSON, and one whose result is a file: what each is sent, and
# the name its result is saved under in a folder.
RESULTS = {
    "result": ("checksum", b"hello\n", "{id}.json"),
    "file": ("csv-to-xlsx", b"a,b\n1,2\n", "in.xlsx"),
}


@pytest.mark.parametrize(("processor", "content", "saved_as"), RESULTS.values(), ids=RESULTS)
def test_result_to_a_path_it_cannot_write_exits_2_with_one_line(
    stack, user, token, tmp_path, capsys, processor, content, saved_as
):
    """`result -o` a path in a missing folder: exit 2 and one line saying so, never a
    traceback. (In this process: the installed command may run another checkout's.)"""
    job_id = succeeded(user, processor, content)
    target = tmp_path / "missing" / saved_as
    status = cli.main(["--url", stack.url, "--token", token, "result", job_id, "-o", str(target)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith(f"taskboard: cannot write {target}:") and err.count("\n") == 1, err


@pytest.mark.parametrize(("processor", "content", "saved_as"), RESULTS.values(), ids=RESULTS)
def test_result_to_a_folder_saves_into_it_under_the_downloads_name(
    stack, user, token, tmp_path, capsys, processor, content, saved_as
):
    """`result -o FOLDER` saves into the folder under the download's name (as curl
    --output-dir and wget -P do), and never over a file already there. (In this process.)"""
    job_id = succeeded(user, processor, content)
    command = ["--url", stack.url, "--token", token, "result", job_id, "-o", str(tmp_path)]
    assert cli.main(command) == 0, capsys.readouterr().err
    saved = tmp_path / saved_as.format(id=job_id)
    assert saved.stat().st_size > 0, list(tmp_path.iterdir())
    capsys.readouterr()
    assert cli.main(command) == 2
    assert capsys.readouterr().err == f"taskboard: {saved} exists; choose where with -o PATH\n"


def test_result_of_a_cancelled_job_says_it_was_cancelled(stack, user, token, capsys):
    """A cancelled job has no result: one line saying it was cancelled, exit 1."""
    job_id = user.submit("simulate", options={"steps": 100, "interval_ms": 100})
    cancelled = user.http.post(f"{user.url}/api/jobs/{job_id}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    wait_for(lambda: user.job(job_id)["state"] == "REVOKED", 30)
    assert cli.main(["--url", stack.url, "--token", token, "result", job_id]) == 1
    assert capsys.readouterr().err == "the job was cancelled\n"


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda path: path.mkdir(), "a folder, not a file (give the files in it)"),
        (lambda path: os.mkfifo(path), "not a file"),
        (lambda path: None, "no such file"),
    ],
    ids=["folder", "fifo", "missing"],
)
def test_submit_of_what_is_not_a_file_says_what_it_is(stack, token, tmp_path, capsys, make, said):
    """A folder, a FIFO or a missing path given to submit: exit 2, one line naming it for what
    it is, nothing sent. (In this process, as above.)"""
    path = tmp_path / "given"
    make(path)
    status = cli.main(["--url", stack.url, "--token", token, "submit", str(path), "-p", "checksum"])
    assert status == 2
    assert capsys.readouterr().err == f"taskboard: {path}: {said}\n"
