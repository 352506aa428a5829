"""Writing a zip archive as a stream of bytes, entry by entry, never whole in memory or on disk.

The standard library's ``zipfile`` writes to a stream it cannot seek (it then puts each entry's
sizes after its data); :func:`stream` hands out what it has written after every chunk.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from pathlib import PurePosixPath

from tasks.formats import binary


class _Sink:
    """A write-only stream that keeps what is written until it is taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        """Keep ``data``."""
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the bytes wait to be taken."""

    def take(self) -> bytes:
        """Return what was written since the last take."""
        data, self._parts = b"".join(self._parts), []
        return data


def stream(entries: Iterable[tuple[str, Path | bytes]]) -> Iterator[bytes]:
    """Yield a zip archive of ``entries`` (name, and a file's path or the bytes themselves), a
    chunk at a time; names are used as given (see :func:`unique_name`)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        for name, source in entries:
            with archive.open(name, "w", force_zip64=True) as entry:
                if isinstance(source, bytes):
                    entry.write(source)
                else:
                    with open(source, "rb") as f:
                        for chunk in binary.read_chunks(f):
                            entry.write(chunk)
                            if data := sink.take():
                                yield data
            if data := sink.take():
                yield data
    yield sink.take()


# What Windows refuses in a file name (and so its unzip tools): the reserved characters and
# the control characters; names of devices; a trailing dot or space. Microsoft's "Naming Files,
# Paths, and Namespaces".
UNPORTABLE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{kind}{n}" for kind in ("COM", "LPT") for n in range(1, 10)]
)


def portable_name(name: str) -> str:
    """Return ``name`` as a file name every common system can extract: each character Windows
    refuses becomes ``_``, a trailing dot or space goes, a device name (``CON``, ``NUL.txt``)
    gets a ``_`` before it; an empty result is ``_``."""
    cleaned = UNPORTABLE.sub("_", name).rstrip(". ") or "_"
    if cleaned.split(".", 1)[0].upper() in DEVICES:
        cleaned = "_" + cleaned
    return cleaned


def unique_name(name: str, taken: set[str]) -> str:
    """Return ``name`` made portable (:func:`portable_name`), or with `` (2)``, `` (3)``...
    before its extension, so that no two entries share a name (compared without case, as most
    file systems do); remember it."""
    name = portable_name(name)
    path = PurePosixPath(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (name, "")
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    taken.add(candidate.lower())
    return candidate
