"""What a CSV cell's text means: null, integer, float, boolean, date or text, with its value.

Shared by the CSV processors and by header detection; everything here is pure and works on one
cell, or on a batch of distinct cells at C speed where the common cases allow.
"""

from __future__ import annotations

import math
import re
from datetime import date
from datetime import datetime
from typing import Any

NULL, INTEGER, FLOAT, BOOLEAN, DATE, TEXT = "null", "integer", "float", "boolean", "date", "text"
NULL_TOKENS = frozenset({"", "null", "none", "na", "n/a"})
BOOLEANS = {"true": True, "false": False}
NUMERIC_START = frozenset("0123456789+-.")
# No leading zeros (those are codes: "007", zip codes) and at most 18 digits, so every
# integer fits 64 bits; longer digit strings are identifiers and stay text.
INTEGER_RE = re.compile(r"[+-]?(?:0|[1-9][0-9]{0,17})")
FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][+-]?[0-9]+)?")

# Whole batches of distinct values joined by newlines, matched in one C call: the common cases
# (a column of integers, of decimals, of plain words) then skip the cell-by-cell parse. A value
# holding a newline can only fail these matches (or the int/float call after), never pass wrongly.
INTEGERS_RE = re.compile(rf"{INTEGER_RE.pattern}(?:\n{INTEGER_RE.pattern})*")
FLOATS_RE = re.compile(rf"{FLOAT_RE.pattern}(?:\n{FLOAT_RE.pattern})*")
NOT_PLAIN_TEXT_RE = re.compile(
    r"(?:^|\n)\s*(?:[0-9+\-.]|(?:null|none|na|n/a|true|false)\s*(?:\n|$)|\n|$)", re.IGNORECASE
)


def parse(raw: str) -> tuple[str, Any]:
    """Return a cell's kind (null, integer, float, boolean, date, text) and its typed value."""
    s = raw.strip()
    if not s:
        return NULL, None
    if s[0] in NUMERIC_START:
        if len(s) >= 10 and s[4] == "-" and s[7] == "-":
            return parse_date(s, raw)
        if INTEGER_RE.fullmatch(s):
            return INTEGER, int(s)
        if FLOAT_RE.fullmatch(s):
            value = float(s)
            # 1e999 overflows to inf, which JSON and Excel cannot hold.
            if value not in (float("inf"), float("-inf")):
                return FLOAT, value
        return TEXT, raw
    low = s.lower()
    if low in NULL_TOKENS:
        return NULL, None
    if low in BOOLEANS:
        return BOOLEAN, BOOLEANS[low]
    return TEXT, raw


def parse_batch(values: list[str]) -> tuple[str, list[Any]] | None:
    """Return the one kind of every value and their typed values, when it is quick to tell."""
    joined = "\n".join(values)
    try:
        if INTEGERS_RE.fullmatch(joined):
            return INTEGER, list(map(int, values))
        if FLOATS_RE.fullmatch(joined):
            floats = list(map(float, values))
            if math.isfinite(max(floats)) and math.isfinite(min(floats)):
                return FLOAT, floats
            return None
    except ValueError:
        return None
    if NOT_PLAIN_TEXT_RE.search(joined) is None:
        return TEXT, values
    return None


def parse_date(s: str, raw: str) -> tuple[str, Any]:
    """Return an ISO 8601 date or naive date-time as kind 'date', anything else as text."""
    try:
        if len(s) == 10:
            return DATE, date.fromisoformat(s)
        value = datetime.fromisoformat(s)
    except ValueError:
        return TEXT, raw
    # Excel has no time zones; an aware time stays text rather than silently shifting.
    return (TEXT, raw) if value.tzinfo is not None else (DATE, value)
