"""Checksums in parts, without Celery: the tree digest over 1 MiB blocks is the same however
many parts the file is cut into, and is what the scheme says."""

from __future__ import annotations

import hashlib

import pytest

from tasks import registry
from tasks.processors import checksum
from tasks.progress import Progress


def in_parts(path, parts: int, algorithms: list[str]) -> dict:
    """Hash a file in ``parts`` parts in this process and merge them."""
    splitter = registry.get("checksum").split
    size = path.stat().st_size
    context = splitter.prepare(path, {"algorithms": algorithms})
    cuts = splitter.cuts(path, context, [size * i // parts for i in range(1, parts)])
    starts = sorted({0, *(c for c in cuts if 0 < c < size)})
    states = [
        splitter.part(path, start, end, i, context, Progress(is_cancelled=lambda: False))
        for i, (start, end) in enumerate(zip(starts, [*starts[1:], size], strict=True))
    ]
    return splitter.merge(states, context)


@pytest.mark.parametrize("parts", [1, 2, 3, 5])
def test_tree_digest_does_not_depend_on_the_parts(tmp_path, parts):
    """SHA-256 and MD5 of the blocks' digests, for any number of parts."""
    data = bytes(range(256)) * (4 * 4096 + 77)  # about 4.1 MiB: five blocks, the last short
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    block = checksum.TREE_BLOCK
    result = in_parts(path, parts, ["sha256", "md5"])
    assert result["size"] == len(data)
    assert result["tree"]["blocks"] == 5
    for name in ("sha256", "md5"):
        leaves = b"".join(
            hashlib.new(name, data[i : i + block]).digest() for i in range(0, len(data), block)
        )
        assert result["tree"]["digests"][name] == hashlib.new(name, leaves).hexdigest()


def test_checksum_says_it_can_be_split():
    """The registry lists checksum as a processor that can be split."""
    assert registry.get("checksum").describe()["parallel"] is True
