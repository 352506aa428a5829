"""Reading untrusted zip archives: real bytes counted, damage and transient errors told apart."""

from __future__ import annotations

import errno
import io
import zipfile

import pytest

from tasks.formats import FormatError
from tasks.formats import archives


@pytest.fixture
def archive(tmp_path) -> zipfile.ZipFile:
    """Open a zip holding one small entry, ``a.png``."""
    src = tmp_path / "input"
    with zipfile.ZipFile(src, "w") as out:
        out.writestr("a.png", b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    with zipfile.ZipFile(src) as opened:
        yield opened


def test_entry_is_copied_and_counted(archive):
    """Copy an entry into the spool, left at its start, and return its size."""
    spool = io.BytesIO()
    assert archives.unpack(archive, archive.getinfo("a.png"), spool, budget=10_000) == 108
    assert spool.read(4) == b"\x89PNG"


def test_entry_that_unpacks_to_more_than_it_declares_is_refused(tmp_path):
    """Refuse an entry whose data is larger than its declared size."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("big.png", b"\x00" * 100_000)
    lying = bytearray(data.getvalue())
    local, central = lying.index(b"PK\x03\x04"), lying.index(b"PK\x01\x02")
    lying[local + 22 : local + 26] = lying[central + 24 : central + 28] = (100).to_bytes(
        4, "little"
    )
    src = tmp_path / "lying.zip"
    src.write_bytes(lying)
    archive, (info,) = archives.open_zip(src)
    with archive, pytest.raises(FormatError, match="'big.png'"):
        archives.unpack(archive, info, io.BytesIO(), budget=archives.MAX_TOTAL_BYTES)


def test_actual_bytes_are_counted_against_the_budget(archive):
    """Count the bytes really unpacked against the budget."""
    with pytest.raises(FormatError, match="more than it declares"):
        archives.unpack(archive, archive.getinfo("a.png"), io.BytesIO(), budget=10)


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (OSError(errno.EIO, "Input/output error"), OSError),
        (OSError(errno.ESTALE, "Stale file handle"), OSError),
        (OSError("bad data"), FormatError),
        (zipfile.BadZipFile("Bad CRC-32"), FormatError),
    ],
)
def test_transient_errors_pass_through_and_damage_fails(archive, monkeypatch, error, raised):
    """Let transient I/O errors through for a retry; call anything else a damaged entry."""

    def fail(*args, **kwargs):
        """Raise the error, as a failing read would."""
        raise error

    monkeypatch.setattr(archive, "open", fail)
    with pytest.raises(raised) as caught:
        archives.unpack(archive, archive.getinfo("a.png"), io.BytesIO(), budget=10_000)
    if raised is FormatError:
        assert "'a.png' is damaged" in str(caught.value)
    else:
        assert caught.value is error


def test_transient_error_opening_the_archive_passes_through(tmp_path, monkeypatch):
    """Let a transient error opening the archive through, for a retry."""
    src = tmp_path / "input"
    with zipfile.ZipFile(src, "w") as out:
        out.writestr("a.png", b"x")

    def fail(*args, **kwargs):
        """Raise a transient I/O error."""
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(archives.zipfile, "ZipFile", fail)
    with pytest.raises(OSError, match="Input/output"):
        archives.open_zip(src)


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        ("a.png", False),
        ("photos/a..b.png", False),
        ("../a.png", True),
        ("/etc/a.png", True),
        ("C:\\a.png", True),
        ("a\\..\\..\\b.png", True),
        ("a\x00.png", True),
    ],
)
def test_unsafe_names(name, unsafe):
    """Tell entry names that could leave the unpack folder."""
    assert archives.unsafe_name(name) is unsafe
