"""Reading a file in chunks, and telling its kind from its first bytes."""

from __future__ import annotations

import errno
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
SNIFF_BYTES = 8192
TRANSIENT_ERRNOS = {errno.EIO, errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT, errno.ESTALE}


# A zip's end-of-central-directory record: at the very start only in a zip of no entries.
EMPTY_ZIP = b"PK\x05\x06"


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
    # Control characters that are white space (vertical tab, form feed, the separators) are
    # text's own: a quoted header may hold them.
    noise = sum(1 for c in text if ord(c) < 32 and not c.isspace())
    # One stray control character in a hundred, and at least one: a small file has one too.
    return noise <= max(1, len(text) // 100)


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
    return head[:4] in (b"PK\x03\x04", EMPTY_ZIP)


def is_empty_zip(head: bytes) -> bool:
    """Tell whether bytes are a zip archive of no entries (its end record comes first)."""
    return head[:4] == EMPTY_ZIP


def count_lines(stream: BinaryIO, on_chunk: Callable[[int], None] | None = None) -> int:
    """Count a binary stream's lines (a last line without a newline counts too)."""
    lines, last = 0, b"\n"
    for chunk in read_chunks(stream):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
        if on_chunk is not None:
            on_chunk(len(chunk))
    return lines + (last != b"\n")


def is_transient(exc: OSError) -> bool:
    """Tell whether an I/O error may go away when tried again."""
    return isinstance(exc, TimeoutError | ConnectionError) or exc.errno in TRANSIENT_ERRNOS
