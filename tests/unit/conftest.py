"""The fast tier's fixtures: the app in this process (flaskr style) on the tests' Redis, with no
worker and no web server process, and what the processors' unit tests share."""

from __future__ import annotations

import io
import zipfile

import pytest
import redis
from PIL import Image

from tasks import jobstore
from tasks import registry
from tasks.processors import csv_profile
from tasks.processors import image_thumbnails
from tasks.progress import Progress
from tests.parts import MAX_UPLOAD_BYTES
from webapp import create_app


@pytest.fixture(scope="session")
def app(redis_server, tmp_path_factory):
    """Create the app in this process, on the tests' Redis, without a relay or message queue."""
    return create_app(
        {
            "TESTING": True,
            "RELAY": False,
            "ASYNC_MODE": "threading",
            "REDIS_URL": redis_server.url,
            "RATELIMIT_STORAGE_URI": redis_server.url,
            "SOCKETIO_MESSAGE_QUEUE": None,
            "UPLOAD_DIR": tmp_path_factory.mktemp("uploads"),
            "MAX_UPLOAD_BYTES": MAX_UPLOAD_BYTES,
            "MAX_CONTENT_LENGTH": MAX_UPLOAD_BYTES + 64 * 1024,
        }
    )


@pytest.fixture
def r(redis_server) -> redis.Redis:
    """Return a client of the tests' Redis on a database of the job records' tests, emptied
    first, with the periodic indexes marked as seeded."""
    client = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/3", decode_responses=True)
    client.flushdb()
    client.set(jobstore.SEEDED_KEY, "1")
    return client


class Client:
    """A browser of the in-process app: its own session, and the CSRF token it was given."""

    def __init__(self, app) -> None:
        self.http = app.test_client()
        self.csrf = self.http.get("/api/session").get_json()["csrf_token"]

    def post(self, path: str, **kwargs):
        """POST with the session's CSRF token."""
        headers = {"X-CSRFToken": self.csrf} | kwargs.pop("headers", {})
        return self.http.post(path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        """GET as this browser."""
        return self.http.get(path, **kwargs)

    def job_count(self) -> int:
        """Return how many jobs this browser's user has."""
        return len(self.get("/api/jobs?limit=200").get_json()["jobs"])


@pytest.fixture
def client(app) -> Client:
    """Return a new browser of the in-process app, with a session and its CSRF token."""
    return Client(app)


@pytest.fixture
def stores() -> list[dict]:
    """Collect the progress updates a work function stores."""
    return []


@pytest.fixture
def progress(stores) -> Progress:
    """Make a progress reporter that stores every update and is never cancelled."""
    return Progress(store=stores.append, is_cancelled=lambda: False, interval=0)


@pytest.fixture
def thumbnails(tmp_path, progress):
    """Run the image-thumbnails processor on bytes; return the result and the thumbnails as
    name -> image (the zip and the page's previews are all the processor writes)."""

    def run(content: bytes, **options):
        """Write the content as the upload, make thumbnails and open each one."""
        src = tmp_path / "input"
        src.write_bytes(content)
        out = tmp_path / "output"
        out.mkdir(exist_ok=True)
        options = registry.get("image-thumbnails").validate(options)
        result = image_thumbnails.work(src, out, options, progress)
        assert {p.name for p in out.iterdir()} == {result["output"], "previews"}
        with zipfile.ZipFile(out / result["output"]) as archive:
            images = {n: Image.open(io.BytesIO(archive.read(n))) for n in archive.namelist()}
        return result, images

    return run


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
