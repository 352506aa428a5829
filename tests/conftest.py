"""The tests' fixtures: real parts (tests/parts.py) started once per run or per module, and
what the processors' unit tests share."""

from __future__ import annotations

import os

# Before anything reads the settings (they are read once): the in-process app needs a secret.
os.environ.setdefault("SECRET_KEY", "test-secret")

import pytest  # noqa: E402

from tasks import registry
from tasks.processors import csv_profile
from tasks.progress import Progress
from tests.parts import HOSTILE_LIMIT
from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User


@pytest.fixture
def stores() -> list[dict]:
    """Collect the progress updates a work function stores."""
    return []


@pytest.fixture
def progress(stores) -> Progress:
    """Make a progress reporter that stores every update and is never cancelled."""
    return Progress(store=stores.append, is_cancelled=lambda: False, interval=0)


@pytest.fixture
def profile(tmp_path, progress):
    """Profile bytes (or text, as UTF-8) with the given options and return the result."""

    def run(content: bytes | str, **options) -> dict:
        """Write the content as the upload and profile it."""
        src = tmp_path / "input"
        src.write_bytes(content.encode() if isinstance(content, str) else content)
        return csv_profile.work(
            src, tmp_path, registry.get("csv-profile").validate(options), progress
        )

    return run


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisServer:
    """Start a Redis server of the tests' own for the whole run."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(redis_server, tmp_path_factory) -> Stack:
    """Start a worker and the web server (eventlet) on the tests' Redis."""
    running = Stack(redis_server, tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()


@pytest.fixture
def second_web(redis_server, stack, tmp_path_factory) -> Stack:
    """Start a second web process on the stack's Redis, without a worker of its own."""
    web = Stack(
        redis_server, tmp_path_factory.mktemp("web-b"), upload_dir=stack.upload_dir, worker=False
    )
    yield web
    web.stop()


@pytest.fixture
def user(stack) -> User:
    """Return a new user of the shared stack, connected live."""
    u = User(stack.url)
    u.connect()
    yield u
    u.close()


@pytest.fixture(scope="module")
def hostile_stack(redis_server, tmp_path_factory) -> Stack:
    """Start a web server and worker with an 8 MiB upload limit, for the hostile inputs (one
    per module: its worker takes jobs from the shared queues, so it must not outlive them)."""
    running = Stack(
        redis_server, tmp_path_factory.mktemp("hostile"), MAX_UPLOAD_BYTES=str(HOSTILE_LIMIT)
    )
    yield running
    running.stop()


@pytest.fixture
def victim(hostile_stack) -> User:
    """Return a live user of the hostile-input stack."""
    u = User(hostile_stack.url)
    u.connect()
    yield u
    u.close()


@pytest.fixture
def other_user(stack) -> User:
    """Return a second user, to check that users cannot see each other's jobs."""
    u = User(stack.url)
    u.connect()
    yield u
    u.close()
