"""The processor registry: every processor is found, checks its options and sniffs content."""

from __future__ import annotations

import errno
import io
import json
import zipfile
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from PIL import Image

import tasks
from tasks import registry
from tasks import settings
from tasks.registry import OptionsError

NAMES = ["checksum", "csv-profile", "csv-to-xlsx", "image-thumbnails", "simulate"]


def image(kind: str) -> bytes:
    """Return a tiny image in Pillow's format ``kind`` (PNG, JPEG, WEBP)."""
    data = io.BytesIO()
    Image.new("RGB", (2, 2)).save(data, kind)
    return data.getvalue()


def zipped() -> bytes:
    """Return a zip holding a tiny PNG."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("a.png", image("PNG"))
    return data.getvalue()


def test_every_processor_is_registered():
    """Register every built-in processor when the Celery app is imported."""
    assert sorted(registry.PROCESSORS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_task_names_stay_what_queued_messages_name(name):
    """Keep each task's explicit name, so messages queued before a deploy still find it."""
    snake = name.replace("-", "_")
    task = registry.get(name).task
    assert task.name == f"tasks.{snake}.{snake}"
    assert tasks.app.tasks[task.name].name == task.name


def test_worker_parts_are_wired_by_name():
    """Connect the worker's signals whatever else is imported: sent-at stamps, job logs."""
    from celery.signals import before_task_publish
    from celery.signals import task_prerun

    from tasks.worker import events

    receivers = [ref() for _, ref in before_task_publish.receivers]
    assert events.stamp_sent_time in receivers
    assert events.log_started in [ref() for _, ref in task_prerun.receivers]


def test_processor_decorator_returns_the_plain_work_function(tmp_path):
    """Leave the decorated work function callable without Celery."""
    from tasks.processors import checksum
    from tasks.progress import Progress

    src = tmp_path / "input"
    src.write_bytes(b"abc")
    progress = Progress(store=lambda meta: None, is_cancelled=lambda: False, interval=0)
    result = checksum.compute(src, tmp_path, {"algorithms": ["md5"]}, progress)
    assert result["digests"]["md5"] == "900150983cd24fb0d6963f7d28e17f72"


@pytest.mark.parametrize("name", NAMES)
def test_description_is_json_with_defaults_that_validate(name):
    """Describe each processor as JSON whose option defaults validate."""
    processor = registry.get(name)
    described = json.loads(json.dumps(processor.describe()))
    assert described["name"] == name
    for option in described["options"].values():
        assert "default" in option and option["description"]
    defaults = processor.validate({})
    assert set(defaults) == set(processor.options)


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        (
            "csv-profile",
            {},
            {"delimiter": "auto", "header": "auto", "encoding": "auto", "parallel": False},
        ),
        (
            "csv-profile",
            {"delimiter": "\t", "header": "no", "parallel": 4},
            {"delimiter": "\t", "header": "no", "encoding": "auto", "parallel": 4},
        ),
        (
            "csv-to-xlsx",
            {"delimiter": ";", "encoding": "cp1250"},
            {"delimiter": ";", "header": "auto", "encoding": "cp1250"},
        ),
        ("image-thumbnails", {}, {"sizes": [128, 512], "format": "keep"}),
        ("image-thumbnails", {"sizes": [16, 2048], "format": "webp"}, None),
        (
            "checksum",
            {"algorithms": ["md5", "sha256"]},
            {"algorithms": ["md5", "sha256"], "parallel": False},
        ),
        ("simulate", {"steps": 3}, {"steps": 3, "interval_ms": 100, "fail_attempts": 0}),
    ],
)
def test_good_options_are_filled_in(name, options, expected):
    """Accept good options and fill in the defaults."""
    assert registry.get(name).validate(options) == (expected or options)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("csv-profile", {"delimiter": "x"}),
        ("csv-profile", {"header": True}),
        ("csv-profile", {"rows": 10}),
        ("csv-profile", {"parallel": 0}),
        ("csv-profile", {"parallel": "yes"}),
        ("csv-to-xlsx", {"delimiter": ",,"}),
        ("image-thumbnails", {"sizes": []}),
        ("image-thumbnails", {"sizes": [0]}),
        ("image-thumbnails", {"sizes": [15]}),
        ("image-thumbnails", {"sizes": [4096]}),
        ("image-thumbnails", {"sizes": [64.5]}),
        ("image-thumbnails", {"sizes": ["128"]}),
        ("image-thumbnails", {"sizes": [64, 64]}),
        ("image-thumbnails", {"sizes": [16, 32, 64, 128, 256, 512]}),
        ("image-thumbnails", {"format": "gif"}),
        ("checksum", {"algorithms": ["crc32"]}),
        ("simulate", {"steps": 0}),
        ("simulate", {"interval_ms": -1}),
    ],
)
def test_bad_options_are_refused(name, options):
    """Refuse options that do not fit the processor's schema."""
    with pytest.raises(OptionsError):
        registry.get(name).validate(options)


