"""Profile a CSV/TSV file in one streamed pass: per-column types, nulls, distincts, stats, tops.

Memory stays flat whatever the file's size: every column counts its values exactly up to a
bound, then in fixed-size sketches (:mod:`tasks.formats.sketches`), and keeps running moments
(Welford, merged batch by batch as Chan et al. do) for its mean and deviation. Rows come in
blocks split in C (:meth:`tasks.formats.csvio.Rows.blocks`) and each column's cells are counted
block by block in C (``Counter``); batch by batch, each distinct value is then typed once,
and the numbers summed, by C calls over whole lists (``map``, ``math.fsum``), not value by
value in Python.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from datetime import datetime
from itertools import chain
from itertools import repeat
from operator import mul
from operator import sub
from pathlib import Path
from typing import Any

from tasks import registry
from tasks import split
from tasks.formats import csvformat
from tasks.formats import csvheader
from tasks.formats import csvio
from tasks.formats import csvtypes
from tasks.formats import sketches
from tasks.progress import Progress

MAX_COLUMNS = 512
# The exact value tables of all columns together take at most this much; each column gets its
# share, and a column past its share (or past sketches.EXACT_VALUES values) is sketched instead.
EXACT_BYTES = 64 * 1024 * 1024
MALFORMED_LINES_SHOWN = 10
BATCH_ROWS = 2048
BATCH_BYTES = 8 * 1024 * 1024  # a batch of long lines ends with its block, to bound memory
KINDS = (
    csvtypes.NULL,
    csvtypes.INTEGER,
    csvtypes.FLOAT,
    csvtypes.BOOLEAN,
    csvtypes.DATE,
    csvtypes.TEXT,
)


class Column:
    """Running statistics of one column."""

    def __init__(self, name: str, budget: int = EXACT_BYTES, decimal: str = ".") -> None:
        self.name = name
        # Decimal commas (12,50) are typed as the numbers they are; the values keep their text.
        self.typed = csvheader.points if decimal == "," else list
        self.kinds = dict.fromkeys(KINDS, 0)
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.low: Any = None
        self.high: Any = None
        # (moment, ISO text) of the earliest and the latest.
        self.dates: list[tuple[datetime, str]] = []
        self.values = sketches.ValueCounts(budget)

    def add(self, counts: Counter, size: int) -> None:
        """Take a batch of ``size`` cells of the column, counted by value."""
        # The usual null, the empty cell, is counted out first: it would make the batch mixed.
        nulls = counts.pop("", 0)
        self.kinds[csvtypes.NULL] += nulls
        if not counts:
            return
        same = csvtypes.parse_batch(self.typed(counts))
        if same is None:
            self.add_mixed(counts)
            self.values.add(counts)
            return
        kind, values = same
        self.kinds[kind] += size - nulls
        if kind == csvtypes.DATE:
            self.add_dates([min(values), max(values)])
        elif kind != csvtypes.TEXT:
            self.add_numbers(values, list(counts.values()))
        # Integers and dates are short: no value of theirs is cut for showing.
        self.values.add(counts, short=kind in (csvtypes.INTEGER, csvtypes.DATE))

    def add_mixed(self, counts: Counter) -> None:
        """Take a batch's value counts one distinct value at a time; drop its nulls from them."""
        numbers: list[float] = []
        times: list[int] = []
        dates = []
        nulls = []
        for raw, typed, count in zip(counts, self.typed(counts), counts.values(), strict=True):
            kind, value = csvtypes.parse(typed)
            self.kinds[kind] += count
            if kind == csvtypes.INTEGER or kind == csvtypes.FLOAT:
                numbers.append(value)
                times.append(count)
            elif kind == csvtypes.NULL:
                nulls.append(raw)
            elif kind == csvtypes.DATE:
                dates.append(value)
        for raw in nulls:
            del counts[raw]
        if numbers:
            self.add_numbers(numbers, times)
        if dates:
            self.add_dates(dates)

    def add_dates(self, dates: list[date]) -> None:
        """Keep the earliest and the latest of the dates seen and these."""
        # A date sorts as its midnight, and the ISO text breaks the tie of 2024-01-01 with
        # 2024-01-01T00:00:00, the date first.
        dated = [
            (d if isinstance(d, datetime) else datetime(d.year, d.month, d.day), d.isoformat())
            for d in dates
        ]
        dated += self.dates
        self.dates = [min(dated), max(dated)]

    def add_numbers(self, values: list[float], counts: list[int]) -> None:
        """Merge a batch's numbers (distinct values, how often each) into the moments and bounds."""
        n = sum(counts)
        # Squares by pow(), as ** takes them: x * x is rounded otherwise now and then.
        if n == len(values):  # each value once: count * x is x, as fsum sees it
            mean = math.fsum(values) / n
            m2 = math.fsum(map(pow, map(sub, values, repeat(mean)), repeat(2.0)))
        else:
            mean = math.fsum(map(mul, values, counts)) / n
            squares = map(pow, map(sub, values, repeat(mean)), repeat(2.0))
            m2 = math.fsum(map(mul, counts, squares))
        # Chan et al.'s pairwise update: Welford's recurrence for a batch instead of one value.
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        low, high = min(values), max(values)
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def type(self) -> str:
        """Return the column's inferred type: the narrowest one every non-null value fits."""
        seen = {kind for kind, count in self.kinds.items() if count and kind != csvtypes.NULL}
        if not seen:
            return "empty"
        if seen <= {csvtypes.INTEGER, csvtypes.FLOAT}:
            return csvtypes.INTEGER if seen == {csvtypes.INTEGER} else csvtypes.FLOAT
        return seen.pop() if len(seen) == 1 else csvtypes.TEXT

    def summary(self) -> dict:
        """Return the column's profile."""
        kind = self.type()
        distinct, exact = self.values.count()
        top, top_exact = self.values.top()
        low = high = mean = stddev = None
        if kind in (csvtypes.INTEGER, csvtypes.FLOAT):
            low, high, mean = self.low, self.high, self.mean
            stddev = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None
            if kind == csvtypes.FLOAT:
                low, high = float(low), float(high)
        elif kind == csvtypes.DATE:
            low, high = (text for _, text in self.dates)
        return {
            "name": self.name,
            "type": kind,
            "kinds": {k: c for k, c in self.kinds.items() if c and k != csvtypes.NULL},
            "nulls": self.kinds[csvtypes.NULL],
            "distinct": distinct,
            "distinct_exact": exact,
            "min": low,
            "max": high,
            "mean": mean,
            "stddev": stddev,
            "top": top,
            "top_exact": top_exact,
        }


