"""The compose cluster for real: docker-compose.yml up on a Docker engine, reached through nginx.

`make test-cluster` (deploy/cluster/test.sh) provides the engine (DOCKER_HOST) and the images
(TASKBOARD_IMAGE, REDIS_IMAGE, NGINX_IMAGE, RABBITMQ_IMAGE); this fixture brings the project
up, hands the tests its address, and takes everything down again, volumes included.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.parts import wait_for
from webapp.stack import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT = "taskboard-cluster-test"
IMAGES = ("TASKBOARD_IMAGE", "REDIS_IMAGE", "NGINX_IMAGE")
WORKERS = 3
# The brokers to run the whole test with: Redis, and RabbitMQ (compose's rabbitmq profile).
BROKERS = os.environ.get("CLUSTER_BROKERS", "redis").split()
AMQP_URL = "amqp://taskboard:taskboard@rabbitmq:5672//"


class Cluster:
    """A compose project that is up: its URL through nginx and the docker commands on it."""

    def __init__(self, env: dict[str, str], env_file: str, logs: Path) -> None:
        self.env = env
        self.env_file = env_file
        self.logs = logs
        self.url = f"http://127.0.0.1:{env['TASKBOARD_PORT']}"
        self.broker = "rabbitmq" if env.get("BROKER_URL", "").startswith("amqp") else "redis"
        self.compose_args = [
            *compose_command(),
            "-p",
            PROJECT,
            "-f",
            str(ROOT / "docker-compose.yml"),
        ]
        self.compose_args += ["--env-file", env_file]
        for profile in env.get("COMPOSE_PROFILES", "").split(","):
            if profile:
                self.compose_args += ["--profile", profile]

    def compose(self, *args: str, timeout: float = 180) -> str:
        """Run a compose command on the project and return its output; fail on an error."""
        done = subprocess.run(
            [*self.compose_args, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"compose {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout

    def docker(self, *args: str, timeout: float = 60) -> str:
        """Run a docker command and return its output; fail on an error."""
        done = subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout

    def containers(self, service: str) -> list[str]:
        """Return the full ids of a service's running containers."""
        return self.compose("ps", "-q", service).split()

    def container_of_worker(self, worker: str) -> str:
        """Return the container of a Celery worker named ``celery@<container hostname>``."""
        hostname = worker.partition("@")[2]
        found = [c for c in self.containers("worker") if c.startswith(hostname)]
        assert len(found) == 1, f"no single worker container for {worker}: {found}"
        return found[0]

    def running(self, container: str) -> bool:
        """Tell whether a container runs now."""
        return self.docker("inspect", "-f", "{{.State.Running}}", container).strip() == "true"

    def steady(self, answers: int = 5) -> bool:
        """Tell whether /healthz reports every worker several times running, 0.2 s apart
        (nginx re-admits web processes it saw failing while they started, within 10 s)."""
        for _ in range(answers):
            if (self.healthz() or {}).get("workers") != WORKERS:
                return False
            time.sleep(0.2)
        return True

    def healthz(self) -> dict | None:
        """Return /healthz through nginx, or None while it does not answer 200."""
        try:
            response = requests.get(self.url + "/healthz", timeout=5)
        except requests.RequestException:
            return None
        return response.json() if response.status_code == 200 else None


def compose_command() -> list[str]:
    """Return the compose CLI: the docker plugin where it works, else docker-compose."""
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    return ["docker", "compose"] if probe.returncode == 0 else ["docker-compose"]


def engine_answers() -> bool:
    """Tell whether a Docker engine answers on DOCKER_HOST (or the default socket)."""
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="session", params=BROKERS)
def cluster_env(request) -> dict[str, str]:
    """Return the environment compose runs with: the images, a fresh secret, a free port, and
    the broker (with the rabbitmq profile for RabbitMQ)."""
    missing = [name for name in IMAGES if not os.environ.get(name)]
    if missing or not engine_answers():
        pytest.fail(
            "no Docker engine or images: run `make test-cluster` "
            f"(missing: {', '.join(missing) or 'an engine'})"
        )
    env = dict(os.environ)
    env.update(
        SECRET_KEY=secrets.token_hex(32),
        TASKBOARD_PORT=str(free_port()),
        # The defaults of docker-compose.yml, whatever the caller's shell says.
        COMPOSE_PROJECT_NAME=PROJECT,
    )
    for name in ("BROKER_URL", "STALL_AFTER_S", "WORKER_LOST_S", "WORKER_CHECK_S"):
        env.pop(name, None)
    if request.param == "rabbitmq":
        env.update(COMPOSE_PROFILES="rabbitmq", BROKER_URL=AMQP_URL)
    return env


@pytest.fixture(scope="session")
def cluster(cluster_env, tmp_path_factory) -> Cluster:
    """Bring docker-compose.yml up with three workers and wait until nginx reports them."""
    # Kept where make test-cluster says (outside the repository), else in pytest's tmp.
    folder = Path(os.environ.get("CLUSTER_LOGS") or tmp_path_factory.mktemp("cluster"))
    folder.mkdir(parents=True, exist_ok=True)
    logs = folder / f"compose-{cluster_env.get('COMPOSE_PROFILES') or 'redis'}.log"
    print(f"\ncluster with the {cluster_env.get('COMPOSE_PROFILES') or 'redis'} broker")
    # An empty env file: a developer's .env must not change what the test runs.
    with tempfile.NamedTemporaryFile(suffix=".env") as env_file:
        up = Cluster(cluster_env, env_file.name, logs)
        up.compose("down", "-v", "--remove-orphans")
        try:
            up.compose("up", "-d", "--no-build", "--scale", f"worker={WORKERS}", timeout=300)
            # RabbitMQ takes a while to start; the workers connect once it listens.
            wait_for(lambda: up.steady(), 180, 1)
            yield up
        finally:
            logs.write_text(up.compose("logs", "--no-color", "--timestamps"))
            print(f"\ncompose logs: {logs}")
            up.compose("down", "-v", "--remove-orphans", "--timeout", "10")