CSV = b"a,b\n1,2\n"
CONTENT = {
    "csv": CSV,
    "tsv": b"a\tb\n1\t2\n",
    "latin-1 csv": "ville\nZürich\n".encode("latin-1"),
    "csv with BOM": b"\xef\xbb\xbf" + CSV,
    "png": image("PNG"),
    "jpeg": image("JPEG"),
    "webp": image("WEBP"),
    "zip": zipped(),
    "binary": bytes(range(256)) * 4,
    "empty": b"",
}
ACCEPTED = {
    "checksum": {
        "csv",
        "tsv",
        "latin-1 csv",
        "csv with BOM",
        "png",
        "jpeg",
        "webp",
        "zip",
        "binary",
    },
    "simulate": {
        "csv",
        "tsv",
        "latin-1 csv",
        "csv with BOM",
        "png",
        "jpeg",
        "webp",
        "zip",
        "binary",
    },
    "csv-profile": {"csv", "tsv", "latin-1 csv", "csv with BOM"},
    "csv-to-xlsx": {"csv", "tsv", "latin-1 csv", "csv with BOM"},
    "image-thumbnails": {"png", "jpeg", "webp", "zip"},
}


@pytest.mark.parametrize("kind", CONTENT)
@pytest.mark.parametrize("name", NAMES)
def test_content_decides_what_is_accepted(name, kind):
    """Accept or refuse a file by its content, with a reason when refused."""
    reason = registry.get(name).check_content(CONTENT[kind])
    if kind in ACCEPTED[name]:
        assert reason is None
    else:
        assert isinstance(reason, str) and reason


@pytest.mark.parametrize(
    ("name", "stem", "download"),
    [
        ("csv-to-xlsx", "sales", "sales.xlsx"),
        ("image-thumbnails", "holiday", "holiday-thumbnails.zip"),
    ],
)
def test_output_names(name, stem, download):
    """Name the download after the upload's stem."""
    assert registry.get(name).output_name(stem) == download


@pytest.mark.parametrize("name", ["checksum", "csv-profile", "simulate"])
def test_processors_without_output_file_have_no_output_name(name):
    """Give no download name to processors that make no file."""
    assert registry.get(name).output_name is None


class FakeTask:
    """Just enough of a bound Celery task for ``registry.run``: an id, a retry count, a retry."""

    def __init__(self, retries: int) -> None:
        self.request = SimpleNamespace(id="job-1", retries=retries)
        self.backend = SimpleNamespace()
        self.countdown = None

    def retry(self, exc: BaseException, countdown: float) -> Retry:
        """Remember the countdown and return what Celery's retry raises."""
        self.countdown = countdown
        return Retry(exc=exc, when=countdown)


def failing(error: OSError):
    """Return a processor's work that fails with ``error``."""

    def work(src, out, options, progress):
        raise error

    return work


@pytest.fixture
def uploads(tmp_path, monkeypatch):
    """Keep job files under a test folder, and treat every job as not finished yet."""
    monkeypatch.setattr(settings, "UPLOAD_DIR", tmp_path)
    monkeypatch.setattr(registry, "finished", lambda task, job_id: False)
    return tmp_path


@pytest.mark.parametrize(("retries", "countdown"), [(0, 1), (1, 2), (2, 4)])
def test_transient_io_error_is_retried_with_growing_backoff(uploads, retries, countdown):
    """EIO and the like are retried after 1, 2 and 4 seconds, and the outputs are cleared."""
    task = FakeTask(retries)
    with pytest.raises(Retry):
        registry.run(task, failing(OSError(errno.EIO, "Input/output error")), {}, "bytes")
    assert task.countdown == countdown
    assert not (uploads / "job-1" / "output").exists()


def test_transient_io_error_fails_with_words_after_the_last_retry(uploads):
    """After three retries the job fails with the error in words, not a traceback."""
    task = FakeTask(registry.MAX_RETRIES)
    with pytest.raises(registry.ProcessorError, match="Input/output error"):
        registry.run(task, failing(OSError(errno.EIO, "Input/output error")), {}, "bytes")
    assert task.countdown is None


def test_lasting_io_error_is_not_retried(uploads):
    """A missing upload is not going to come back: no retry, a plain sentence."""
    task = FakeTask(0)
    with pytest.raises(registry.ProcessorError, match="gone"):
        registry.run(task, failing(FileNotFoundError(errno.ENOENT, "No such file")), {}, "bytes")
    assert task.countdown is None
