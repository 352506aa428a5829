"""Reading an untrusted zip archive entry by entry: bounded directory, sizes and names, no nesting.

Everything is checked before it costs much: the entry count and directory size from the end
record before ``zipfile`` loads the directory, declared sizes and names before any entry is
read, and real bytes while unpacking (a zip may lie about its sizes).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from pathlib import PurePosixPath
from typing import BinaryIO

from tasks import files
from tasks import registry
from tasks.registry import ProcessorError

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
        entries, directory = files.zip_directory(src)
    except ValueError:
        raise ProcessorError("The file is not a readable zip archive.") from None
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY_BYTES:
        raise ProcessorError(f"The zip has too many entries; at most {MAX_ENTRIES:,} are allowed.")


def check_infos(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive with too many entries, unsafe paths, nested archives or too much data."""
    if len(infos) > MAX_ENTRIES:
        raise ProcessorError(f"The zip has too many entries; at most {MAX_ENTRIES:,} are allowed.")
    total = 0
    for info in infos:
        name = info.filename[:NAME_SHOWN]
        if unsafe_name(info.filename):
            raise ProcessorError(f"Zip entry {name!r} has an unsafe path.")
        if PurePosixPath(info.filename.lower()).suffix in ARCHIVE_SUFFIXES:
            raise ProcessorError(f"Zip entry {name!r} is an archive; nested archives are refused.")
        if info.file_size > MAX_ENTRY_BYTES:
            raise ProcessorError(
                f"Zip entry {name!r} unpacks to more than {MAX_ENTRY_BYTES:,} bytes."
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise ProcessorError(f"The zip unpacks to more than {MAX_TOTAL_BYTES:,} bytes.")


def open_zip(src: Path) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a checked archive; return it with its file entries (folders left out)."""
    check_entries(src)
    try:
        archive = zipfile.ZipFile(src)
    except OSError as exc:
        if registry.is_transient(exc):
            raise  # the registry retries the job with backoff
        raise ProcessorError(f"The file is not a readable zip archive: {exc}") from None
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ProcessorError(f"The file is not a readable zip archive: {exc}") from None
    infos = [info for info in archive.infolist() if not info.is_dir()]
    try:
        check_infos(infos)
    except ProcessorError:
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
            for chunk in files.read_chunks(entry):
                count += len(chunk)
                # zipfile stops at the declared size, but we do not bet the worker on that.
                if count > info.file_size or count > budget:
                    raise ProcessorError(
                        f"Zip entry {name!r} unpacks to more than it declares or we allow."
                    )
                spool.write(chunk)
    except OSError as exc:
        if registry.is_transient(exc):
            raise  # the registry retries the job with backoff
        raise ProcessorError(f"Zip entry {name!r} is damaged: {exc}") from None
    except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise ProcessorError(f"Zip entry {name!r} is damaged: {exc}") from None
    spool.seek(0)
    head = spool.read(16)
    spool.seek(0)
    if head.startswith(ARCHIVE_MAGIC):
        raise ProcessorError(f"Zip entry {name!r} is an archive; nested archives are refused.")
    return count
