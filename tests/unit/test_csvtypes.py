"""Cell types of CSV text: each kind, and the batch parse agreeing with the cell parse."""

from __future__ import annotations

import re

import pytest

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
