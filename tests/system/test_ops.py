"""The operations page and its API: workers, queues and jobs per state, pushed while watched."""

from __future__ import annotations

import time

import pytest
import requests
import socketio

from tasks import jobstore
from tests.accounts import signed_in
from tests.accounts import start_accounts_stack
from tests.parts import Stack
from tests.parts import User
from tests.parts import wait_for
from webapp.live import presence
from webapp.ops import overview

LONG = {"steps": 400, "interval_ms": 50}
REFRESH_S = 2.0


def get(stack: Stack, path: str, http: requests.Session | None = None) -> requests.Response:
    """GET a path of the stack."""
    return (http or requests).get(stack.url + path, timeout=10, allow_redirects=False)


def our_worker(stack: Stack) -> dict | None:
    """Return the stack's worker as GET /api/workers lists it, or None."""
    workers = get(stack, "/api/workers").json()["workers"]
    return next((w for w in workers if w["name"].startswith(f"worker-{stack.port}@")), None)


def queue(stack: Stack, name: str) -> dict:
    """Return one queue as GET /api/queues lists it."""
    return next(q for q in get(stack, "/api/queues").json()["queues"] if q["name"] == name)


def test_workers_lists_the_worker_with_its_pool_and_heartbeat(stack):
    """A running worker is online, with its pool, queues and a fresh heartbeat."""
    worker = wait_for(lambda: our_worker(stack), timeout=10, interval=0.2)
    assert worker["online"] is True
    assert (worker["pool"], worker["concurrency"]) == ("prefork", 2)
    assert worker["queues"] == ["default", "heavy"]
    assert worker["host"] == worker["name"].partition("@")[2]
    assert worker["heartbeat_age_s"] < 2 * REFRESH_S
    assert worker["processed"] >= 0 and worker["uptime_s"] >= 0


def test_a_full_worker_shows_its_jobs_and_the_rest_wait_in_the_queue(stack, user):
    """Two jobs run on the two processes; two more wait in the queue, with an age; all are
    counted per state, and once cancelled the queue drains and they count as cancelled."""
    ids = [user.submit("simulate", options=LONG, filename=f"{n}.txt") for n in range(4)]
    try:
        worker = wait_for(
            lambda: (w := our_worker(stack)) and len(w["jobs"]) == 2 and w, 15, interval=0.2
        )
        assert {job["id"] for job in worker["jobs"]} < set(ids)
        assert {job["processor"] for job in worker["jobs"]} == {"simulate"}
        assert all(job["started_at"] for job in worker["jobs"])
        waiting = wait_for(lambda: (q := queue(stack, "default"))["length"] >= 2 and q, 10)
        assert waiting["oldest_age_s"] is not None and 0 <= waiting["oldest_age_s"] < 30
        counts = get(stack, "/api/queues").json()["jobs"]
        assert counts["PENDING"] >= 2 and counts["STARTED"] + counts["PROGRESS"] >= 2
    finally:
        for job_id in ids:
            user.http.post(f"{stack.url}/api/jobs/{job_id}/cancel")
    wait_for(lambda: queue(stack, "default")["length"] == 0, 15, interval=0.2)
    counts = wait_for(
        lambda: (c := get(stack, "/api/queues").json()["jobs"])["REVOKED"] >= 4 and c, 10
    )
    assert counts["PENDING"] == 0


def test_watchers_get_pushes_until_they_stop_watching(stack, user):
    """ops_watch answers the overview at once, then refreshes come every few seconds; after
    ops_unwatch they stop."""
    pushed: list[dict] = []
    user.sio.on("ops", pushed.append)
    answer = user.sio.call("ops_watch", timeout=10)
    assert {"workers", "queues", "jobs", "checked_at"} <= set(answer)
    wait_for(lambda: len(pushed) >= 2, timeout=3 * REFRESH_S + 2)
    assert pushed[1]["checked_at"] > pushed[0]["checked_at"]
    user.sio.call("ops_unwatch", timeout=10)
    seen = len(pushed)
    time.sleep(2 * REFRESH_S)  # nothing to wait for: no push must come
    assert len(pushed) <= seen + 1, "refreshes went on after the page stopped watching"


def test_one_web_process_refreshes_for_watchers_on_every_process(stack, second_web):
    """Watchers on two web processes get the same refreshes, made once per interval."""
    seen: dict[str, list[str]] = {}
    clients = []
    for name, web in (("a", stack), ("b", second_web)):
        watcher = User(web.url)
        watcher.connect()
        seen[name] = []
        watcher.sio.on("ops", lambda data, name=name: seen[name].append(data["checked_at"]))
        watcher.sio.call("ops_watch", timeout=10)
        clients.append(watcher)
    try:
        wait_for(lambda: len(seen["a"]) >= 3 and len(seen["b"]) >= 3, timeout=6 * REFRESH_S)
    finally:
        for watcher in clients:
            watcher.close()
    both = sorted(set(seen["a"]) & set(seen["b"]))
    assert len(both) >= 2, seen
    every = sorted(set(seen["a"]) | set(seen["b"]))
    gaps = [
        jobstore.timestamp(later) - jobstore.timestamp(earlier)
        for earlier, later in zip(every, every[1:], strict=False)
    ]
    # Two processes refreshing in one interval would leave a gap near 0; a refresh made late on a
    # busy machine leaves a long gap and then a short one (3.0 s then 1.0 s was seen).
    assert min(gaps) > 0.4 * REFRESH_S, f"two processes refreshed in one interval: {gaps}"


