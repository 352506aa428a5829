"""GET /metrics: the counts and timings move as jobs are sent, relayed and finished."""

from __future__ import annotations

import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.parts import User
from tests.parts import wait_for

QUICK = {"steps": 5, "interval_ms": 20}
Samples = dict[tuple[str, frozenset], float]


def scrape(url: str) -> Samples:
    """Return every sample of a web process's metrics, by name and labels."""
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return one sample's value, 0 when it is not there yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """Return how much a sample grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_move_after_a_job(stack, user):
    """A job sent and run to its end moves the submitted, bytes, finished, duration, relayed
    and lag metrics; queues and connections are read at scrape time."""
    before = scrape(stack.url)
    job_id = user.submit("simulate", content=b"12345", options=QUICK)
    user.wait_pushed(job_id, {"SUCCESS"})
    finished = ("taskboard_jobs_finished_total", {"processor": "simulate", "state": "SUCCESS"})
    after = wait_for(
        lambda: (s := scrape(stack.url)) and grew(before, s, finished[0], **finished[1]) and s,
        timeout=10,
        interval=0.1,
    )
    assert grew(before, after, "taskboard_jobs_submitted_total", processor="simulate") == 1
    assert grew(before, after, "taskboard_upload_bytes_total", processor="simulate") == 5
    assert grew(before, after, *finished[:1], **finished[1]) == 1
    duration = (
        "taskboard_job_duration_seconds_count",
        {"processor": "simulate", "state": "SUCCESS"},
    )
    assert grew(before, after, duration[0], **duration[1]) == 1
    assert grew(before, after, "taskboard_relay_lag_seconds_count") >= 1
    # Every push but the first ("created", which the API makes) came through the relay.
    relayed = len(user.updates(job_id)) - 1
    assert grew(before, after, "taskboard_relayed_updates_total") >= relayed
    assert value(after, "taskboard_relay_connected") == 1
    assert value(after, "taskboard_socketio_connections") >= 1
    assert ("taskboard_queue_length", frozenset({("queue", "default")})) in after
    assert ("taskboard_queue_oldest_age_seconds", frozenset({("queue", "heavy")})) in after


@pytest.mark.parametrize(
    ("content", "options", "code"),
    [(b"", None, "empty_file"), (b"x", {"steps": 0}, "bad_options")],
)
def test_a_refused_upload_is_counted_by_its_code(stack, user, content, options, code):
    """An upload the API refuses counts under its error code, not as a submitted job."""
    before = scrape(stack.url)
    assert user.upload("simulate", content=content, options=options).status_code == 400
    after = scrape(stack.url)
    assert grew(before, after, "taskboard_uploads_refused_total", code=code) == 1
    assert grew(before, after, "taskboard_jobs_submitted_total", processor="simulate") == 0


def test_connections_gauge_follows_open_sockets(stack):
    """Each live connection to the process counts while it is open."""
    gauge = "taskboard_socketio_connections"
    base = value(scrape(stack.url), gauge)
    users = [User(stack.url) for _ in range(2)]
    for u in users:
        u.connect()
    wait_for(lambda: value(scrape(stack.url), gauge) == base + 2, timeout=10, interval=0.1)
    for u in users:
        u.close()
    wait_for(lambda: value(scrape(stack.url), gauge) == base, timeout=10, interval=0.1)


def test_each_job_end_is_counted_by_one_web_process(stack, second_web, user):
    """Both relays see the job end; the sum over the web processes grows by one."""
    name, labels = "taskboard_jobs_finished_total", {"processor": "simulate", "state": "SUCCESS"}

    def total() -> float:
        """Return the finished count summed over both web processes."""
        return sum(value(scrape(web.url), name, **labels) for web in (stack, second_web))

    before = total()
    job_id = user.submit("simulate", options=QUICK)
    user.wait_pushed(job_id, {"SUCCESS"})
    wait_for(lambda: total() >= before + 1, timeout=10, interval=0.1)
    time.sleep(0.5)  # nothing to wait for: the other relay must not count it too
    assert total() == before + 1
