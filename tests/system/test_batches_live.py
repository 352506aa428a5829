"""Batches on real parts: a Celery group of jobs on the worker, one bar weighted by bytes
pushed as ``batch`` events, PARTIAL when files are refused or fail, cancel of everything, and
one zip of the results."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import zipfile

from tests.hostile import png
from tests.parts import User
from tests.parts import wait_for


class BatchWatcher:
    """The ``batch`` events one user's connection receives."""

    def __init__(self, user: User) -> None:
        self.events: list[dict] = []
        self._lock = threading.Lock()
        user.sio.on("batch", self._record)

    def _record(self, data: dict) -> None:
        with self._lock:
            self.events.append(data)

    def of(self, batch_id: str) -> list[dict]:
        """Return the pushed snapshots of one batch, in order."""
        with self._lock:
            return [e for e in self.events if e.get("id") == batch_id]

    def wait_state(self, batch_id: str, states: set[str], timeout: float = 30) -> dict:
        """Wait for a pushed snapshot of the batch in one of ``states``."""
        return wait_for(
            lambda: next((e for e in self.of(batch_id) if e["state"] in states), None), timeout
        )


def send_batch(user: User, files: list[tuple[str, bytes]], processor: str, options=None):
    """Send several files as one batch and return the answer."""
    data = {"processor": processor}
    if options is not None:
        data["options"] = json.dumps(options)
    return user.http.post(
        user.url + "/api/batches", files=[("file", f) for f in files], data=data, timeout=30
    )


def test_batch_bar_is_weighted_by_bytes_and_pushed(user):
    """One big file and three small ones: when the big one is done and the small ones are not,
    the bar is past 99 % (bytes), not at a quarter or a half (jobs); it ends SUCCESS."""
    watcher = BatchWatcher(user)
    sizes = [600_000, 1_000, 1_000, 1_000]
    files = [(f"f{i}.bin", b"x" * size) for i, size in enumerate(sizes)]
    response = send_batch(user, files, "simulate", {"steps": 10, "interval_ms": 100})
    assert response.status_code == 202, response.text
    batch = response.json()
    assert response.headers["Location"] == f"/api/batches/{batch['id']}"
    # Answered after the group is sent: a worker may have started a job already.
    assert batch["state"] in ("PENDING", "PROGRESS") and len(batch["jobs"]) == 4
    assert batch["progress"]["total"] == sum(sizes) and batch["progress"]["unit"] == "bytes"
    big = batch["jobs"][0]
    assert user.job(big)["batch"] == batch["id"]
    user.wait_pushed(big, {"SUCCESS"}, timeout=30)
    mid = user.http.get(f"{user.url}/api/batches/{batch['id']}").json()
    # Two worker processes: the last small files run for a second after the big one ended.
    assert mid["state"] == "PROGRESS", mid
    assert 99.0 <= mid["progress"]["percent"] < 100.0, mid
    assert mid["progress"]["current"] >= sizes[0]
    done = watcher.wait_state(batch["id"], {"SUCCESS"})
    assert done["counts"] == {"SUCCESS": 4} and done["progress"]["percent"] == 100.0
    assert done["finished_at"]
    pushed = watcher.of(batch["id"])
    running = [e for e in pushed if e["state"] == "PROGRESS"]
    assert running, "no batch event while it ran"
    assert any(e["progress"]["rate"] and e["progress"]["eta_s"] is not None for e in running)
    for event in pushed:
        progress = event["progress"]
        assert progress["total"] == sum(sizes)
        assert abs(progress["percent"] - 100 * progress["current"] / progress["total"]) < 0.01
    listed = user.http.get(user.url + "/api/batches").json()["batches"]
    assert [b["id"] for b in listed][:1] == [batch["id"]]


def test_refused_and_failing_files_make_a_partial_batch(user):
    """A file refused up front and one the processor fails on: the rest runs, PARTIAL."""
    watcher = BatchWatcher(user)
    files = [
        ("fine.png", png((40, 40))),
        ("broken.png", png((300, 300))[:400]),
        ("notes.txt", b"not an image at all\n"),
    ]
    response = send_batch(user, files, "image-thumbnails")
    assert response.status_code == 202, response.text
    batch = response.json()
    assert [(r["filename"], r["error"]["code"]) for r in batch["refused"]] == [
        ("notes.txt", "unsupported_file")
    ]
    assert len(batch["jobs"]) == 2
    ended = watcher.wait_state(batch["id"], {"SUCCESS", "PARTIAL", "FAILURE", "REVOKED"})
    assert ended["state"] == "PARTIAL"
    assert ended["counts"] == {"SUCCESS": 1, "FAILURE": 1}
    failed = [user.job(j) for j in batch["jobs"] if user.job(j)["state"] == "FAILURE"]
    assert failed[0]["filename"] == "broken.png" and failed[0]["error"]


def test_cancel_stops_every_job_of_a_running_batch(user):
    """Cancel while one job runs and others wait: REVOKED, and no job runs afterwards."""
    watcher = BatchWatcher(user)
    files = [(f"w{i}.txt", b"wait\n") for i in range(5)]
    response = send_batch(user, files, "simulate", {"steps": 100, "interval_ms": 100})
    batch = response.json()
    watcher.wait_state(batch["id"], {"PROGRESS"})
    cancelled = user.http.post(f"{user.url}/api/batches/{batch['id']}/cancel", timeout=10)
    assert cancelled.status_code == 202, cancelled.text
    ended = watcher.wait_state(batch["id"], {"REVOKED"}, timeout=15)
    assert ended["counts"] == {"REVOKED": 5}
    ended_at = time.time()
    wait_for(lambda: all(user.job(j)["state"] == "REVOKED" for j in batch["jobs"]), 10)
    time.sleep(1.5)  # long enough for a job that was wrongly let run to report
    for job_id in batch["jobs"]:
        snapshot = user.job(job_id)
        assert snapshot["state"] == "REVOKED"
        late = [
            e
            for e in user.updates(job_id)
            if e.get("state") in ("STARTED", "PROGRESS") and e["progress"]["ts"] > ended_at
        ]
        assert not late, late
    again = user.http.post(f"{user.url}/api/batches/{batch['id']}/cancel", timeout=10)
    assert again.status_code == 409


