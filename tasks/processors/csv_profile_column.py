"""One column of the CSV profile: its kinds, moments, bounds and value counts, batch by batch.

A batch comes as an Arrow string array. Arrow counts its distinct values (``value_counts``) and,
when they are all of one kind that is quick to tell, types them by casts over the whole array
(:func:`tasks.formats.arrowtypes.classify`); any other batch is typed value by value in Python,
as the cell parse does. Either way the numbers go to exact sums (:mod:`tasks.formats.moments`)
over the distinct values and how often each occurs, so results do not depend on which way a
batch went, nor on the batches.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.formats import arrowtext
from tasks.formats import arrowtypes
from tasks.formats import csvheader
from tasks.formats import csvtypes
from tasks.formats import moments
from tasks.formats import sketches

PYTHON_VALUES = 32  # a batch of this many distinct values or fewer is typed in Python
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

    def __init__(self, name: str, budget: int, decimal: str = ".") -> None:
        self.name = name
        # Decimal commas (12,50) are typed as the numbers they are; the values keep their text.
        self.typed = csvheader.points if decimal == "," else list
        self.kinds = dict.fromkeys(KINDS, 0)
        self.moments = moments.Moments()
        self.low: Any = None
        self.high: Any = None
        # (moment, ISO text) of the earliest and the latest.
        self.dates: list[tuple[datetime, str]] = []
        self.values = sketches.ValueCounts(budget)
        self.last: str | None = None  # the kind of the last batch Arrow typed, tried first

    def add_array(self, cells: pa.Array | pa.ChunkedArray, size: int) -> None:
        """Take a batch of ``size`` cells of the column, as an Arrow string array."""
        counted = pc.value_counts(cells)
        values, counts = counted.field(0), counted.field(1)
        # So few distinct values (or decimal commas) are typed as fast in Python.
        if len(values) <= PYTHON_VALUES or self.typed is not list:
            self.add(dict(zip(values.to_pylist(), counts.to_pylist(), strict=True)), size)
            return
        empty = np.flatnonzero(np.diff(arrowtext.offsets_and_bytes(values)[0]) == 0)
        nulls = 0
        if len(empty):  # the usual null, the empty cell, is counted out first
            at = int(empty[0])
            nulls = counts[at].as_py()
            values = pa.concat_arrays([values.slice(0, at), values.slice(at + 1)])
            counts = pa.concat_arrays([counts.slice(0, at), counts.slice(at + 1)])
        typed = arrowtypes.classify(values, self.last)
        if typed is None:
            batch = dict(zip(values.to_pylist(), counts.to_pylist(), strict=True))
            if nulls:
                batch[""] = nulls
            self.add(batch, size)
            return
        kind, found = typed
        self.last = kind
        self.kinds[csvtypes.NULL] += nulls
        self.kinds[kind] += size - nulls
        if kind == csvtypes.DATE:
            self.add_dates(list(map(date.fromisoformat, found)))
        elif kind != csvtypes.TEXT:
            self.add_number_array(found, counts.to_numpy())
        self.values.add_arrays(values, counts, short=kind in (csvtypes.INTEGER, csvtypes.DATE))

    def add(self, counts: dict[str, int], size: int) -> None:
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

    def add_mixed(self, counts: dict[str, int]) -> None:
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

    def add_numbers(self, values: list, counts: list[int]) -> None:
        """Add a batch's numbers (distinct values, how often each) to the moments and bounds."""
        self.moments.add_values(values, counts)
        self.bound(min(values), max(values))

    def add_number_array(self, values: np.ndarray, counts: np.ndarray) -> None:
        """Do what :meth:`add_numbers` does, for numpy arrays (int64 or float64) of distinct
        values and their counts."""
        once = None if int(counts.sum()) == len(values) else counts
        if values.dtype.kind == "i":
            self.moments.add_integers(values, once)
        else:
            self.moments.add_array(values, once)
        low, high = values.min().item(), values.max().item()
        if low == 0 or high == 0:  # min() and max() keep the first of 0.0 and -0.0
            listed = values.tolist()
            low, high = min(listed), max(listed)
        self.bound(low, high)

    def bound(self, low: Any, high: Any) -> None:
        """Widen the column's bounds to take in a batch's."""
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
            low, high = self.low, self.high
            mean, stddev = self.moments.mean(), self.moments.stddev()
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
