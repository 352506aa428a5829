"""The fixtures every tier shares: a Redis server of the tests' own, and the real parts
(tests/parts.py: worker and web processes) started once per run or per module."""

from __future__ import annotations

import ast
import os
from pathlib import Path


def setting_names() -> list[str]:
    """Return the names of Taskboard's settings, read from the source: importing the tasks
    package would read the settings themselves."""
    source = Path(__file__).resolve().parent.parent / "tasks" / "settings.py"
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            return [n.target.id for n in node.body if isinstance(n, ast.AnnAssign)]
    raise LookupError(f"no class Settings in {source}")


# Before anything reads the settings (they are read once): the tests choose every setting they
# use, so none exported in the shell (PORT=5001 for make run, a REDIS_URL) reaches their parts;
# the in-process app needs a secret.
for name in setting_names():
    os.environ.pop(name, None)
os.environ["SECRET_KEY"] = "test-secret"

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from tests.fetching import FilesServer  # noqa: E402
from tests.parts import HOSTILE_LIMIT  # noqa: E402
from tests.parts import RedisServer  # noqa: E402
from tests.parts import Stack  # noqa: E402
from tests.parts import User  # noqa: E402


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
    yield from live_user(stack.url)


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
    yield from live_user(hostile_stack.url)


@pytest.fixture
def other_user(stack) -> User:
    """Return a second user, to check that users cannot see each other's jobs."""
    yield from live_user(stack.url)


def live_user(url: str) -> Iterator[User]:
    """Yield a new user of the web server at ``url``, connected live, and close it after."""
    u = User(url)
    u.connect()
    yield u
    u.close()


@pytest.fixture(scope="session")
def files_server() -> FilesServer:
    """Serve the URL-import tests' files over HTTP on this machine."""
    server = FilesServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fetching(tmp_path_factory) -> Stack:
    """Start a stack on a Redis of its own (its workers may fetch from this machine and must
    take no other test's jobs) with FETCH_ALLOW_PRIVATE=1, schedules allowed every 2 s and
    downloads stopped after 5 s."""
    redis_server = RedisServer(tmp_path_factory.mktemp("fetching-redis"))
    running = Stack(
        redis_server,
        tmp_path_factory.mktemp("fetching"),
        FETCH_ALLOW_PRIVATE="1",
        SCHEDULE_MIN_INTERVAL_S="2",
        FETCH_MAX_S="5",
        UPLOAD_RATE_LIMIT="100000/minute",
    )
    yield running
    running.stop()
    redis_server.stop()


@pytest.fixture
def fetcher(fetching) -> User:
    """Return a new live user of the fetching stack."""
    yield from live_user(fetching.url)
