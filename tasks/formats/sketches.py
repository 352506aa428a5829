"""Count a column's values in bounded memory: exactly while they fit, then by sketches.

:class:`ValueCounts` keeps every distinct value with its count until the column has more than
``EXACT_VALUES`` of them or their keys outgrow a byte budget; so far, the distinct count and the
most common values are exact. Past that it hands what it has to two fixed-size sketches and
drops the exact table: a KMV distinct-count sketch (the k smallest hashes) and Misra-Gries
heavy-hitter counters. Either way memory is bounded, whatever the file's size.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from itertools import repeat
from operator import add

import xxhash

DISTINCT_K = 1024  # KMV sketch size: about 3% standard error
EXACT_VALUES = 10_000  # distinct values a column counts exactly
# What one more exact entry costs beyond its key: a dict slot (with growth slack) and its count.
ENTRY_BYTES = 64
TOP_COUNTERS = 64
TOP_SHOWN = 5
TOP_VALUE_CHARS = 200
HASH_SPACE = 2**64


def process_hashes(values: Iterable[str]) -> list[int]:
    """Return the values' hashes by Python's own string hash (SipHash, seeded per process)."""
    return list(map(hash, values))


def stable_hashes(values: Iterable[str]) -> list[int]:
    """Return 64-bit unsigned hashes of values that every process computes alike (XXH3 of
    their UTF-8 bytes: xxhash 4 takes bytes only; lone surrogates kept as they are). Looped
    over in C (``map``): a Python-level loop here was a third of a split part's time."""
    values = values if isinstance(values, Collection) else list(values)
    try:
        return list(map(xxhash.xxh3_64_intdigest, map(str.encode, values)))
    except UnicodeEncodeError:
        return [xxhash.xxh3_64_intdigest(v.encode("utf-8", "surrogatepass")) for v in values]


# The lowest hash each hasher gives (Python's is signed), for the KMV estimate.
HASH_LOW: dict[Callable, int] = {process_hashes: -HASH_SPACE // 2, stable_hashes: 0}


def cut(value: str) -> str:
    """Return a value cut to ``TOP_VALUE_CHARS`` characters, marked with an ellipsis if cut."""
    return value if len(value) <= TOP_VALUE_CHARS else value[:TOP_VALUE_CHARS] + "…"


def ranked(counts: dict[str, int], n: int = TOP_SHOWN) -> list[dict]:
    """Return the ``n`` most frequent values with their counts; equal counts in value order."""
    best = heapq.nsmallest(n, counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"value": cut(value), "count": count} for value, count in best]


class DistinctSketch:
    """Count distinct values: exactly while none was dropped, then a KMV estimate."""

    def __init__(
        self, k: int = DISTINCT_K, hasher: Callable[[Iterable[str]], list[int]] | None = None
    ) -> None:
        self.k = k
        self.heap: list[int] = []  # negated hashes: -heap[0] is the largest kept
        self.kept: set[int] = set()
        self.dropped = False
        self.hasher = hasher or process_hashes
        self.low = HASH_LOW[self.hasher]

    def add(self, values: Iterable[str]) -> None:
        """Take distinct values into the sketch."""
        # str hashes are SipHash: uniform over the 64-bit signed range, and stable within the
        # one process that reads the whole file. Sketches made in several processes and merged
        # use :func:`stable_hashes` instead (the same in every process).
        self.add_hashes(self.hasher(values))

    def add_hashes(self, hashes: list[int]) -> None:
        """Take the hashes of distinct values (another sketch's, when merging)."""
        if len(self.heap) == self.k and hashes:
            bound = -self.heap[0]
            # A hash above the largest kept one is a value the sketch does not keep.
            self.dropped = self.dropped or max(hashes) > bound
            hashes = [h for h in hashes if h < bound]
        for h in hashes:
            if h in self.kept:
                continue
            if len(self.heap) < self.k:
                heapq.heappush(self.heap, -h)
                self.kept.add(h)
                continue
            self.dropped = True
            if h < -self.heap[0]:
                self.kept.discard(-heapq.heapreplace(self.heap, -h))
                self.kept.add(h)

    def count(self) -> tuple[int, bool]:
        """Return the distinct count and whether it is exact."""
        if not self.dropped:
            return len(self.heap), True
        # The k-th smallest of n uniform hashes sits near k/n of the way up the hash range.
        kth = -self.heap[0] - self.low
        return round((self.k - 1) * HASH_SPACE / (kth + 1)), False


