"""A finished job's snapshot tells its whole work (``current == total``), whoever asks and
whenever: a script that never watched it live, or one that polled it while it ran."""

from __future__ import annotations

import json

import pytest
import redis as redis_client

from tasks import jobstore
from tests.parts import User
from tests.parts import wait_for

SIZE = 300_000


def ended(stack, job_id: str) -> bool:
    """Tell whether the backend has stored the job's end, without asking the web server (which
    would see its progress on the way)."""
    r = redis_client.Redis.from_url(stack.redis_url)
    raw = r.get(jobstore.META_KEY.format(job_id))
    return bool(raw) and json.loads(raw)["status"] in jobstore.TERMINAL


CSV = b"n,word\n" + b"".join(b"%d,w%d\n" % (i, i % 7) for i in range(60_000))


@pytest.mark.parametrize(
    ("processor", "content", "options"),
    [("checksum", b"x" * SIZE, {}), ("csv-profile", CSV, {"parallel": 2})],
    ids=["one-task", "split"],
)
def test_job_never_watched_reports_its_whole_work(stack, processor, content, options):
    """A job that no one watched while it ran (one task, or split in parts) reports its
    file's bytes done, not 0 of 0."""
    user = User(stack.url)
    job_id = user.submit(processor, content=content, options=options)
    wait_for(lambda: ended(stack, job_id), 30)
    snapshot = user.job(job_id)
    assert snapshot["state"] == "SUCCESS"
    progress = snapshot["progress"]
    size = len(content)
    assert (progress["current"], progress["total"], progress["unit"]) == (size, size, "bytes")
    if options:
        assert snapshot["parts"] == {"total": 2, "done": 2, "running": 0}


def test_job_polled_while_running_reports_its_last_step(stack):
    """A job polled over HTTP while it ran (so its server saw only some of its reports) ends
    with its last step as its progress, not the last one the poller happened to see."""
    user = User(stack.url)
    job_id = user.submit("simulate", options={"steps": 30, "interval_ms": 30})
    wait_for(lambda: user.job(job_id)["state"] == "PROGRESS", 30)
    wait_for(lambda: ended(stack, job_id), 30)
    progress = user.job(job_id)["progress"]
    assert (progress["current"], progress["total"], progress["percent"]) == (30, 30, 100.0)
