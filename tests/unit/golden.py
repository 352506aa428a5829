"""The input of the sameness checks and how a result is written down to compare (no test here)."""

from __future__ import annotations

import decimal
import math
import random
from datetime import datetime
from fractions import Fraction

import openpyxl


def same_input() -> bytes:
    """Return a CSV of every kind of cell the processors handled right before: 500 rows."""
    rng = random.Random(7)
    words = ["Paris", "Rome", "=SUM(A1)", "+x", "#N/A", "007", "null", "TRUE", "a b", " pad "]
    lines = ["id,name,amount,flag,day,stamp,code,big\n"]
    for i in range(1, 501):
        amount = f"{rng.uniform(-1e4, 1e4):.{rng.randrange(0, 4)}f}" if rng.random() > 0.1 else ""
        day = f"{rng.randrange(1950, 2030)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        stamp = f"{day}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00"
        big = str(rng.randrange(10**17, 10**18)) if rng.random() > 0.5 else str(rng.randrange(99))
        lines.append(
            f"{i},{rng.choice(words)},{amount},{rng.choice(['true', 'false', ''])},{day},"
            f'{stamp},"{rng.choice(words)}, {i}",{big}\n'
        )
    return "".join(lines).encode()


def cells(path) -> list[list]:
    """Return a workbook's cells, sheet by sheet, as (value, type, quote prefix) in JSON terms."""
    book = openpyxl.load_workbook(path)
    return [
        [
            [
                [
                    c.value.isoformat() if isinstance(c.value, datetime) else c.value,
                    c.data_type,
                    bool(c.quotePrefix),
                ]
                for c in row
            ]
            for row in sheet.iter_rows()
        ]
        for sheet in book.worksheets
    ]


def rounded_moments(values: list, counts: list[int] | None = None) -> tuple:
    """Return the mean and sample standard deviation of numbers (each ``counts`` times),
    computed exactly with fractions and each rounded once to the nearest double (None when
    there are too few numbers)."""
    counts = counts or [1] * len(values)
    n = sum(counts)
    if not n:
        return None, None
    total = sum(Fraction(v) * c for v, c in zip(values, counts, strict=True))
    squares = sum(Fraction(v) ** 2 * c for v, c in zip(values, counts, strict=True))
    mean = total / n
    if n < 2:
        return float(mean), None  # a Fraction's float is rounded once (int by int division)
    return float(mean), rounded_sqrt((n * squares - total * total) / (n * (n - 1)))


def rounded_sqrt(x: Fraction) -> float:
    """Return the square root of a non-negative fraction rounded once to the nearest double:
    the double whose half-way points to its neighbours bound the root."""
    if x == 0:
        return 0.0
    context = decimal.Context(prec=200, Emax=10**6, Emin=-(10**6))
    near = float(context.sqrt(context.divide(x.numerator, x.denominator)))
    for candidate in (near, math.nextafter(near, 0), math.nextafter(near, math.inf)):
        below = (Fraction(candidate) + Fraction(math.nextafter(candidate, 0))) / 2
        above = (Fraction(candidate) + Fraction(math.nextafter(candidate, math.inf))) / 2
        if below**2 <= x <= above**2:
            return candidate
    raise AssertionError(f"no double rounds the root of {x}")
