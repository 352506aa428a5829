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
from collections.abc import Iterable
from itertools import repeat
from operator import add

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.formats import arrowtext

DISTINCT_K = 1024  # KMV sketch size: about 3% standard error
EXACT_VALUES = 10_000  # distinct values a column counts exactly
# What one more exact entry costs beyond its key: a dict slot (with growth slack) and its count.
ENTRY_BYTES = 64
TOP_COUNTERS = 64
TOP_SHOWN = 5
TOP_VALUE_CHARS = 200
HASH_SPACE = 2**64


# The hash below reads values 8 bytes a word; a value longer than this is hashed word by word
# on its own, not in the batch's matrix (which would be as wide as it).
WIDE_BYTES = 64
MIX_1, MIX_2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
LENGTH_SEED = np.uint64(0x9E3779B97F4A7C15)
LOW_BITS = np.uint64(0xFFFF)
# WORD_MASKS[n] keeps a word's first n bytes (little-endian: its n low bytes).
WORD_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], np.uint64)


def mix(h: np.ndarray) -> np.ndarray:
    """Return MurmurHash3's 64-bit finaliser of each word: every bit moves every other."""
    h = h ^ (h >> np.uint64(33))
    h = h * MIX_1
    h = h ^ (h >> np.uint64(33))
    h = h * MIX_2
    return h ^ (h >> np.uint64(33))


def array_hashes(values: pa.Array) -> np.ndarray:
    """Return 64-bit unsigned hashes (numpy) of an Arrow string or binary array's values, the
    same in every process and on every platform: the value's UTF-8 bytes in little-endian
    words of 8 (the last zero-padded; an empty value is one zero word), each mixed into the
    hash of the length and the words before it. Computed over the whole array in numpy, a
    word column at a time."""
    offsets, data = arrowtext.offsets_and_bytes(values)
    starts, lengths = offsets[:-1], np.diff(offsets)
    h = mix(lengths.astype(np.uint64) + LENGTH_SEED)
    wide = np.flatnonzero(lengths > WIDE_BYTES)
    # Every byte offset's 8 bytes as one word (unaligned reads; zero bytes after the last),
    # then each value's j-th word with the bytes past its end masked away.
    padded = np.concatenate((data[: offsets[-1]], np.zeros(8, np.uint8)))
    words = np.ndarray((len(padded) - 7,), "<u8", padded.data, strides=(1,))
    left = np.minimum(lengths, 8)
    h = mix(h ^ (words[starts] & WORD_MASKS[left]))
    for j in range(8, int(lengths.max(initial=0)) if len(wide) < len(h) else 0, 8):
        rows = np.flatnonzero((lengths > j) & (lengths <= WIDE_BYTES))
        if not len(rows):
            break
        left = np.minimum(lengths[rows] - j, 8)
        h[rows] = mix(h[rows] ^ (words[starts[rows] + j] & WORD_MASKS[left]))
    for i in wide:  # the rare long value, word by word
        raw = data[offsets[i] + 8 : offsets[i + 1]].tobytes()
        hi = h[i : i + 1]
        for word in np.frombuffer(raw + bytes(-len(raw) % 8), "<u8"):
            hi = mix(hi ^ word)
        h[i] = hi[0]
    return h


def stable_hashes(values: Iterable[str]) -> list[int]:
    """Return the hashes :func:`array_hashes` gives the values (lone surrogates kept as
    they are, in their UTF-8 form), as Python ints."""
    values = list(values)
    try:
        array = pa.array(values, pa.string())
    except (pa.ArrowInvalid, UnicodeEncodeError):
        array = pa.array([v.encode("utf-8", "surrogatepass") for v in values], pa.binary())
    return array_hashes(array).tolist()


def cut(value: str) -> str:
    """Return a value cut to ``TOP_VALUE_CHARS`` characters, marked with an ellipsis if cut."""
    return value if len(value) <= TOP_VALUE_CHARS else value[:TOP_VALUE_CHARS] + "…"


def ranked(counts: dict[str, int], n: int = TOP_SHOWN) -> list[dict]:
    """Return the ``n`` most frequent values with their counts; equal counts in value order."""
    best = heapq.nsmallest(n, counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"value": cut(value), "count": count} for value, count in best]


