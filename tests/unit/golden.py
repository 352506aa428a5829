"""The input of the sameness checks and how a result is written down to compare (no test here)."""

from __future__ import annotations

import random
from datetime import datetime

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
