"""What a CSV cell's text means: null, integer, float, boolean, date or text, with its value.

Shared by the CSV processors and by header detection; everything here is pure and works on one
cell, or on a batch of distinct cells at C speed where the common cases allow.
"""

from __future__ import annotations

import math
import re
from datetime import date
from datetime import datetime
from operator import itemgetter
from typing import Any

NULL, INTEGER, FLOAT, BOOLEAN, DATE, TEXT = "null", "integer", "float", "boolean", "date", "text"
NULL_TOKENS = frozenset({"", "null", "none", "na", "n/a"})
BOOLEANS = {"true": True, "false": False}
NUMERIC_START = frozenset("0123456789+-.")
# No leading zeros (those are codes: "007", zip codes) and at most 18 digits, so every
# integer fits 64 bits; longer digit strings are identifiers and stay text.
# Plain quantifiers only: possessive ones and atomic groups matched wrongly before Python
# 3.11.5 (a repeated group holding an alternation): results would depend on the patch version.
INTEGER_RE = re.compile(r"[+-]?(?:0|[1-9][0-9]{0,17})")
FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][+-]?[0-9]+)?")

# Whole batches of distinct values joined by newlines, matched in one C call: the common cases
# (a column of integers, of decimals, of dates, of plain words) then skip the cell-by-cell parse.
# A value holding a newline can only fail these matches (or the conversion after), never pass.
# A lookahead is matched once, never backtracked into: a failing batch fails fast, as the
# possessive form did; at worst a batch is left to the cell-by-cell parse, never mistyped.
INTEGERS_RE = re.compile(rf"(?=({INTEGER_RE.pattern}(?:\n{INTEGER_RE.pattern})*))\1")
FLOATS_RE = re.compile(rf"(?=({FLOAT_RE.pattern}(?:\n{FLOAT_RE.pattern})*))\1")
# Characters that leave a batch to the patterns: what int() and float() skip, and exponents.
LOOSE = " \t\r\x0b\x0c\x1c\x1d\x1e\x1f_eE"
LARGE = 10**18  # the first integer of 19 digits
DATES_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:\n[0-9]{4}-[0-9]{2}-[0-9]{2})*")


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
        return plain_numbers(values, joined)
    except ValueError:
        pass
    try:
        if INTEGERS_RE.fullmatch(joined):
            return INTEGER, list(map(int, values))
        if FLOATS_RE.fullmatch(joined):
            floats = list(map(float, values))
            if math.isfinite(max(floats)) and math.isfinite(min(floats)):
                return FLOAT, floats
            return None
        if DATES_RE.fullmatch(joined):
            return DATE, list(map(date.fromisoformat, values))
    except ValueError:
        return None
    return (TEXT, values) if plain_text(values) else None


def plain_numbers(values: list[str], joined: str) -> tuple[str, list[Any]]:
    """Type integers or decimals written plainly by C calls; ValueError when the patterns must."""
    # In ASCII without spaces, underscores or exponents, a value a line, int() and float() take
    # just what the patterns do, but for leading zeros, the digits' bound and the point.
    if (
        not joined.isascii()
        or joined.count("\n") != len(values) - 1
        or any(c in joined for c in LOOSE)
    ):
        raise ValueError
    if "." not in joined:
        lines = "\n" + joined
        if "\n0" in lines or "\n-0" in lines or "\n+0" in lines:
            raise ValueError
        ints = list(map(int, values))
        if -LARGE < min(ints) and max(ints) < LARGE:
            return INTEGER, ints
    elif joined.count(".") == len(values):  # a point each, as float() takes one at most
        floats = list(map(float, values))
        if math.inf not in floats and -math.inf not in floats:
            return FLOAT, floats
    raise ValueError


def plain_text(values: list[str]) -> bool:
    """Tell whether every value is text, most of them by their first character alone."""
    try:
        firsts = set(map(itemgetter(0), values))
    except IndexError:  # an empty value is null
        return False
    # Only a value that starts with a space, a number's first character, or a letter that
    # lowercases to one a null or boolean word starts with can be other than text.
    doubtful = {c for c in firsts if c in NUMERIC_START or c.isspace() or c.lower()[0] in "ntf"}
    return not doubtful or all(parse(v)[0] == TEXT for v in values if v[0] in doubtful)


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
