"""Sizes in messages: binary units, with the exact count of bytes."""

from __future__ import annotations

import pytest

from tasks.formats.sizes import size_text


@pytest.mark.parametrize(
    ("n", "said"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1,023 bytes"),
        (1024, "1 KiB (1,024 bytes)"),
        (1536, "1.5 KiB (1,536 bytes)"),
        (8192, "8 KiB (8,192 bytes)"),
        (1024 * 1024 - 1, "1 MiB (1,048,575 bytes)"),
        (64 * 1024 * 1024, "64 MiB (67,108,864 bytes)"),
        (2**31, "2 GiB (2,147,483,648 bytes)"),
        (5 * 2**40, "5 TiB (5,497,558,138,880 bytes)"),
    ],
)
def test_size_is_said_in_binary_units_with_its_bytes(n, said):
    """A size reads as a person reads it, the exact count beside it."""
    assert size_text(n) == said
