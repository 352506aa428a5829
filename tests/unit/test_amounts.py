"""Amounts in messages: sizes in binary units with the exact count of bytes, counts with
nouns that agree."""

from __future__ import annotations

import pytest

from tasks.formats.amounts import counted
from tasks.formats.amounts import size_text


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


@pytest.mark.parametrize(
    ("n", "word", "plural", "said"),
    [
        (1, "row", None, "1 row"),
        (0, "row", None, "0 rows"),
        (2, "row", None, "2 rows"),
        (1234, "row", None, "1,234 rows"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
    ],
)
def test_count_agrees_with_its_noun(n, word, plural, said):
    """One thing is singular, any other number plural."""
    assert counted(n, word, plural) == said
