"""Whether a CSV sample's first row names its columns, and whether its numbers use decimal commas.

Pure functions over parsed sample rows, used by :mod:`.csvformat`.
"""

from __future__ import annotations

import re
from collections import Counter

from tasks.formats import csvtypes

DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")
DECIMAL_POINT = re.compile(r"[+-]?[0-9]*\.[0-9]+")


def detect_header(rows: list[list[str]], decimal: str = ".") -> bool:
    """Guess whether the first row names columns, comparing it with the rows below.

    A first row is a header when some column's first cell differs in kind from the cells below
    it (text over numbers, a year over amounts) and no column's first cell is just another value
    (a number over numbers). Repeated names, empty cells (a pandas index) are allowed. Numbers
    over cells of another kind (``100022`` over ``TRUE``) name their columns when they are all
    different: ids as column names. With no evidence either way, a row of distinct text (some
    cells may be empty) is a header.
    """
    if not rows:
        return False
    first, body = rows[0], rows[1:]
    if decimal == ",":
        first, body = points(first), [points(row) for row in body]
    votes = [
        column_vote(cell, [row[i] for row in body if i < len(row)]) for i, cell in enumerate(first)
    ]
    if "for" in votes and "against" not in votes:
        return True
    if "against" in votes:
        return False
    names = [v for v in first if v.strip()]  # a header may leave a name empty
    if not names or len(set(names)) != len(names):
        return False
    return "number name" in votes or all(csvtypes.parse(v)[0] == csvtypes.TEXT for v in names)


NUMBERS = (csvtypes.INTEGER, csvtypes.FLOAT)


def points(row: list[str]) -> list[str]:
    """Return the row with decimal commas (12,50) written as points (12.50)."""
    return [c.replace(",", ".") if DECIMAL_COMMA.fullmatch(c.strip()) else c for c in row]


def column_vote(cell: str, below: list[str]) -> str | None:
    """Say whether a column's first cell looks like its name ('for'), a value ('against'), a
    number naming a column of another kind ('number name': a name only among distinct names),
    or cannot tell (None)."""
    kinds = Counter(csvtypes.parse(v)[0] for v in below)
    kinds.pop(csvtypes.NULL, None)
    kind = csvtypes.parse(cell)[0]
    if not kinds or kind == csvtypes.NULL:
        return None
    body = kinds.most_common(1)[0][0]
    if sum(kinds[k] for k in NUMBERS) == sum(kinds.values()):
        body = csvtypes.FLOAT if kinds[csvtypes.FLOAT] else csvtypes.INTEGER
    if kind == csvtypes.TEXT:
        return "for" if body != csvtypes.TEXT else None
    if kind == csvtypes.INTEGER and is_year(cell):
        years = all(is_year(v) for v in below if csvtypes.parse(v)[0] != csvtypes.NULL)
        return "against" if years else "for"
    if kind in NUMBERS and body in NUMBERS or kind == body:
        return "against"
    if kind in NUMBERS:
        return "number name"
    return None


def is_year(cell: str) -> bool:
    """Tell whether a cell is a year a column could be named after (1000 to 2999)."""
    s = cell.strip()
    return len(s) == 4 and s.isdigit() and s[0] in "12"


def detect_decimal(rows: list[list[str]], delimiter: str) -> str:
    """Return ',' when numbers are written with a decimal comma (12,50), else '.'."""
    if delimiter == ",":
        return "."
    cells = [c.strip() for row in rows[1:] for c in row]
    commas = sum(1 for c in cells if DECIMAL_COMMA.fullmatch(c))
    dots = sum(1 for c in cells if DECIMAL_POINT.fullmatch(c))
    return "," if commas and not dots else "."
