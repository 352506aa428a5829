"""Cell types of CSV text: each kind, and the batch parse agreeing with the cell parse."""

from __future__ import annotations

import random
import re
from datetime import date

import pyarrow as pa
import pytest

from tasks.formats import arrowtypes
from tasks.formats import csvtypes


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("42", "integer"),
        ("-7", "integer"),
        ("007", "text"),
        ("1234567890123456789", "text"),
        ("3.14", "float"),
        ("1e5", "float"),
        ("1e999", "text"),
        ("nan", "text"),
        ("True", "boolean"),
        ("2024-02-30", "text"),
        ("2024-02-29", "date"),
        ("2024-02-29 10:00", "date"),
        ("2024-02-29T10:00:00+02:00", "text"),
        ("N/A", "null"),
        ("  ", "null"),
    ],
)
def test_cell_kinds(value, kind):
    """Tell each cell's kind from its text."""
    assert csvtypes.parse(value)[0] == kind


@pytest.mark.parametrize(
    "values",
    [
        ["1", "-2", "30"],
        ["1.5", "2e3", ".5"],
        ["alpha", "Beta", "ünïcode"],
        ["1", "2.5"],
        ["1\n2", "3"],
        [" 5", "6"],
        ["1_000", "2"],
        ["１２", "3"],
        ["1e999", "1.0"],
        ["word", "NULL"],
        ["word", " "],
        ["word", "true"],
        ["word", "2024-01-01"],
        ["word", "line\n42"],
        ["007", "8"],
        ["0", "-0", "+0", "12"],
        ["00", "1"],
        ["+5", "-6", "7"],
        ["999999999999999999", "-999999999999999999"],
        ["1000000000000000000", "1"],
        ["1.5", "-.5", "+5.", "0.0"],
        ["1.5", "2"],
        ["1.5", "1.5.1"],
        ["1.5", "1e5", "2E-3"],
        ["1.5", "inf"],
        ["1" * 400 + ".5", "1.0"],
        ["1_000.5", "2.5"],
        ["1.5 ", "2.5"],
        ["1.5\x1c", "2.5"],
        ["2024-01-01", "2023-12-31"],
        ["2024-01-01", "2024-02-30"],
        ["2024-01-01", "2024-01-01 10:00"],
        ["Paris", "Nancy", "Turku", "Fargo"],
        ["Paris", "None"],
        ["Paris", "  "],
        ["Paris", "3 rue Anatole"],
    ],
)
def test_batch_parse_agrees_with_cell_parse(values):
    """Type a batch exactly as cell-by-cell parsing would, or not at all."""
    batch = csvtypes.parse_batch(values)
    if batch is not None:
        kind, typed = batch
        assert [csvtypes.parse(v) for v in values] == [(kind, t) for t in typed]


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1", "-2", "30"], "integer"),
        (["1.5", "-2.25", "30.0"], "float"),
        (["2024-01-01", "2023-12-31"], "date"),
        (["Paris", "Nancy", "Turku"], "text"),
    ],
)
def test_batch_parse_decides_the_common_cases(values, kind):
    """Type a batch of integers, decimals, dates or words at once."""
    assert csvtypes.parse_batch(values)[0] == kind


def constructs(parsed) -> set[str]:
    """Return the names of every regular-expression construct in a parsed pattern."""
    names = set()
    for op, arg in parsed:
        names.add(str(op))
        for item in arg if isinstance(arg, (tuple, list)) else (arg,):
            if isinstance(item, re._parser.SubPattern):
                names |= constructs(item)
            elif isinstance(item, (tuple, list)):
                names |= set().union(
                    *(constructs(s) for s in item if isinstance(s, re._parser.SubPattern))
                )
    return names


@pytest.mark.parametrize("name", ["INTEGER_RE", "FLOAT_RE", "INTEGERS_RE", "FLOATS_RE", "DATES_RE"])
def test_patterns_use_no_construct_that_matched_wrongly_before_python_3_11_5(name):
    """Keep possessive quantifiers and atomic groups out: on Python 3.11.0 to 3.11.4 they
    matched wrongly around a repeated alternation, so types would depend on the patch version."""
    found = constructs(re._parser.parse(getattr(csvtypes, name).pattern))
    assert found.isdisjoint({"POSSESSIVE_REPEAT", "ATOMIC_GROUP"}), found


