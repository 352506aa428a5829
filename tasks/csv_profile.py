"""Profile a CSV/TSV file in one streamed pass: per-column types, nulls, distincts, stats, tops.

Memory stays flat whatever the file's size: every column counts its values exactly up to a
bound, then in fixed-size sketches (:mod:`tasks.sketches`), and keeps running moments (Welford,
merged batch by batch as Chan et al. do) for its mean and deviation. Rows are taken in batches
and each batch column by column, so every distinct value of a batch is parsed once and counted
in C (``Counter``), not cell by cell in Python.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import shared_task

from tasks import csvio
from tasks import csvtypes
from tasks import registry
from tasks import sketches
from tasks.progress import Progress

MAX_COLUMNS = 512
# The exact value tables of all columns together take at most this much; each column gets its
# share, and a column past its share (or past sketches.EXACT_VALUES values) is sketched instead.
EXACT_BYTES = 64 * 1024 * 1024
MALFORMED_LINES_SHOWN = 10
BATCH_ROWS = 2048
BATCH_BYTES = 8 * 1024 * 1024  # a batch of long lines is cut short, to bound memory
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

    def __init__(self, name: str, budget: int = EXACT_BYTES) -> None:
        self.name = name
        self.kinds = dict.fromkeys(KINDS, 0)
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.low: Any = None
        self.high: Any = None
        # (moment, ISO text) of the earliest and the latest: a date sorts as its midnight, and
        # the text breaks the tie between 2024-01-01 and 2024-01-01T00:00:00.
        self.dates: list[tuple[datetime, str]] = []
        self.values = sketches.ValueCounts(budget)

    def add(self, cells: tuple[str, ...]) -> None:
        """Take a batch of the column's cells."""
        counts = Counter(cells)
        same = csvtypes.parse_batch(list(counts))
        if same is not None:
            kind, values = same
            self.kinds[kind] += len(cells)
            if kind != csvtypes.TEXT:
                self.add_numbers(list(zip(values, counts.values(), strict=True)))
        else:
            self.add_mixed(counts)
        self.values.add(counts)

    def add_mixed(self, counts: Counter) -> None:
        """Take a batch's value counts one distinct value at a time; drop its nulls from them."""
        numbers: list[tuple[float, int]] = []
        nulls = []
        for raw, count in counts.items():
            kind, value = csvtypes.parse(raw)
            self.kinds[kind] += count
            if kind == csvtypes.INTEGER or kind == csvtypes.FLOAT:
                numbers.append((value, count))
            elif kind == csvtypes.NULL:
                nulls.append(raw)
            elif kind == csvtypes.DATE:
                key = value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
                dated = [*self.dates, (key, value.isoformat())]
                self.dates = [min(dated), max(dated)]
        for raw in nulls:
            del counts[raw]
        if numbers:
            self.add_numbers(numbers)

    def add_numbers(self, numbers: list[tuple[float, int]]) -> None:
        """Merge a batch's numbers (value, count) into the running moments and bounds."""
        n = sum(count for _, count in numbers)
        mean = math.fsum(value * count for value, count in numbers) / n
        m2 = math.fsum(count * (value - mean) ** 2 for value, count in numbers)
        # Chan et al.'s pairwise update: Welford's recurrence for a batch instead of one value.
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        low, high = min(numbers)[0], max(numbers)[0]
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


def profile(src: Path, fmt: csvio.Format, progress: Progress) -> dict:
    """Profile the file read in the given format."""
    progress.total = src.stat().st_size
    progress.update(0, message="reading")
    columns: list[Column] = []
    width = rows = malformed = 0
    malformed_lines: list[int] = []
    batch: list[list[str]] = []

    def flush() -> None:
        """Hand the batch to the columns, column by column, and report progress."""
        for column, cells in zip(columns, zip(*batch, strict=True), strict=True):
            column.add(cells)
        batch.clear()
        progress.update(records.bytes_read, message=f"{rows:,} rows")

    with csvio.Rows(src, fmt, MAX_COLUMNS) as records:
        batch_start = 0
        for line, record in records:
            if not columns:
                width = len(record)
                names = record if fmt.header else [f"column_{i}" for i in range(1, width + 1)]
                columns = [Column(name.strip(), EXACT_BYTES // width) for name in names]
                if fmt.header:
                    continue
            if len(record) != width:
                malformed += 1
                if len(malformed_lines) < MALFORMED_LINES_SHOWN:
                    malformed_lines.append(line)
                continue
            batch.append(record)
            rows += 1
            if len(batch) == BATCH_ROWS or records.bytes_read - batch_start > BATCH_BYTES:
                flush()
                batch_start = records.bytes_read
        if batch:
            flush()
    progress.update(progress.total, message=f"{rows:,} rows")
    return csvio.describe(fmt) | {
        "bytes": progress.total,
        "rows": rows,
        "columns": [column.summary() for column in columns],
        "malformed": {"count": malformed, "lines": malformed_lines},
    }


def work(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Detect the file's format, then profile every column."""
    fmt = csvio.detect(src, options.get("delimiter", "auto"), options.get("header", "auto"))
    return csvio.with_fallback(lambda f: profile(src, f, progress), fmt)


@shared_task(bind=True)
def csv_profile(self, options: dict) -> dict:
    """Profile the job's uploaded CSV file."""
    return registry.run(self, work, options, unit="bytes")


PROCESSOR = registry.Processor(
    name="csv-profile",
    title="CSV profile",
    task=csv_profile,
    unit="bytes",
    accepts=[".csv", ".tsv", ".txt"],
    options=csvio.OPTIONS,
    sniff=csvio.sniff,
)
