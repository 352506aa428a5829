"""Profile a CSV/TSV file in one streamed pass: per-column types, nulls, distincts, stats, tops.

Memory stays flat whatever the file's size: every column keeps a fixed-size distinct-count sketch
(KMV: the k smallest hashes), a fixed number of Misra-Gries counters for its top values, and
running moments (Welford, merged batch by batch as Chan et al. do) for its mean and deviation.
Rows are taken in batches and each batch column by column, so every distinct value of a batch
is parsed once and counted in C (``Counter``), not cell by cell in Python.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from celery import shared_task

from tasks import csvio
from tasks import registry
from tasks.progress import Progress

MAX_COLUMNS = 512
DISTINCT_K = 1024  # KMV sketch size: exact below it, about 3% standard error above it
TOP_COUNTERS = 64
TOP_SHOWN = 5
TOP_VALUE_CHARS = 200
MALFORMED_LINES_SHOWN = 10
HASH_SPACE = 2**64
BATCH_ROWS = 2048
BATCH_BYTES = 8 * 1024 * 1024  # a batch of long lines is cut short, to bound memory
KINDS = (csvio.NULL, csvio.INTEGER, csvio.FLOAT, csvio.BOOLEAN, csvio.DATE, csvio.TEXT)


class DistinctSketch:
    """Count distinct values: exactly up to ``k`` of them, then a KMV estimate."""

    def __init__(self, k: int = DISTINCT_K) -> None:
        self.k = k
        self.heap: list[int] = []  # negated hashes: -heap[0] is the largest kept
        self.kept: set[int] = set()

    def add(self, values: list[str]) -> None:
        """Take distinct values into the sketch."""
        # str hashes are SipHash: uniform over the 64-bit signed range, and stable within the
        # one process that reads the whole file.
        hashes = map(hash, values)
        if len(self.heap) == self.k:
            bound = -self.heap[0]
            hashes = [h for h in hashes if h < bound]
        for h in hashes:
            if h in self.kept:
                continue
            if len(self.heap) < self.k:
                heapq.heappush(self.heap, -h)
                self.kept.add(h)
            elif h < -self.heap[0]:
                self.kept.discard(-heapq.heapreplace(self.heap, -h))
                self.kept.add(h)

    def count(self) -> tuple[int, bool]:
        """Return the distinct count and whether it is exact."""
        if len(self.heap) < self.k:
            return len(self.heap), True
        # The k-th smallest of n uniform hashes sits near k/n of the way up the hash range.
        kth = -self.heap[0] + HASH_SPACE // 2
        return round((self.k - 1) * HASH_SPACE / (kth + 1)), False


class TopValues:
    """The most frequent values, by Misra-Gries counters: exact while they never overflow."""

    def __init__(self, size: int = TOP_COUNTERS) -> None:
        self.size = size
        self.counts: dict[str, int] = {}
        self.exact = True

    def add(self, batch: dict[str, int]) -> None:
        """Merge a batch's value counts into the counters."""
        merged = dict(batch)
        # Loop over the few counters, not over the batch: the batch is copied in C.
        for value, count in self.counts.items():
            merged[value] = merged.get(value, 0) + count
        if merged and max(map(len, merged)) > TOP_VALUE_CHARS:
            merged = shorten(merged)
        if len(merged) > self.size:
            # Subtracting the (size+1)-th largest count keeps at most `size` counters, and
            # undercounts any value by at most rows/(size+1): Misra-Gries summaries merge.
            self.exact = False
            largest = heapq.nlargest(self.size + 1, merged.items(), key=itemgetter(1))
            cut = largest[-1][1]
            merged = {v: c - cut for v, c in largest if c > cut}
        self.counts = merged

    def top(self, n: int = TOP_SHOWN) -> list[dict]:
        """Return the ``n`` most frequent values with their counts (lower bounds unless exact)."""
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return [{"value": value, "count": count} for value, count in ranked[:n]]


def shorten(counts: dict[str, int]) -> dict[str, int]:
    """Return value counts with long values cut, so a few counters cannot hold megabytes."""
    short: dict[str, int] = {}
    for value, count in counts.items():
        key = value if len(value) <= TOP_VALUE_CHARS else value[:TOP_VALUE_CHARS] + "…"
        short[key] = short.get(key, 0) + count
    return short


class Column:
    """Running statistics of one column."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds = dict.fromkeys(KINDS, 0)
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.low: Any = None
        self.high: Any = None
        self.dates: list[tuple[datetime, Any]] = []  # (sort key, value): the first and the last
        self.distinct = DistinctSketch()
        self.top_values = TopValues()

    def add(self, cells: tuple[str, ...]) -> None:
        """Take a batch of the column's cells."""
        counts = Counter(cells)
        same = csvio.parse_batch(list(counts))
        if same is not None:
            kind, values = same
            self.kinds[kind] += len(cells)
            if kind != csvio.TEXT:
                self.add_numbers(list(zip(values, counts.values(), strict=True)))
        else:
            self.add_mixed(counts)
        self.distinct.add(list(counts))
        self.top_values.add(counts)

    def add_mixed(self, counts: Counter) -> None:
        """Take a batch's value counts one distinct value at a time; drop its nulls from them."""
        numbers: list[tuple[float, int]] = []
        nulls = []
        for raw, count in counts.items():
            kind, value = csvio.parse(raw)
            self.kinds[kind] += count
            if kind == csvio.INTEGER or kind == csvio.FLOAT:
                numbers.append((value, count))
            elif kind == csvio.NULL:
                nulls.append(raw)
            elif kind == csvio.DATE:
                key = value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
                self.dates = [min([*self.dates, (key, value)]), max([*self.dates, (key, value)])]
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
        seen = {kind for kind, count in self.kinds.items() if count and kind != csvio.NULL}
        if not seen:
            return "empty"
        if seen <= {csvio.INTEGER, csvio.FLOAT}:
            return csvio.INTEGER if seen == {csvio.INTEGER} else csvio.FLOAT
        return seen.pop() if len(seen) == 1 else csvio.TEXT

    def summary(self) -> dict:
        """Return the column's profile."""
        kind = self.type()
        distinct, exact = self.distinct.count()
        low = high = mean = stddev = None
        if kind in (csvio.INTEGER, csvio.FLOAT):
            low, high, mean = self.low, self.high, self.mean
            stddev = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None
            if kind == csvio.FLOAT:
                low, high = float(low), float(high)
        elif kind == csvio.DATE:
            low, high = (value.isoformat() for _, value in self.dates)
        return {
            "name": self.name,
            "type": kind,
            "kinds": {k: c for k, c in self.kinds.items() if c and k != csvio.NULL},
            "nulls": self.kinds[csvio.NULL],
            "distinct": distinct,
            "distinct_exact": exact,
            "min": low,
            "max": high,
            "mean": mean,
            "stddev": stddev,
            "top": self.top_values.top(),
            "top_exact": self.top_values.exact,
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
                columns = [Column(name.strip()) for name in names]
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