# Cells that sit on the edges of the rules: signs, leading zeros, the 18-digit bound, points,
# exponents, overflow, ISO dates good and bad, null and boolean words, spaces, other scripts.
EDGES = [
    *["0", "-0", "+0", "00", "007", "-07", "+5", "5", "-5", "42", "1_000", "１２", "٣"],
    *["999999999999999999", "-999999999999999999", "1000000000000000000", "12345678901234567890"],
    *["1.", ".5", "+.5", "-.5", "5.e3", "1e5", "1E+05", "2e-3", "1e", "e5", ".", "-", "+"],
    *["1.2.3", "0001.5", "1e999", "-1e999", "nan", "inf", "-Infinity", "1d5", "0x10", "1,5"],
    *["2024-02-29", "2023-02-29", "2024-13-01", "0000-01-01", "0001-01-01", "9999-12-31"],
    *["2024-1-01", "2024-01-01 10:00", "2024-01-01T10:00:00", "2024-01-01T10:00:00+02:00"],
    *["null", "NULL", "None", "n/a", "NA", "true", "False", "TRUE", "t", "f", "n", "no"],
    *["Paris", "paris", "Zürich", "école", "日本", "#N/A", "=SUM(A1)", "@x", "[1]", "~"],
    *[" 5", "5 ", " pad ", "\t7", "\x1c1", "\xa08", "a\x00b", "1.5\u2003", "_x", "`y"],
]


def digits(rng: random.Random) -> str:
    """Return an integer of 1 to 20 digits, perhaps signed."""
    return rng.choice(["", "-", "+", ""]) + str(rng.randrange(10 ** rng.randrange(1, 21)))


def decimal(rng: random.Random) -> str:
    """Return a number with a point or an exponent, written in one of the usual ways."""
    value = rng.uniform(-1, 1) * 10 ** rng.randrange(-8, 14)
    return rng.choice([f"{value:.{rng.randrange(0, 7)}f}", f"{value:e}", f"{value:E}", repr(value)])


def day(rng: random.Random) -> str:
    """Return an ISO date, now and then one with a day its month does not have."""
    text = date.fromordinal(rng.randrange(1, date.max.toordinal())).isoformat()
    return text if rng.random() < 0.95 else text[:8] + rng.choice(["30", "31", "00", "29"])


def junk(rng: random.Random) -> str:
    """Return a short string of the characters the rules look at."""
    return "".join(rng.choice("ab.-+eE0129 nNtTfFü#_") for _ in range(rng.randrange(1, 6)))


# Ways to write a cell; a batch takes its cells from one to three of them.
CELLS = [lambda rng: rng.choice(EDGES), digits, decimal, day, junk, lambda rng: "w" + junk(rng)]


def test_arrow_typing_agrees_with_cell_typing():
    """Type 20,000 random batches of distinct cells by Arrow exactly as parse types each cell,
    or leave the batch to parse: same kind, same integers and floats, same first and last date."""
    rng = random.Random(2026)
    typed = 0
    for _ in range(20_000):
        makers = rng.sample(CELLS, rng.choice([1, 1, 1, 2, 3]))
        cells = {rng.choice(makers)(rng) for _ in range(rng.randrange(1, 12))}
        cells.discard("")
        if not cells:
            continue
        values = list(cells)
        found = arrowtypes.classify(pa.array(values, pa.string()))
        if found is None:
            continue
        typed += 1
        kind, result = found
        parsed = [csvtypes.parse(v) for v in values]
        assert {k for k, _ in parsed} == {kind}, values
        if kind in (csvtypes.INTEGER, csvtypes.FLOAT):
            assert result.tolist() == [v for _, v in parsed], values
            assert {type(v) for v in result.tolist()} == {type(v) for _, v in parsed}
        elif kind == csvtypes.DATE:
            days = [v for _, v in parsed]
            assert result == (min(days).isoformat(), max(days).isoformat())
    assert typed > 5_000  # most batches are typed by Arrow, so the check means something
