"""RabbitMQ as the broker, Redis for results and live updates: the same pipeline, end to end.

Runs where a RabbitMQ answers on 127.0.0.1:5672 (`.ci/run` starts one), in a virtual host of
its own when `rabbitmqctl` can make one; skipped, with that reason, where none answers.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import subprocess
import uuid

import pytest
from openpyxl import load_workbook

from tests.parts import Stack
from tests.parts import User

AMQP = ("127.0.0.1", 5672)


def rabbitmq_answers() -> bool:
    """Tell whether something listens on RabbitMQ's port."""
    try:
        socket.create_connection(AMQP, timeout=1).close()
        return True
    except OSError:
        return False


def rabbitmqctl(*args: str) -> bool:
    """Run rabbitmqctl; tell whether it worked."""
    ctl = shutil.which("rabbitmqctl") or shutil.which("rabbitmqctl", path="/usr/sbin")
    if ctl is None:
        return False
    return subprocess.run([ctl, *args], capture_output=True, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def amqp_url():
    """Return a broker URL on the local RabbitMQ, in a fresh virtual host where possible."""
    if not rabbitmq_answers():
        pytest.skip("no RabbitMQ answers on 127.0.0.1:5672 (.ci/run starts one)")
    vhost = f"taskboard-test-{uuid.uuid4().hex[:8]}"
    if rabbitmqctl("add_vhost", vhost):
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
        rabbitmqctl("delete_vhost", vhost)
    else:
        # No rights to make a virtual host: share the default one.
        yield "amqp://guest:guest@127.0.0.1:5672//"


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
