"""The checksum processor: digests equal hashlib's, streamed, with progress in bytes."""

from __future__ import annotations

import hashlib

import pytest

from tasks import registry
from tasks.processors import checksum
from tasks.progress import Cancelled
from tasks.progress import Progress
from tasks.registry import OptionsError

CONTENTS = {
    "empty": b"",
    "short": b"hello\n",
    "binary": bytes(range(256)) * 3,
    "several chunks": b"x" * (2 * 1024 * 1024 + 17),
}


@pytest.mark.parametrize("content", CONTENTS.values(), ids=CONTENTS.keys())
@pytest.mark.parametrize("algorithms", [["sha256"], ["md5", "sha1", "sha512", "blake2b"]])
def test_digests_equal_hashlib(tmp_path, progress, content, algorithms):
    """Compute the same digests as hashlib for every algorithm asked."""
    src = tmp_path / "input"
    src.write_bytes(content)
    result = checksum.compute(src, tmp_path, {"algorithms": algorithms}, progress)
    assert result == {
        "size": len(content),
        "digests": {name: hashlib.new(name, content).hexdigest() for name in algorithms},
    }


def test_default_algorithm_is_sha256(tmp_path, progress):
    """Use SHA-256 when no algorithm is asked for."""
    src = tmp_path / "input"
    src.write_bytes(b"abc")
    options = registry.get("checksum").validate({})
    result = checksum.compute(src, tmp_path, options, progress)
    assert result["digests"] == {"sha256": hashlib.sha256(b"abc").hexdigest()}


def test_progress_counts_bytes_to_the_end(tmp_path, stores, progress):
    """Report progress in bytes, chunk by chunk, up to the file's size."""
    src = tmp_path / "input"
    src.write_bytes(b"y" * (3 * 1024 * 1024))
    checksum.compute(src, tmp_path, {"algorithms": ["sha256"]}, progress)
    assert [s["current"] for s in stores] == [1024 * 1024, 2 * 1024 * 1024, 3 * 1024 * 1024]
    assert stores[-1]["total"] == 3 * 1024 * 1024


def test_cancel_stops_hashing(tmp_path):
    """Stop hashing when the job is cancelled."""
    src = tmp_path / "input"
    src.write_bytes(b"z" * 1000)
    progress = Progress(store=lambda meta: None, is_cancelled=lambda: True, interval=0)
    with pytest.raises(Cancelled):
        checksum.compute(src, tmp_path, {"algorithms": ["sha256"]}, progress)


@pytest.mark.parametrize(
    "options",
    [
        {"algorithms": ["rot13"]},
        {"algorithms": []},
        {"algorithms": ["sha256", "sha256"]},
        {"algorithms": "sha256"},
        {"algorithms": ["shake_128"]},
        {"speed": "fast"},
    ],
)
def test_bad_algorithms_are_refused(options):
    """Refuse unknown, empty, repeated or mistyped algorithm options."""
    with pytest.raises(OptionsError):
        registry.get("checksum").validate(options)