@pytest.fixture(scope="module")
def accounts_web(redis_server, stack, tmp_path_factory):
    """Start a web process in accounts mode (admin olga, user pat) on the stack's Redis."""
    web = start_accounts_stack(
        redis_server,
        tmp_path_factory.mktemp("ops-accounts"),
        {"olga": {"admin": True}, "pat": {}},
        upload_dir=stack.upload_dir,
        worker=False,
    )
    yield web
    web.stop()


def watch_answer(web: Stack, http: requests.Session) -> dict:
    """Connect with the session's cookie and return what ops_watch answers."""
    client = socketio.Client()
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    client.connect(web.url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    try:
        return client.call("ops_watch", timeout=10)
    finally:
        client.disconnect()


@pytest.mark.parametrize(
    ("name", "api", "page", "linked"),
    [(None, 401, 302, False), ("pat", 403, 403, False), ("olga", 200, 200, True)],
)
def test_only_administrators_see_operations_in_accounts_mode(accounts_web, name, api, page, linked):
    """Without a sign-in the API says 401 and the page leads to the sign-in form; a user who
    is not an administrator gets 403 and no header link; an administrator sees it all."""
    http = signed_in(accounts_web, name).http if name else requests.Session()
    for path in ("/api/workers", "/api/queues"):
        assert get(accounts_web, path, http).status_code == api
    response = get(accounts_web, "/ops", http)
    assert response.status_code == page
    if page == 302:
        assert response.headers["Location"].startswith("/login?next=/ops")
        return
    assert ('href="/ops"' in get(accounts_web, "/", http).text) is linked
    answer = watch_answer(accounts_web, http)
    assert ("workers" in answer) is linked
    if not linked:
        assert answer["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("message", "sent"),
    [
        ('{"headers": {"taskboard_sent_at": 1700000000.5}}', 1700000000.5),
        ('{"headers": {"id": "x"}}', None),
        ('{"headers": {"taskboard_sent_at": "soon"}}', None),
        ("[]", None),
        ("not json", None),
    ],
)
def test_a_messages_sent_time_is_read_from_its_header(message, sent):
    """The age of a queue's oldest message comes from the header every message gets; without
    it the age is unknown."""
    assert overview.sent_at(message) == sent


def test_a_worker_without_the_status_command_is_listed_with_what_is_known():
    """An older worker that does not know the command still shows, with its name and host."""
    worker = overview.describe_worker("w1@host-a", {"error": "No such command"}, 100.0)
    assert (worker["host"], worker["pool"], worker["active"], worker["jobs"]) == (
        "host-a",
        None,
        0,
        [],
    )


@pytest.mark.parametrize(
    ("answered", "ago_s", "online"),
    [
        (True, 30.0, True),
        (False, 3.0, True),  # one refresh missed: a busy worker, still online
        (False, 5.0, False),
        (False, 40.0, False),
    ],
)
def test_a_worker_is_online_through_one_missed_answer(answered, ago_s, online):
    """A worker that missed an answer within the grace stays online; past it, it is not."""
    assert overview.is_online(answered, 1000.0 - ago_s, 1000.0, grace=4.5) is online


def test_broadcasts_of_one_process_are_a_second_apart(monkeypatch):
    """A status broadcast right after another waits out the second between them."""
    sent: list[float] = []
    monkeypatch.setattr(
        overview.celery_app.control,
        "broadcast",
        lambda *args, **kwargs: sent.append(time.monotonic()) or [],
    )
    overview.broadcast_status(0.1)
    overview.broadcast_status(0.1)
    assert sent[1] - sent[0] >= overview.BROADCAST_SPACING_S - 0.01


def test_workers_are_counted_per_queue_and_per_processor():
    """Online workers count for the queues they take; a processor gets its queue's count."""
    view = {
        "workers": [
            {"online": True, "queues": ["default"]},
            {"online": False, "queues": ["heavy"]},
        ]
    }
    counts = presence.counts(view)
    assert counts["online"] == 1
    assert counts["queues"] == {"default": 1, "heavy": 0}
    assert counts["processors"]["checksum"] == 1
    assert counts["processors"]["csv-to-xlsx"] == 0


def test_a_new_connection_is_told_the_workers_online(stack, user):
    """Right after connecting, a client gets the `workers` event with the stack's worker."""
    seen: list[dict] = []
    client = socketio.Client()
    client.on("workers", seen.append)
    cookie = "; ".join(f"{k}={v}" for k, v in user.http.cookies.items())
    client.connect(stack.url, headers={"Cookie": cookie}, transports=["websocket"])
    try:
        counts = wait_for(lambda: seen and seen[-1], timeout=10)
        assert counts["online"] >= 1
        assert counts["queues"]["default"] >= 1
        assert counts["processors"]["simulate"] >= 1
    finally:
        client.disconnect()
