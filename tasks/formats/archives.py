"""Reading an untrusted zip archive entry by entry: bounded directory, sizes and names, no nesting.

Everything is checked before it costs much: the entry count and directory size from the end
record before ``zipfile`` loads the directory, declared sizes and names before any entry is
read, and real bytes while unpacking (a zip may lie about its sizes).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from pathlib import PurePosixPath
from typing import BinaryIO

from tasks.formats import FormatError
from tasks.formats import binary
from tasks.formats.amounts import size_text

MAX_ENTRIES = 1000
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024
MAX_ENTRY_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
NAME_SHOWN = 200
ARCHIVE_SUFFIXES = {".zip", ".jar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar"}
ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"7z\xbc\xaf",
    b"Rar!",
    b"\x28\xb5\x2f\xfd",
)


def unsafe_name(name: str) -> bool:
    """Tell whether a zip entry's name could point outside the folder it is unpacked in."""
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(part == ".." for part in parts)
    )


def check_entries(src: Path) -> None:
    """Refuse an archive whose directory is too large, before ``zipfile`` reads it."""
    try:
        entries, directory = zip_directory(src)
    except ValueError:
        raise FormatError("The file is not a readable zip archive.") from None
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY_BYTES:
        raise FormatError(f"The zip has too many entries; at most {MAX_ENTRIES:,} are allowed.")


def check_infos(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive with too many entries, unsafe paths, nested archives or too much data."""
    if len(infos) > MAX_ENTRIES:
        raise FormatError(f"The zip has too many entries; at most {MAX_ENTRIES:,} are allowed.")
    total = 0
    for info in infos:
        name = info.filename[:NAME_SHOWN]
        if unsafe_name(info.filename):
            raise FormatError(f"Zip entry {name!r} has an unsafe path.")
        if PurePosixPath(info.filename.lower()).suffix in ARCHIVE_SUFFIXES:
            raise FormatError(f"Zip entry {name!r} is an archive; nested archives are refused.")
        if info.file_size > MAX_ENTRY_BYTES:
            raise FormatError(
                f"Zip entry {name!r} unpacks to more than {size_text(MAX_ENTRY_BYTES)}."
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise FormatError(f"The zip unpacks to more than {size_text(MAX_TOTAL_BYTES)}.")


def open_zip(src: Path) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a checked archive; return it with its file entries (folders left out)."""
    check_entries(src)
    try:
        archive = zipfile.ZipFile(src)
    except OSError as exc:
        if binary.is_transient(exc):
            raise  # the registry retries the job with backoff
        raise FormatError(f"The file is not a readable zip archive: {exc}") from None
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FormatError(f"The file is not a readable zip archive: {exc}") from None
    infos = [info for info in archive.infolist() if not info.is_dir()]
    try:
        check_infos(infos)
    except FormatError:
        archive.close()
        raise
    return archive, infos


def unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, spool: BinaryIO, budget: int) -> int:
    """Copy one entry into ``spool``, counting real bytes against its declared size; return them.

    The spool is left at its start. An entry that is itself an archive is refused.
    """
    name = info.filename[:NAME_SHOWN]
    count = 0
    try:
        with archive.open(info) as entry:
            for chunk in binary.read_chunks(entry):
                count += len(chunk)
                # zipfile stops at the declared size, but we do not bet the worker on that.
                if count > info.file_size or count > budget:
                    raise FormatError(
                        f"Zip entry {name!r} unpacks to more than it declares or we allow."
                    )
                spool.write(chunk)
    except OSError as exc:
        if binary.is_transient(exc):
            raise  # the registry retries the job with backoff
        raise FormatError(f"Zip entry {name!r} is damaged: {exc}") from None
    except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise FormatError(f"Zip entry {name!r} is damaged: {exc}") from None
    spool.seek(0)
    head = spool.read(16)
    spool.seek(0)
    if head.startswith(ARCHIVE_MAGIC):
        raise FormatError(f"Zip entry {name!r} is an archive; nested archives are refused.")
    return count


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
