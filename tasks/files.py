"""Where a job's files live, chunked reading and content sniffing, shared by every processor."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tasks import settings

CHUNK = 1024 * 1024
SNIFF_BYTES = 8192
# The folder of UPLOAD_DIR where uploads are received, before they are claimed by a job.
INCOMING = ".incoming"


def job_dir(job_id: str, root: Path | None = None) -> Path:
    """Return the folder that holds one job's upload and outputs."""
    return (root or settings.UPLOAD_DIR) / job_id


def input_path(job_id: str, root: Path | None = None) -> Path:
    """Return where a job's uploaded file is kept (never under the client's name)."""
    return job_dir(job_id, root) / "input"


def output_dir(job_id: str, root: Path | None = None) -> Path:
    """Return the folder a job writes its output files into."""
    return job_dir(job_id, root) / "output"


def clear_outputs(job_id: str, root: Path | None = None) -> None:
    """Remove whatever a job wrote, finished or partial."""
    shutil.rmtree(output_dir(job_id, root), ignore_errors=True)


def read_chunks(stream: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """Yield a binary stream's content in chunks of at most ``size`` bytes."""
    while chunk := stream.read(size):
        yield chunk


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """Return the first bytes of a file, for sniffing its type."""
    with open(path, "rb") as f:
        return f.read(size)


def looks_like_text(head: bytes) -> bool:
    """Tell whether bytes look like text: no NUL, and UTF-8 or Latin-1 without control noise."""
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start < len(head) - 3:
            text = head.decode("latin-1")
        else:
            text = head[: exc.start].decode("utf-8")
    noise = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
    return noise <= len(text) // 100


IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
}


def image_kind(head: bytes) -> str | None:
    """Return 'png', 'jpeg' or 'webp' when the bytes start like one, else None."""
    for magic, kind in IMAGE_SIGNATURES.items():
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def is_zip(head: bytes) -> bool:
    """Tell whether bytes start like a zip archive."""
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def remove_job(job_id: str, root: Path | None = None) -> None:
    """Remove a job's folder: its upload and its outputs."""
    shutil.rmtree(job_dir(job_id, root), ignore_errors=True)


def count_lines(stream: BinaryIO, on_chunk: Callable[[int], None] | None = None) -> int:
    """Count a binary stream's lines (a last line without a newline counts too)."""
    lines, last = 0, b"\n"
    for chunk in read_chunks(stream):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
        if on_chunk is not None:
            on_chunk(len(chunk))
    return lines + (last != b"\n")


def zip_directory(path: Path) -> tuple[int, int]:
    """Return the entry count and central-directory size a zip's end record declares.

    Read before ``zipfile`` builds its index, so a hostile directory is refused without
    being loaded. Raise ValueError when there is no end record.
    """
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        # The end record (22 bytes) is followed by a comment of at most 65,535 bytes.
        f.seek(max(0, size - 22 - 65535))
        tail = f.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            raise ValueError("no zip end record")
        entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
        locator = tail[at - 20 : at] if at >= 20 else b""
        if (entries == 0xFFFF or directory == 0xFFFFFFFF) and locator[:4] == b"PK\x06\x07":
            (offset,) = struct.unpack("<Q", locator[8:16])
            f.seek(offset)
            record = f.read(56)
            if record[:4] != b"PK\x06\x06" or len(record) < 56:
                raise ValueError("bad zip64 end record")
            entries, directory = struct.unpack("<QQ", record[32:48])
    return entries, directory
