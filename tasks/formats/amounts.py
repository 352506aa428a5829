"""Amounts said to a person: one wording for every message that names a number of bytes
(:func:`size_text`) or counts things (:func:`counted`)."""

from __future__ import annotations

UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def size_text(n: int) -> str:
    """Return a size in binary units with its exact count: ``2 GiB (2,147,483,648 bytes)``;
    under 1 KiB, the bytes alone (``512 bytes``, ``1 byte``)."""
    if n < 1024:
        return "1 byte" if n == 1 else f"{n:,} bytes"
    value, unit = float(n), "bytes"
    for unit in UNITS:  # noqa: B007 - the last unit reached is the one said
        value /= 1024
        if round(value, 1) < 1024:
            break
    shown = f"{value:,.1f}".removesuffix(".0")
    return f"{shown} {unit} ({n:,} bytes)"


def counted(n: int, word: str, plural: str | None = None) -> str:
    """Return a count with its noun agreeing: ``1 row``, ``0 rows``, ``1,234 rows``."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"
