"""RabbitMQ as the broker, Redis for results and live updates: the same pipeline, end to end.

The tests start a RabbitMQ node of their own on free ports (with an epmd of its own), so no
system broker is needed or disturbed; `make test` installs the server (Debian: rabbitmq-server).
"""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.parts import Stack
from tests.parts import User
from webapp import processes as parts

# Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user; the script it calls does not.
SERVERS = ("/usr/lib/rabbitmq/bin/rabbitmq-server", "/usr/sbin/rabbitmq-server")


def rabbitmq_server() -> str:
    """Return the rabbitmq-server script to run, or fail saying what to install."""
    for path in SERVERS:
        if Path(path).exists():
            return path
    found = shutil.which("rabbitmq-server")
    if found is None:
        pytest.fail("no rabbitmq-server: install it (Debian: apt-get install rabbitmq-server)")
    return found


@pytest.fixture(scope="module")
def amqp_url(tmp_path_factory):
    """Start a RabbitMQ node of the tests' own on free ports and return its broker URL."""
    folder = tmp_path_factory.mktemp("rabbitmq")
    port, dist_port, epmd_port = parts.free_port(), parts.free_port(), parts.free_port()
    (folder / "enabled_plugins").write_text("[].\n")
    env = parts.child_env(
        HOME=str(folder),  # its Erlang cookie
        ERL_EPMD_PORT=str(epmd_port),
        RABBITMQ_NODENAME=f"taskboard-test-{port}@localhost",
        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
        RABBITMQ_NODE_PORT=str(port),
        RABBITMQ_DIST_PORT=str(dist_port),
        RABBITMQ_MNESIA_BASE=str(folder / "mnesia"),
        RABBITMQ_LOG_BASE=str(folder / "log"),
        RABBITMQ_LOGS="-",
        RABBITMQ_PID_FILE=str(folder / "pid"),
        RABBITMQ_CONFIG_FILE=str(folder / "rabbitmq"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(folder / "enabled_plugins"),
    )
    children = []
    try:
        # An epmd in the foreground, so that stopping the node's children stops it too.
        epmd = shutil.which("epmd")
        if epmd:
            command = [epmd, "-port", str(epmd_port), "-address", "127.0.0.1"]
            children.append(parts.spawn(command, env, folder / "epmd.log"))
        children.append(parts.spawn([rabbitmq_server()], env, folder / "rabbitmq.log"))
        parts.wait_for_port(port, children[-1], timeout=120)
        yield f"amqp://guest:guest@127.0.0.1:{port}//"
    finally:
        parts.stop(children)


@pytest.fixture(scope="module")
def amqp_stack(redis_server, amqp_url, tmp_path_factory):
    """Start a worker and a web server with RabbitMQ as broker and the tests' Redis for results."""
    running = Stack(redis_server, tmp_path_factory.mktemp("amqp"), BROKER_URL=amqp_url)
    yield running
    running.stop()


@pytest.fixture
def amqp_user(amqp_stack):
    """Return a live user of the RabbitMQ stack."""
    u = User(amqp_stack.url)
    u.connect()
    yield u
    u.close()


def test_worker_answers_health_check_over_rabbitmq(amqp_stack):
    """/healthz pings the worker over RabbitMQ and counts it."""
    assert User(amqp_stack.url).http.get(amqp_stack.url + "/healthz").json() == {
        "redis": "ok",
        "workers": 1,
    }


def test_default_queue_job_is_pushed_live_to_success(amqp_user):
    """A checksum job goes through RabbitMQ and its progress is pushed from the Redis backend."""
    content = b"taskboard over amqp\n" * 1000
    job_id = amqp_user.submit("checksum", content=content)
    final = amqp_user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=30)
    assert final["state"] == "SUCCESS", final["error"]
    assert final["result"]["digests"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert [u["state"] for u in amqp_user.updates(job_id)][0] == "PENDING"


def test_heavy_queue_job_runs_and_its_file_downloads(amqp_user):
    """A csv-to-xlsx job is routed to the heavy queue over RabbitMQ and makes its workbook."""
    job_id = amqp_user.submit("csv-to-xlsx", content=b"name,n\na,1\nb,2\n", filename="t.csv")
    final = amqp_user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=30)
    assert final["state"] == "SUCCESS", final["error"]
    response = amqp_user.http.get(f"{amqp_user.url}/api/jobs/{job_id}/result")
    rows = list(load_workbook(io.BytesIO(response.content)).active.values)
    assert rows == [("name", "n"), ("a", 1), ("b", 2)]


def test_cancel_stops_a_running_job_over_rabbitmq(amqp_user):
    """Cancel reaches a running job through RabbitMQ: REVOKED is pushed within 2 s."""
    job_id = amqp_user.submit("simulate", options={"steps": 400, "interval_ms": 50})
    amqp_user.wait_pushed(job_id, {"PROGRESS"}, timeout=15)
    assert amqp_user.http.post(f"{amqp_user.url}/api/jobs/{job_id}/cancel").status_code == 202
    amqp_user.wait_pushed(job_id, {"REVOKED"}, timeout=2)
