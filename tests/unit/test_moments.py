"""Exact moments: the mean and the standard deviation rounded once, whatever the batches."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.formats import moments
from tasks.formats.moments import Moments
from tests.unit.golden import rounded_moments

RNG = np.random.default_rng(11)
TINY = 5e-324  # the smallest subnormal
HUGE = 1.7976931348623157e308  # the largest double
CASES = {
    "wide exponents": RNG.standard_normal(300) * 10.0 ** RNG.integers(-300, 300, 300),
    "huge": np.array([HUGE, HUGE / 3, -HUGE / 7, 1e300, 1.0]),
    "tiny and subnormal": np.array([TINY, 3 * TINY, -TINY, 1e-310, 2.2250738585072014e-308]),
    "zeros of both signs": np.array([-0.0, 0.0, -0.0, 1.5]),
    "only negative zeros": np.array([-0.0, -0.0]),
    "near 2**53": np.array([2.0**53 - 1, 2.0**53, 2.0**53 + 2, -(2.0**53)]),
    "near 2**63": np.array([2.0**63, 2.0**63 - 1024, -(2.0**63), 2.0**64]),
    "decimals": np.round(RNG.uniform(-1000, 1000, 500), 2),
    "one value": np.array([0.1]),
    "two values": np.array([0.1, 0.7]),
    "equal values": np.full(50, 0.1),
    "a mean that cancels": np.array([1e16, 1.0, -1e16, 3.0]),
}
INTEGERS = {
    "small": RNG.integers(-100, 100, 300),
    "near 2**53": np.array([2**53 - 1, 2**53, 2**53 + 1, -(2**53) - 3]),
    "near 2**63": np.array([2**63 - 1, 2**63 - 2, -(2**63) + 1, 5]),
    "large ids": RNG.integers(10**17, 10**18, 200),
    "one value": np.array([7]),
}


def assert_rounded_once(m: Moments, values: list, counts: list[int] | None = None) -> None:
    """The mean and deviation are the exact ones rounded once, as fractions compute them."""
    assert (m.mean(), m.stddev()) == rounded_moments(values, counts)


ADDED = [("add_array", v) for v in CASES.values()] + [
    ("add_integers", v) for v in INTEGERS.values()
]
NAMES = [f"doubles, {k}" for k in CASES] + [f"int64, {k}" for k in INTEGERS]


@pytest.mark.parametrize(("add", "values"), ADDED, ids=NAMES)
def test_numbers_give_exact_moments_rounded_once(add, values):
    """Sum doubles (or int64 integers) exactly, once each and with counts, in numpy as in
    Python (int64 sums where they cannot overflow)."""
    counts = RNG.integers(1, 1000, len(values))
    for times in (None, counts):
        m = Moments()
        getattr(m, add)(values, times)
        listed = None if times is None else times.tolist()
        assert_rounded_once(m, values.tolist(), listed)
        python = Moments()
        python.add_exact(values.tolist(), listed or [1] * len(values))
        assert (m.n, m.s, m.q) == (python.n, python.s, python.q)


MIXED = {
    "floats": [0.1, -2.5, 1e300, 5e-324],
    "ints": [3, -(2**62), 2**63 - 1, 0],
    "ints past int64": [10**30, -(10**25), 7],
    "ints and floats": [1, 0.5, 10**20, -(2**70), 1e-300, 3],
}


@pytest.mark.parametrize("values", MIXED.values(), ids=MIXED.keys())
def test_python_numbers_give_exact_moments_rounded_once(values):
    """Sum Python ints of any size and floats, numpy taking what it can sum exactly."""
    counts = [i + 1 for i in range(len(values))]
    m = Moments()
    m.add_values(values, counts)
    assert_rounded_once(m, values, counts)
    one_by_one = Moments()
    one_by_one.add_exact(values, counts)
    assert (m.n, m.s, m.q) == (one_by_one.n, one_by_one.s, one_by_one.q)


def test_batches_and_their_order_do_not_matter():
    """Cut the same numbers in batches of any size and order: the same moments to the bit."""
    values = np.round(RNG.uniform(-1e4, 1e4, 5000), 3)
    whole = Moments()
    whole.add_array(values)
    for size in (1, 7, 1000, 4096):
        parts = [Moments() for _ in range(0, len(values), size)]
        for part, start in zip(parts, range(0, len(values), size), strict=True):
            part.add_array(values[start : start + size])
        merged = Moments()
        for part in reversed(parts):
            merged.merge(Moments.from_state(part.state()))
        assert (merged.n, merged.s, merged.q) == (whole.n, whole.s, whole.q)
    assert_rounded_once(whole, values.tolist())


def test_counts_past_the_exact_batch_bound_are_split():
    """A batch counting more than MAX_BATCH values is summed in halves, still exactly."""
    values = RNG.standard_normal(3 * moments.MAX_BATCH // 2)
    counts = RNG.integers(1, 4, len(values))
    m = Moments()
    m.add_array(values, counts)
    assert_rounded_once(m, values.tolist(), counts.tolist())
    one = Moments()
    one.add_array(np.array([0.1]), np.array([10 * moments.MAX_BATCH]))
    assert (one.n, one.mean(), one.stddev()) == (10 * moments.MAX_BATCH, 0.1, 0.0)


def test_no_numbers_and_one_number():
    """No mean without numbers, no deviation without two."""
    assert (Moments().mean(), Moments().stddev()) == (None, None)
    one = Moments()
    one.add_values([3], [1])
    assert (one.mean(), one.stddev()) == (3.0, None)


def test_a_deviation_past_the_largest_double_is_none():
    """Numbers near the largest double, of both signs: a mean, but no deviation a double holds."""
    m = Moments()
    m.add_array(np.array([HUGE, -HUGE]))
    assert (m.mean(), m.stddev()) == (0.0, None)


def test_the_state_is_json_and_exact():
    """The state holds the sums as decimal text, read back to the same integers."""
    m = Moments()
    m.add_array(np.array([0.1, 1e300, TINY]))
    state = m.state()
    assert all(isinstance(state[k], str) for k in ("s", "q"))
    back = Moments.from_state(state)
    assert (back.n, back.s, back.q) == (m.n, m.s, m.q)
