"""Exact sums of numbers and of their squares, for a mean and a standard deviation rounded once.

A double is an integer times a power of two, ``M * 2**E`` with ``|M| < 2**53`` and
``E >= -1074``, so a sum of doubles, and of their squares, is an integer times ``2**-1074``
(``2**-2148`` for squares). :class:`Moments` keeps the count ``n``, the sum ``S`` and the sum of
squares ``Q`` so scaled, as Python integers: exact whatever the order or the batches the values
came in, so batches and a split job's parts merge by addition.

The mean is ``S / n`` and the sample standard deviation ``sqrt((n*Q - S*S) / (n*(n-1)))``: the
one-pass "textbook" sum of squares that floating point makes unstable (Chan, Golub and LeVeque,
"Algorithms for computing the sample variance", 1983) and exact integers make exact, multiplied
through by ``n`` to stay in integers. Each is rounded once to the nearest double: Python's int
by int division is correctly rounded, and the root (:func:`sqrt_ratio`) is the integer root
(:func:`math.isqrt`) of the value times ``4**k``, ``k`` chosen so it has at least 55 bits,
with a sticky bit for a non-zero remainder: the usual guard and sticky bits of a correctly
rounded square root.

Arrays are summed in numpy where that is exact. The sum: each ``M`` is cut in two pieces of
27 bits (26 for the top one), and ``np.bincount`` adds, exponent by exponent, the pieces times
their signed counts as doubles: integers below ``2**44`` all along. The squares: ``M`` is cut in
three pieces of 18 bits, and the products of two pieces that shift alike (at most three, below
``3 * 2**36`` together) are added times their counts: below ``2**53`` while a batch counts at
most ``2**15`` values (:data:`MAX_BATCH`; a larger one is summed in halves), so every addition
of doubles is exact. Python turns the few exponents' totals into one integer per batch.
Integers (int64) are summed in int64 when their squares' sum cannot overflow.
"""

from __future__ import annotations

from math import isqrt

import numpy as np

SCALE = 1074  # S is the sum times 2**SCALE, Q the sum of squares times 2**(2 * SCALE)
EXPONENTS = 2046  # E + SCALE of finite doubles: 0 (subnormals, and 2**-1074 units) to 2045
PIECE = 18  # bits of each piece of a 53-bit integer mantissa
MAX_BATCH = 2**15  # counts of a batch sum to at most this: its totals stay exact
MASK = (1 << PIECE) - 1
# A mantissa's square by the pieces' products: for each shift (in pieces), the products of
# pieces i and j whose shifts add up to it, and twice a product of two different pieces.
SQUARE_TERMS = [
    [(i, j, 1 if i == j else 2) for i in range(3) for j in range(i, 3) if i + j == shift]
    for shift in range(5)
]