def take_all(
    columns: list[Column], records: csvio.Rows, width: int, first: list, progress: Progress
) -> tuple[Batch, int, list[int]]:
    """Feed ``first`` (a header-less file's first row) and every block of ``records`` to one
    :class:`Batch` of ``columns``; return it with the number of malformed rows and the line
    numbers of the first :data:`MALFORMED_LINES_SHOWN` of them. The whole file and a split
    job's parts read their rows through this one loop."""
    malformed, malformed_lines = 0, []
    batch = Batch(columns, records, progress)
    for block in chain(first, records.blocks(width)):
        malformed += len(block.malformed)
        malformed_lines += block.malformed[: MALFORMED_LINES_SHOWN - len(malformed_lines)]
        batch.take(block)
    batch.flush()
    return batch, malformed, malformed_lines


def profile(src: Path, fmt: csvformat.Format, progress: Progress) -> dict:
    """Profile the file read in the given format."""
    progress.total = src.stat().st_size
    progress.update(0, message="reading")
    columns: list[Column] = []
    rows = malformed = 0
    malformed_lines: list[int] = []
    with csvio.Rows(src, fmt, MAX_COLUMNS) as records:
        head = records.head()
        if head is not None:
            width = len(head[1])
            names = head[1] if fmt.header else [f"column_{i}" for i in range(1, width + 1)]
            budget = EXACT_BYTES // width
            columns = [Column(name, budget, fmt.decimal) for name in distinct_names(names)]
            first = [] if fmt.header else [csvio.Block(head[1], width, 1, [])]
            batch, malformed, malformed_lines = take_all(columns, records, width, first, progress)
            rows = batch.rows
    progress.update(progress.total, message=f"{rows:,} rows")
    progress.log(f"read {rows:,} rows")
    if malformed:
        first = f" (first at line {malformed_lines[0]:,})" if malformed_lines else ""
        progress.log(f"{malformed:,} malformed rows skipped{first}", "warning")
    return csvformat.describe(fmt) | {
        "bytes": progress.total,
        "rows": rows,
        "columns": [column.summary() for column in columns],
        "malformed": {"count": malformed, "lines": malformed_lines},
    }


def distinct_names(names: list[str]) -> list[str]:
    """Return the header's names stripped, a repeated one numbered: amount, amount_2."""
    seen: set[str] = set()
    distinct = []
    for name in (n.strip() for n in names):
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        distinct.append(candidate)
    return distinct


class Batch:
    """Rows gathered for the columns: handed over every ``BATCH_ROWS`` rows, or sooner if long."""

    def __init__(self, columns: list[Column], records: csvio.Rows, progress: Progress) -> None:
        self.columns, self.records, self.progress = columns, records, progress
        # Each column's cells are counted block by block: they are then in the CPU's cache,
        # and only one of each value is kept until the batch is handed over.
        self.counts = [Counter() for _ in columns]
        self.size = self.rows = self.start = 0  # rows now, rows so far, bytes read at the start

    def take(self, block: csvio.Block) -> None:
        """Take a block's rows, handing over every full batch."""
        at = 0
        while at < block.rows:
            end = min(block.rows, at + BATCH_ROWS - self.size)
            for i, counts in enumerate(self.counts):
                counts.update(block.column(i, at, end))
            self.size += end - at
            self.rows += end - at
            at = end
            if self.size == BATCH_ROWS:
                self.flush()
        if self.size and self.records.bytes_read - self.start > BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Hand the rows to the columns, column by column, and report progress."""
        if not self.size:
            return
        for column, counts in zip(self.columns, self.counts, strict=True):
            column.add(counts, self.size)
        self.counts = [Counter() for _ in self.columns]
        self.size = 0
        self.start = self.records.bytes_read
        self.progress.update(self.start, message=f"{self.rows:,} rows")


# Imported here, after what it uses of this module is defined.
from tasks.processors import csv_profile_split  # noqa: E402


@registry.processor(
    "csv-profile",
    title="CSV profile",
    unit="bytes",
    **csvformat.CSV_INPUT | {"options": csvformat.OPTIONS | split.PARALLEL_OPTION},
    split=split.Splitter(
        prepare=csv_profile_split.prepare,
        cuts=csv_profile_split.cuts,
        part=csv_profile_split.part,
        merge=csv_profile_split.merge,
    ),
)
def work(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Detect the file's format (its encoding from all of it), then profile every column."""
    progress.total = src.stat().st_size
    fmt = csvformat.detect(
        src,
        options.get("delimiter", "auto"),
        options.get("header", "auto"),
        options.get("encoding", "auto"),
        # Progress stays at 0 while the encoding is checked: the bar never moves back.
        on_chunk=lambda n: progress.update(0, message="checking the encoding"),
    )
    return csvformat.read_with(lambda f: profile(src, f, progress), fmt)
