"""What the relay costs Redis: calls per pushed progress update, and per move of a queue.

Redis counts every command it runs and the time it spent in it (``INFO commandstats``;
commands a script runs count too, beside the script's EVAL). On a stack of its own with no
worker, the only other clients are this script (its calls are known: SET and PUBLISH per
synthetic update, one EVAL per queue move) and the web process, whose idle rate (held
deletes' sweep, presence) is measured first and taken off. So what remains is the web
process's cost of relaying: per PROGRESS update of a watched job, and per job leaving a queue
with jobs of watched users behind it (their places read and the changed ones pushed): calls
the relay makes (round trips), commands Redis ran for them, and Redis's time.
"""

from __future__ import annotations

import time
from collections import Counter

import redis
import requests
import socketio

from bench.common import Stack
from bench.common import cookie_of
from bench.common import table
from bench.publisher import Publisher
from bench.publisher import create_jobs

USERS = 10
QUEUED = 20  # per user, behind the jobs that leave
MOVES = 20


def stats(r: redis.Redis) -> Counter:
    """Return how many times Redis ran each command so far, and ``usec``: its time in all."""
    found = Counter()
    for name, value in r.info("commandstats").items():
        found[name.removeprefix("cmdstat_")] += value["calls"]
        found["usec"] += value["usec"]
    return found


def counted(r: redis.Redis, action, idle: Counter, idle_s: float) -> tuple[Counter, object]:
    """Run ``action``; return the commands others ran meanwhile (the idle rate and this
    script's INFO taken off), and what it returned."""
    before, started = stats(r), time.monotonic()
    result = action()
    share = (time.monotonic() - started) / idle_s if idle_s else 0.0
    delta = stats(r) - before
    delta["info"] -= 1
    for name, count in idle.items():
        delta[name] -= round(count * share)
    return +delta, result


def commands(delta: Counter) -> int:
    """Return the number of commands in a count (its time left out)."""
    return sum(v for k, v in delta.items() if k != "usec")


def run(quick: bool = False) -> dict:
    """Measure the relay's commands per update and per queue move."""
    seconds = 5 if quick else 20
    with Stack() as stack:
        r = redis.Redis.from_url(stack.redis_url, decode_responses=True)
        owners, clients, pushes = [], [], [0]
        for _ in range(USERS):
            http = requests.Session()
            owners.append(http.get(stack.url + "/api/session").json()["user"])
            client = socketio.Client()
            client.on("job", lambda data: pushes.__setitem__(0, pushes[0] + 1))
            client.connect(stack.url, headers={"Cookie": cookie_of(http)}, transports=["websocket"])
            clients.append(client)
        ids = create_jobs(stack.redis_url, owners)
        time.sleep(1.0)
        idle, _ = counted(r, lambda: time.sleep(seconds), Counter(), 0.0)

        def publish():
            return Publisher(stack.redis_url, ids, rate=10, seconds=seconds).wait()["sent"]

        delta, sent = counted(r, publish, idle, seconds)
        delta["set"] -= sent
        delta["publish"] -= sent
        per_update = commands(+delta) / sent
        rows = [["progress update", sent, round(per_update, 3), round(per_update, 3), ""]]
        results = {"idle": dict(idle), "idle_s": seconds, "per_update": per_update}
        try:
            from tasks import queueline
        except ImportError:  # a tree without queue places
            queueline = None
        if queueline is not None:
            lines = [create_jobs(stack.redis_url, owners) for _ in range(QUEUED + 1)]
            for line in lines:
                for job_id in line:
                    queueline.enter(r, job_id, "default")
            time.sleep(1.0)
            leaving = [job_id for line in lines for job_id in line][:MOVES]
            pushed_before = pushes[0]

            def moves():
                for job_id in leaving:
                    queueline.leave(r, job_id)
                    time.sleep(0.2)  # one read of the places per move: none coalesced

            delta, _ = counted(r, moves, idle, seconds)
            # This script's leaves: one EVAL each, running HGET, HDEL, ZREM and PUBLISH.
            for name in ("eval", "hget", "hdel", "zrem", "publish"):
                delta[name] -= MOVES
            scripted = {"hget", "zrank"}  # what the relay's places script runs inside
            trips = commands(+Counter({k: v for k, v in delta.items() if k not in scripted}))
            results |= {
                "move": dict(+delta),
                "round_trips_per_move": trips / MOVES,
                "commands_per_move": commands(+delta) / MOVES,
                "redis_usec_per_move": delta["usec"] / MOVES,
                "followed_jobs": len(ids) * (QUEUED + 2),
                "pushes_per_move": (pushes[0] - pushed_before) / MOVES,
            }
            rows.append(
                [
                    "queue move",
                    MOVES,
                    trips / MOVES,
                    commands(+delta) / MOVES,
                    round(delta["usec"] / MOVES),
                ]
            )
        for client in clients:
            client.disconnect()
    columns = ["what", "count", "relay's calls each", "Redis commands each", "Redis µs each"]
    print(table("the relay's cost in Redis", columns, rows))
    return results