class Moments:
    """The count, exact sum and exact sum of squares of the numbers seen."""

    def __init__(self, n: int = 0, s: int = 0, q: int = 0) -> None:
        self.n, self.s, self.q = n, s, q

    def add_array(self, values: np.ndarray, counts: np.ndarray | None = None) -> None:
        """Add finite doubles (a float64 array), each ``counts`` times (all once by default)."""
        if not len(values):
            return
        n = len(values) if counts is None else int(counts.sum())
        if n > MAX_BATCH:  # the totals would no longer be exact: halve
            half = len(values) // 2
            if half == 0:
                self.add_exact(values.tolist(), counts.tolist())
                return
            for part in (slice(0, half), slice(half, None)):
                self.add_array(values[part], None if counts is None else counts[part])
            return
        bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
        field = (bits >> 52) & 0x7FF
        mantissa = bits & ((1 << 52) - 1)
        # A normal double's integer mantissa has its leading 1; a subnormal's exponent is
        # that of the smallest normal.
        mantissa |= (field != 0).astype(np.int64) << 52
        at = np.maximum(field, 1) - 1  # E + SCALE
        times = np.ones(len(values)) if counts is None else counts.astype(np.float64)
        signed = np.where(bits < 0, -times, times)
        # The sum: two pieces of 27 bits (26 for the high one) times counts, below 2**44.
        low, high = mantissa & ((1 << 27) - 1), mantissa >> 27
        s = combined(np.bincount(at, signed * low, EXPONENTS), 0, 1)
        s += combined(np.bincount(at, signed * high, EXPONENTS), 27, 1)
        # The squares: three pieces of 18 bits; the products of a piece by another are
        # gathered by their shift, at most three of them, each below 2**36.
        pieces = [(mantissa >> (PIECE * k)) & MASK for k in range(3)]
        q = 0
        for shift, terms in enumerate(SQUARE_TERMS):
            gathered = sum(pieces[i] * pieces[j] * twice for i, j, twice in terms)
            weights = gathered.astype(np.float64) * times
            q += combined(np.bincount(at, weights, EXPONENTS), PIECE * shift, 2)
        self.n += n
        self.s += s
        self.q += q

    def add_integers(self, values: np.ndarray, counts: np.ndarray | None = None) -> None:
        """Add integers (an int64 array), each ``counts`` times (all once by default)."""
        if not len(values):
            return
        n = len(values) if counts is None else int(counts.sum())
        big = max(int(values.max()), -int(values.min()))
        if big * big * n >= 2**63:  # the squares' sum could overflow int64
            if big >= 2**53:  # not all exact as doubles
                self.add_exact(
                    values.tolist(), [1] * len(values) if counts is None else counts.tolist()
                )
            else:
                self.add_array(values.astype(np.float64), counts)
            return
        weighted = values if counts is None else values * counts
        self.n += n
        self.s += int(weighted.sum()) << SCALE
        self.q += int((weighted * values).sum()) << (2 * SCALE)

    def add_values(self, values: list, counts: list[int]) -> None:
        """Add numbers (ints of any size, finite floats), each as many times as its count: the
        floats, and the ints that fit int64, in numpy."""
        kinds = set(map(type, values))
        if kinds == {float}:
            self.add_array(np.array(values, np.float64), np.array(counts, np.int64))
            return
        if float not in kinds:
            try:
                ints = np.array(values, np.int64)
            except OverflowError:  # an int past int64
                self.add_exact(values, counts)
                return
            self.add_integers(ints, np.array(counts, np.int64))
            return
        for floats in (True, False):
            chosen = [
                (v, c) for v, c in zip(values, counts, strict=True) if (type(v) is float) is floats
            ]
            self.add_values(*map(list, zip(*chosen, strict=True)))

    def add_exact(self, values: list, counts: list[int]) -> None:
        """Add numbers (ints of any size, finite floats) one by one, in Python integers."""
        for value, count in zip(values, counts, strict=True):
            top, bottom = value.as_integer_ratio()  # bottom is a power of two
            shift = SCALE - (bottom.bit_length() - 1)
            self.s += (count * top) << shift
            self.q += (count * top * top) << (2 * shift)
            self.n += count

    def merge(self, other: Moments) -> None:
        """Add another's numbers to these."""
        self.n += other.n
        self.s += other.s
        self.q += other.q

    def mean(self) -> float | None:
        """Return the mean rounded once to the nearest double (None with no numbers)."""
        return self.s / (self.n << SCALE) if self.n else None

    def stddev(self) -> float | None:
        """Return the sample standard deviation rounded once (None with fewer than 2 numbers,
        or past the largest double: JSON holds no infinity)."""
        if self.n < 2:
            return None
        spread = self.n * self.q - self.s * self.s  # n**2 times the variance, times 4**SCALE
        try:
            return sqrt_ratio(spread, self.n * (self.n - 1) << (2 * SCALE))
        except OverflowError:  # numbers near the largest double, of both signs
            return None

    def state(self) -> dict:
        """Return the moments as JSON (the sums as decimal text: they are large integers)."""
        return {"n": self.n, "s": str(self.s), "q": str(self.q)}

    @classmethod
    def from_state(cls, state: dict) -> Moments:
        """Return the moments :meth:`state` gave."""
        return cls(state["n"], int(state["s"]), int(state["q"]))


def combined(totals: np.ndarray, shift: int, step: int) -> int:
    """Return the integer sum of ``totals[e] * 2**(step * e + shift)`` (exact integral doubles)."""
    found = np.flatnonzero(totals)
    return sum(int(totals[e]) << (step * int(e) + shift) for e in found)


def sqrt_ratio(top: int, bottom: int) -> float:
    """Return the square root of ``top / bottom`` (non-negative integers, bottom > 0) rounded
    once to the nearest double."""
    if top <= 0:
        return 0.0
    # Scale by 4**k so the root has at least 55 bits: the double's 53, a rounding bit and one
    # below it; the sticky bit then stands for whatever lies below, and the division rounds
    # the root (an integer plus a half when inexact) once.
    k = max(0, (112 - (top.bit_length() - bottom.bit_length())) // 2 + 2)
    whole, rest = divmod(top << (2 * k), bottom)
    root = isqrt(whole)
    sticky = 1 if rest or root * root != whole else 0
    return (2 * root + sticky) / (1 << (k + 1))