def test_result_is_one_zip_named_after_the_files(user, other_user):
    """Checksums of three files, two of them with one name: one zip, no entry lost."""
    watcher = BatchWatcher(user)
    files = [("a.txt", b"first\n"), ("a.txt", b"second\n"), ("b.txt", b"third\n")]
    batch = send_batch(user, files, "checksum").json()
    url = f"{user.url}/api/batches/{batch['id']}"
    watcher.wait_state(batch["id"], {"SUCCESS"})
    assert other_user.http.get(url + "/result").status_code == 404
    response = user.http.get(url + "/result", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["a.txt.json", "a.txt (2).json", "b.txt.json"]
        digests = [json.loads(archive.read(n))["digests"]["sha256"] for n in archive.namelist()]
    assert digests == [hashlib.sha256(content).hexdigest() for _, content in files]
    assert user.http.delete(url, timeout=10).status_code == 204
    assert user.http.get(url).status_code == 404
    assert all(user.http.get(f"{user.url}/api/jobs/{j}").status_code == 404 for j in batch["jobs"])


def test_a_batch_goes_with_its_jobs_and_counts_only_those_left(user):
    """Two finished batches. Deleting one job of the first: the batch counts the two left, says
    one deleted, its bar and zip are the jobs left. A bulk delete of every job (the page's
    "Delete selected"): both batches are gone (read, listed, zip) and each tab is told once."""
    watcher = BatchWatcher(user)
    first = send_batch(user, [(f"k{i}.txt", f"keep {i}\n".encode()) for i in range(3)], "checksum")
    second = send_batch(user, [("z.txt", b"zed\n"), ("y.txt", b"why\n")], "checksum")
    first, second = first.json(), second.json()
    for batch in (first, second):
        watcher.wait_state(batch["id"], {"SUCCESS"})
    url = f"{user.url}/api/batches/{first['id']}"
    gone = first["jobs"][0]
    assert user.http.delete(f"{user.url}/api/jobs/{gone}", timeout=10).status_code == 204
    pushed = watcher.of
    left = wait_for(lambda: next((e for e in pushed(first["id"]) if e.get("deleted_jobs")), None))
    assert left["jobs"] == first["jobs"][1:] and left["counts"] == {"SUCCESS": 2}
    read = user.http.get(url).json()
    assert read["jobs"] == first["jobs"][1:] and read["deleted_jobs"] == 1
    assert read["progress"]["total"] == len(b"keep 1\n") * 2
    assert read["state"] == "SUCCESS" and read["progress"]["percent"] == 100.0
    with zipfile.ZipFile(io.BytesIO(user.http.get(url + "/result", timeout=10).content)) as z:
        assert z.namelist() == ["k1.txt.json", "k2.txt.json"]

    answer = user.http.post(
        f"{user.url}/api/jobs/bulk", json={"action": "delete", "filter": {}}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    for batch in (first, second):
        wait_for(lambda b=batch: {"id": b["id"], "deleted": True} in watcher.of(b["id"]))
        batch_url = f"{user.url}/api/batches/{batch['id']}"
        assert user.http.get(batch_url).status_code == 404
        assert user.http.get(batch_url + "/result").status_code == 404
    listed = user.http.get(f"{user.url}/api/batches").json()["batches"]
    assert not {first["id"], second["id"]} & {b["id"] for b in listed}
    time.sleep(0.5)  # long enough for a second deleted event to come
    for batch in (first, second):
        assert [e for e in watcher.of(batch["id"]) if e.get("deleted") is True] == [
            {"id": batch["id"], "deleted": True}
        ]


def test_a_cancelled_batch_reads_the_work_done_not_100(user):
    """Four simulate files of 20 to 30 steps, cancelled while the first run: the bar says the
    work done (the steps of the jobs that ran, nothing of those that never started), as each
    cancelled job's own bar stays where it stopped."""
    watcher = BatchWatcher(user)
    files = [(f"s{i}.bin", b"x" * 5) for i in range(4)]
    batch = send_batch(user, files, "simulate", {"steps": 25, "interval_ms": 100}).json()
    wait_for(lambda: any(user.job(j)["progress"]["current"] >= 2 for j in batch["jobs"]), 15)
    cancelled = user.http.post(f"{user.url}/api/batches/{batch['id']}/cancel", timeout=10)
    assert cancelled.status_code == 202, cancelled.text
    ended = watcher.wait_state(batch["id"], {"REVOKED"}, timeout=15)
    time.sleep(0.5)  # the jobs' last reports, kept in their records
    read = user.http.get(f"{user.url}/api/batches/{batch['id']}").json()
    jobs = [user.job(j) for j in batch["jobs"]]
    done = sum(5 * j["progress"]["current"] / 25 for j in jobs)
    assert 0 < read["progress"]["percent"] < 100, read
    assert read["progress"]["current"] == round(done), (read, [j["progress"] for j in jobs])
    assert ended["progress"]["percent"] < 100, ended
