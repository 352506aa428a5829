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

from tests.accounts import MAX_ACTIVE_JOBS  # noqa: E402
from tests.accounts import NOTIFY_RETRIES  # noqa: E402
from tests.accounts import PUBLIC_URL  # noqa: E402
from tests.accounts import WEBHOOK_SECRET  # noqa: E402
from tests.accounts import Receiver  # noqa: E402
from tests.accounts import SMTPServer  # noqa: E402
from tests.accounts import start_accounts_stack  # noqa: E402
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


@pytest.fixture(scope="session")
def second_web(redis_server, stack, tmp_path_factory) -> Stack:
    """Start a second web process on the stack's Redis, without a worker of its own, once for
    the run (its tests use new users, and read its counters as differences)."""
    web = Stack(
        redis_server, tmp_path_factory.mktemp("web-b"), upload_dir=stack.upload_dir, worker=False
    )
    yield web
    web.stop()


@pytest.fixture
def user(stack) -> User:
    """Return a new user of the shared stack, connected live."""
    yield from live_user(stack.url)


@pytest.fixture(scope="session")
def hostile_stack(tmp_path_factory) -> Stack:
    """Start a web server and worker with an 8 MiB upload limit, for the hostile inputs, on a
    Redis of its own (its worker must take no other test's jobs, and no other worker its)."""
    redis_server = RedisServer(tmp_path_factory.mktemp("hostile-redis"))
    running = Stack(
        redis_server, tmp_path_factory.mktemp("hostile"), MAX_UPLOAD_BYTES=str(HOSTILE_LIMIT)
    )
    yield running
    running.stop()
    redis_server.stop()


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


@pytest.fixture(scope="session")
def smtp() -> SMTPServer:
    """Start a real SMTP server for the whole run."""
    server = SMTPServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def receiver() -> Receiver:
    """Start a webhook receiver for the whole run."""
    server = Receiver()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def notifying(smtp, tmp_path_factory) -> Stack:
    """Start a stack in accounts mode on a Redis of its own (no other stack's worker, with other
    settings, may take its notification tasks) that mails through the test SMTP server, may
    fetch from and post to this machine, retries deliveries after 0.1 s, allows schedules every
    2 s, no limit on sign-ins or uploads a minute, and at most MAX_ACTIVE_JOBS active jobs a
    user. Users alice and carol have an e-mail address, bob has none."""
    folder = tmp_path_factory.mktemp("notifying")
    redis_server = RedisServer(folder / "redis")
    users = {
        "alice": {"email": "alice@example.org"},
        "bob": {},
        "carol": {"email": "carol@example.org"},
    }
    running = start_accounts_stack(
        redis_server,
        folder,
        users,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        MAIL_FROM="taskboard@example.org",
        PUBLIC_URL=PUBLIC_URL,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        FETCH_ALLOW_PRIVATE="1",
        NOTIFY_RETRY_BASE_S="0.1",
        NOTIFY_RETRIES=str(NOTIFY_RETRIES),
        MAX_ACTIVE_JOBS=str(MAX_ACTIVE_JOBS),
        SCHEDULE_MIN_INTERVAL_S="2",
        UPLOAD_RATE_LIMIT="100000/minute",
        LOGIN_RATE_LIMIT="100000/minute",  # every test signs in, all from this machine
        MAX_UPLOAD_BYTES=str(16 * 1024 * 1024),
    )
    yield running
    running.stop()
    redis_server.stop()