class TopValues:
    """The most frequent values, by Misra-Gries counters: exact while they never overflow."""

    def __init__(self, size: int = TOP_COUNTERS) -> None:
        self.size = size
        self.counts: dict[str, int] = {}
        self.exact = True

    def add(self, batch: dict[str, int], short: bool = False) -> None:
        """Merge a batch's value counts into the counters; ``short`` if none is long."""
        if len(batch) > self.size and (short or max(map(len, batch)) <= TOP_VALUE_CHARS):
            self.add_many(batch)
            return
        merged = dict(batch)
        # Loop over the few counters, not over the batch: the batch is copied in C.
        for value, count in self.counts.items():
            merged[value] = merged.get(value, 0) + count
        if merged and max(map(len, merged)) > TOP_VALUE_CHARS:
            merged = shorten(merged)
        if len(merged) > self.size:
            self.exact = False
            self.counts = trimmed(merged, self.size)
        else:
            self.counts = merged

    def add_many(self, batch: dict[str, int]) -> None:
        """Merge a batch of more distinct (short) values than there are counters."""
        # Past `size` values every count of one is cut away, so only the counters and the
        # values the batch repeats need merging: the rest only stand for ones in the cut.
        get = batch.get
        merged = {value: count + get(value, 0) for value, count in self.counts.items()}
        if sum(batch.values()) > len(batch):
            repeated = [value for value, count in batch.items() if count > 1]
            merged |= {value: batch[value] for value in repeated if value not in merged}
        self.exact = False
        self.counts = trimmed(merged, self.size)

    def top(self, n: int = TOP_SHOWN) -> list[dict]:
        """Return the ``n`` most frequent values with their counts (lower bounds unless exact)."""
        return ranked(self.counts, n)


def trimmed(counts: dict[str, int], size: int) -> dict[str, int]:
    """Return the counts above the (size+1)-th largest, less it; that is one if there are fewer."""
    # Subtracting the (size+1)-th largest count keeps at most `size` counters, and undercounts
    # any value by at most rows/(size+1): Misra-Gries summaries merge. Fewer counts than that
    # are given only when more counts of one were left out, so the (size+1)-th is one.
    largest = sorted(counts.values(), reverse=True)
    cut_at = largest[size] if len(largest) > size else 1
    return {value: count - cut_at for value, count in counts.items() if count > cut_at}


def shorten(counts: dict[str, int]) -> dict[str, int]:
    """Return value counts with long values cut, so a few counters cannot hold megabytes."""
    short: dict[str, int] = {}
    for value, count in counts.items():
        key = cut(value)
        short[key] = short.get(key, 0) + count
    return short


class ValueCounts:
    """A column's distinct count and most common values: exact while they fit, then sketched."""

    def __init__(
        self,
        budget: int,
        limit: int = EXACT_VALUES,
        hasher: Callable[[Iterable[str]], list[int]] | None = None,
    ) -> None:
        self.limit = limit
        self.budget = budget  # bytes the exact table may take, keys included
        self.exact: dict[str, int] | None = {}
        self.bytes = 0
        self.distinct = DistinctSketch(hasher=hasher)
        self.top_values = TopValues()

    def add(self, batch: dict[str, int], short: bool = False) -> None:
        """Take a batch's value counts (nulls left out); ``short`` if none is long."""
        exact = self.exact
        if exact is not None:
            new = batch.keys() - exact.keys()
            size = self.bytes + sum(map(sys.getsizeof, new)) + ENTRY_BYTES * len(new)
            if len(exact) + len(new) <= self.limit and size <= self.budget:
                self.bytes = size
                # exact[value] += count for every value of the batch, looped over in C.
                olds = map(exact.get, batch, repeat(0))
                exact.update(zip(batch, map(add, olds, batch.values()), strict=True))
                return
            # The table would outgrow its bound: everything seen so far goes to the sketches.
            self.exact = None
            self.distinct.add(exact)
            self.top_values.add(exact)
        self.distinct.add(batch)
        self.top_values.add(batch, short)

    def count(self) -> tuple[int, bool]:
        """Return the distinct count and whether it is exact."""
        if self.exact is not None:
            return len(self.exact), True
        return self.distinct.count()

    def top(self) -> tuple[list[dict], bool]:
        """Return the most frequent values with their counts, and whether the counts are exact."""
        if self.exact is not None:
            return ranked(self.exact), True
        return self.top_values.top(), self.top_values.exact