class DistinctSketch:
    """Count distinct values: exactly while none was dropped, then a KMV estimate."""

    def __init__(self, k: int = DISTINCT_K) -> None:
        self.k = k
        self.heap: list[int] = []  # negated hashes: -heap[0] is the largest kept
        self.kept: set[int] = set()
        self.dropped = False

    def add(self, values: Iterable[str]) -> None:
        """Take distinct values into the sketch."""
        # The same hash in every process: sketches of a split file's parts merge.
        self.add_hashes(stable_hashes(values))

    def add_array(self, hashes: np.ndarray) -> None:
        """Take the :func:`array_hashes` of distinct values into the sketch."""
        if len(self.heap) == self.k and len(hashes):
            bound = np.uint64(-self.heap[0])
            # Only the few below the largest kept one can enter: the rest are looked at here.
            self.dropped = self.dropped or bool((hashes > bound).any())
            hashes = hashes[hashes < bound]
        self.add_hashes(hashes.tolist())

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
        kth = -self.heap[0]
        return round((self.k - 1) * HASH_SPACE / (kth + 1)), False


class TopValues:
    """The most frequent values, by Misra-Gries counters: exact while they never overflow."""

    def __init__(self, size: int = TOP_COUNTERS) -> None:
        self.size = size
        self.counts: dict[str, int] = {}
        self.exact = True
        self.hashes: dict[str, int] = {}  # the counters' values' hashes, for add_arrays

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

    def add_arrays(
        self, values: pa.Array, counts: pa.Array, hashes: np.ndarray, short: bool = False
    ) -> None:
        """Merge a batch's value counts, given as Arrow arrays of distinct values and counts
        (and the values' :func:`array_hashes`)."""
        offsets = arrowtext.offsets_and_bytes(values)[0]
        long = (np.diff(offsets) > TOP_VALUE_CHARS).any()  # in bytes: perhaps in characters
        if long and not short:
            long = pc.max(pc.utf8_length(values)).as_py() > TOP_VALUE_CHARS
        if len(values) <= self.size or (long and not short):
            self.add(dict(zip(values.to_pylist(), counts.to_pylist(), strict=True)), short)
            return
        # As add_many: the counters' counts in the batch, and the values the batch repeats.
        # The counters are found in the batch by hash (and then by text: a value taken by a
        # hash that is not its own is no counter's, and counts as a value of the batch).
        times = counts.to_numpy()
        known = self.hashes
        new = [key for key in self.counts if key not in known]
        if new:
            known.update(zip(new, stable_hashes(new), strict=True))
        wanted = times > 1
        if known:
            # A table of the counters' hashes' low 16 bits finds the few candidates at C speed.
            mine = np.fromiter(known.values(), np.uint64, len(known))
            table = np.zeros(1 << 16, bool)
            table[(mine & LOW_BITS).astype(np.intp)] = True
            maybe = np.flatnonzero(table[(hashes & LOW_BITS).astype(np.intp)])
            wanted[maybe[np.isin(hashes[maybe], mine)]] = True
        at = np.flatnonzero(wanted)
        taken = values.take(at).to_pylist()
        merged = dict(self.counts)
        for value, count, hashed in zip(
            taken, times[at].tolist(), hashes[at].tolist(), strict=True
        ):
            if value in merged:
                merged[value] += count
            elif count > 1:
                merged[value] = count
                known[value] = hashed
        self.exact = False
        self.counts = trimmed(merged, self.size)
        self.hashes = {key: known[key] for key in self.counts}

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

    def __init__(self, budget: int, limit: int = EXACT_VALUES) -> None:
        self.limit = limit
        self.budget = budget  # bytes the exact table may take, keys included
        self.exact: dict[str, int] | None = {}
        self.bytes = 0
        self.distinct = DistinctSketch()
        self.top_values = TopValues()

    def add_arrays(self, values: pa.Array, counts: pa.Array, short: bool = False) -> None:
        """Take a batch's value counts as Arrow arrays (distinct values, nulls left out, and
        how often each comes); ``short`` if none is long. Once sketched, the values stay
        in Arrow: only the few the sketches keep become Python strings."""
        if self.exact is not None:
            self.add(dict(zip(values.to_pylist(), counts.to_pylist(), strict=True)), short)
            return
        hashes = array_hashes(values)
        self.distinct.add_array(hashes)
        self.top_values.add_arrays(values, counts, hashes, short)

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
