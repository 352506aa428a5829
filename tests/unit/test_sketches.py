"""Counting a column's values in bounded memory: exact while they fit, then sketched."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tasks.formats import sketches


def words(n: int, start: int = 0) -> list[str]:
    """Return ``n`` distinct values."""
    return [f"w{i}" for i in range(start, start + n)]


@pytest.mark.parametrize("n", [0, 1, sketches.DISTINCT_K - 1, sketches.DISTINCT_K])
def test_sketch_is_exact_while_nothing_was_dropped(n):
    """Count up to k distinct values exactly, however often each comes."""
    sketch = sketches.DistinctSketch()
    sketch.add(words(n))
    sketch.add(words(n))
    assert sketch.count() == (n, True)


def test_sketch_estimates_once_a_value_was_dropped():
    """Estimate, and say so, from the first value the sketch cannot keep."""
    sketch = sketches.DistinctSketch()
    sketch.add(words(sketches.DISTINCT_K))
    sketch.add(words(1, start=sketches.DISTINCT_K))
    count, exact = sketch.count()
    assert exact is False
    assert abs(count - (sketches.DISTINCT_K + 1)) / sketches.DISTINCT_K < 0.15


@pytest.mark.parametrize(
    ("n", "exact"), [(sketches.EXACT_VALUES, True), (sketches.EXACT_VALUES + 1, False)]
)
def test_value_counts_are_exact_up_to_the_limit(n, exact):
    """Keep exact counts up to the limit, batch after batch, and sketch past it."""
    values = sketches.ValueCounts(budget=64 * 1024 * 1024)
    for start in range(0, n, 2048):
        values.add(dict.fromkeys(words(min(2048, n - start), start), 1))
    count, is_exact = values.count()
    assert is_exact is exact
    assert count == n if exact else abs(count - n) / n < 0.15
    assert (values.exact is None) is not exact


def test_value_counts_stay_within_their_byte_budget():
    """Give up the exact table before its keys and entries outgrow the budget."""
    budget = 100_000
    values = sketches.ValueCounts(budget=budget)
    for i in range(1000):
        values.add({f"{i:0100d}": 1})
        assert values.exact is None or values.bytes <= budget
    assert values.exact is None
    assert values.top()[1] is False


def test_value_counts_rank_ties_by_value():
    """Rank equal counts by their value, whatever order they came in."""
    values = sketches.ValueCounts(budget=1_000_000)
    values.add({"b": 2, "c": 1, "a": 2})
    values.add({"d": 3, "c": 1})
    assert values.top() == (
        [
            {"value": "d", "count": 3},
            {"value": "a", "count": 2},
            {"value": "b", "count": 2},
            {"value": "c", "count": 2},
        ],
        True,
    )


def test_long_values_are_shown_cut():
    """Show a value longer than the display limit cut, with an ellipsis."""
    values = sketches.ValueCounts(budget=1_000_000)
    values.add({"x" * 1000: 1})
    (top,), _ = values.top()
    assert top["value"] == "x" * sketches.TOP_VALUE_CHARS + "…"


def misra_gries(counters: dict[str, int], batch: dict[str, int], size: int) -> dict[str, int]:
    """Merge a batch into the counters as Misra-Gries summaries merge, plainly."""
    merged = Counter(counters) + Counter(batch)
    if len(merged) <= size:
        return dict(merged)
    cut_at = sorted(merged.values(), reverse=True)[size]
    return {value: count - cut_at for value, count in merged.items() if count > cut_at}


@pytest.mark.parametrize("seed", range(6))
def test_top_values_merge_batches_as_misra_gries_does(seed):
    """Keep the counters the plain merge keeps, for batches of few or many values."""
    rng = random.Random(seed)
    top, expected = sketches.TopValues(size=8), {}
    for _ in range(60):
        spread = rng.choice([4, 40, 4000])
        batch = Counter(f"v{rng.randrange(spread)}" for _ in range(rng.randrange(1, 300)))
        top.add(batch, short=rng.random() < 0.5)
        expected = misra_gries(expected, batch, 8)
        assert top.counts == expected
