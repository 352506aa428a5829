"""A worker killed in the middle of a part of a split job loses that part only: the lost-worker
check (or, where that is slow, the stall sweeper) sends the part alone to the other worker, the
parts already done are kept, the job ends with the single task's profile, and its bar never
moves back while the part is done again."""

from __future__ import annotations

import os
import signal

import pytest
import redis

from tasks import split
from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User
from tests.parts import wait_for
from tests.unit.test_csv_profile_split import assert_same_profile
from tests.unit.test_csv_profile_split import quoted_csv
from tests.unit.test_csv_profile_split import single_profile
from webapp import stack as parts

PARTS = 4


# Which recovery finds the lost part: the other one is set too slow to act within the test.
FINDERS = {
    "lost its worker": {"STALL_AFTER_S": "300", "WORKER_LOST_S": "3"},
    "stalled": {"STALL_AFTER_S": "3", "WORKER_LOST_S": "300"},
}


@pytest.fixture(params=list(FINDERS))
def two_workers(request, tmp_path):
    """Web + worker A, worker B and a real beat on a Redis of their own, taking uploads of
    64 MB; beat checks the workers and sweeps every second; either a worker silent for 3 s is
    lost, or a part silent for 3 s is stalled."""
    redis_server = RedisServer(tmp_path / "redis")
    stack = Stack(
        redis_server,
        tmp_path,
        concurrency=1,
        MAX_UPLOAD_BYTES=str(64 * 1024 * 1024),
        STALL_SWEEP_S="1",
        WORKER_CHECK_S="1",
        **FINDERS[request.param],
    )
    stack.finder = request.param
    extra = stack.start_worker("worker2")
    beat = stack.start_beat()
    try:
        r = redis.Redis.from_url(redis_server.url)
        wait_for(lambda: r.hlen("taskboard:workers:seen") == 2, timeout=60)
        stack.extra = extra
        yield stack
    finally:
        parts.stop([p for p in (extra, beat) if p.poll() is None])
        stack.stop()
        redis_server.stop()


def big_quoted_csv() -> bytes:
    """Return about 23 MB of CSV whose quoted fields hold line breaks (3,000 rows repeated:
    every distinct count stays exact, so the profiles compare field by field)."""
    one = quoted_csv(3000)
    header, body = one.split(b"\n", 1)
    return header + b"\n" + body * 100


def running_part(r: redis.Redis, job_id: str) -> tuple[int, str] | None:
    """Return a part that has read some bytes and not finished, with its worker, or None."""
    fields = r.hgetall(split.PARTS_KEY.format(job_id))
    for i in range(PARTS):
        if int(fields.get(f"bytes:{i}", 0)) > 0 and f"done:{i}" not in fields:
            if f"worker:{i}" in fields:
                return i, fields[f"worker:{i}"]
    return None


def what_happened(stack: Stack, r: redis.Redis, user: User, job_id: str) -> str:
    """Say what the job, its parts, the live channel and the processes show (for a failure)."""
    lines = [
        f"job over HTTP: {user.job(job_id)}",
        f"parts: {r.hgetall(split.PARTS_KEY.format(job_id))}",
        f"live connection up: {user.sio.connected if user.sio else None}, "
        f"pushed states: {[e.get('state') for e in user.updates(job_id)]}",
        f"queues: default {r.llen('default')}, unacked {r.hlen('unacked')}",
    ]
    for name in ("worker", "worker2", "beat", "web"):
        try:
            lines.append(f"--- {name} log (end):\n{stack.log(name)[-3000:]}")
        except OSError as exc:
            lines.append(f"--- {name} log: {exc}")
    return "\n".join(lines)


def test_a_worker_killed_mid_part_loses_only_that_part(two_workers, tmp_path):
    """SIGKILL of the worker running a part: the part (and only it) runs again on the other
    worker, the job ends SUCCESS with the profile one task gives, and the bar never goes back."""
    stack = two_workers
    content = big_quoted_csv()
    path = tmp_path / "big.csv"
    path.write_bytes(content)
    r = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    user = User(stack.url)
    user.connect()
    try:
        job_id = user.submit(
            "csv-profile", content=content, filename="big.csv", options={"parallel": PARTS}
        )
        found = wait_for(lambda: running_part(r, job_id), timeout=60, interval=0.005)
        index, worker = found
        victim = stack.extra if worker.startswith("worker2-") else stack.worker
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        try:
            final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE", "REVOKED"}, timeout=120)
        except AssertionError as exc:
            raise AssertionError(what_happened(stack, r, user, job_id)) from exc
        assert final["state"] == "SUCCESS", final.get("error")
        fields = r.hgetall(split.PARTS_KEY.format(job_id))
        # The killed part was sent again once; no other part was.
        assert fields.get(f"redelivered:{index}") == "1"
        assert [f for f in fields if f.startswith("redelivered:")] == [f"redelivered:{index}"]
        survivor = "worker2-" if victim is stack.worker else "worker-"
        assert fields[f"worker:{index}"].startswith(survivor)
        assert f"job {job_id} part {index + 1} {stack.finder}" in (
            stack.log("worker") + stack.log("worker2")
        )
        result = dict(final["result"])
        assert result.pop("parts") == {"total": PARTS, "done": PARTS, "running": 0}
        assert_same_profile(result, single_profile(path))
        percents = [
            e["progress"]["percent"]
            for e in user.updates(job_id)
            if e.get("progress") and e["progress"].get("percent") is not None
        ]
        assert percents and percents[-1] == 100.0
        assert percents == sorted(percents), "the bar moved back"
    finally:
        user.close()
