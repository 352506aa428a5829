"""Hostile files and hand-made requests, shared by the hostile-input tests."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

import requests
from PIL import Image

from tests.parts import User

CSV = b"name,count\nada,1\nbob,2\n"
# Hostile file names, sent byte for byte in a hand-made body, and how each is shown.
NAMES = {
    "traversal": ("../../etc/passwd", "passwd"),
    "windows traversal": ("..\\..\\boot.ini", "boot.ini"),
    "absolute": ("/etc/shadow", "shadow"),
    "control characters": ("bad\tname\x1b[31m\x7f.txt", "badname[31m.txt"),
    # All but CR and LF, which would end the part's header (see NAMES_ESCAPED).
    "every C0 and C1 control": (
        "".join(chr(n) for n in [*range(1, 32), *range(0x7F, 0xA0)] if n not in (10, 13)) + "c.csv",
        "c.csv",
    ),
    "bidi controls": ("a\u200e\u200f\u061c\u2066\u2067\u2068\u2069\u202ab.csv", "ab.csv"),
    "unicode": ("Résumé – 履歴書 📄.csv", "Résumé – 履歴書 📄.csv"),
    "right-to-left override": ("invoice\u202etxt.exe", "invoicetxt.exe"),
    "only dots": ("....", "upload"),
    "very long": ("a" * 5000 + ".csv", "a" * 196 + ".csv"),
}
# Names with what a browser or a client library escapes in a multipart body (CR, LF and the
# double quote, as %0D, %0A and %22), and how each is shown.
NAMES_ESCAPED = {
    "line breaks and a terminal colour": ("a\x00b\x1b[31mred\r\n.csv", "ab[31mred.csv"),
    "header injection": ("x.csv\r\nSet-Cookie: a=b", "x.csvSet-Cookie: a=b"),
    "quotes": ('say "hi".csv', 'say "hi".csv'),
}


def png(size=(8, 8)) -> bytes:
    """Return a small PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """Return a PNG whose header claims a huge size over a few bytes of data (an image bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def zipped(entries: dict[str, bytes]) -> bytes:
    """Return a deflated zip of the given entries."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    """Return a multipart body by hand: (field, filename or None, content) per part."""
    out = b""
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"' + (
            f'; filename="{filename}"' if filename else ""
        )
        out += (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode()


def raw(body: bytes, content_type: str, **headers) -> Callable:
    """Return a sender of a body built by hand."""

    def send(user: User) -> requests.Response:
        return user.http.post(
            user.url + "/api/jobs", data=body, headers={"Content-Type": content_type} | headers
        )

    return send
