"""The CSV profile split in parts, without Celery: cut points at record boundaries even where
quoted fields hold line breaks, and parts merged into what one pass gives, field by field."""

from __future__ import annotations

import csv
import io
import random

import pytest

from tasks import registry
from tasks import split
from tasks.formats import sketches
from tasks.processors import csv_profile
from tasks.processors import csv_profile_split
from tasks.progress import Progress


def quoted_csv(rows: int, seed: int = 7) -> bytes:
    """Return a CSV whose text fields often hold quotes and line breaks."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "amount", "note", "day", "flag"])
    for i in range(rows):
        note = rng.choice(["plain", 'say "hi"', "two\nlines", "three\nshort\nlines", "", "a,b"])
        day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        amount = rng.choice([str(rng.randint(-500, 500)), f"{rng.uniform(0, 100):.3f}", ""])
        writer.writerow([i, amount, f"{note} {i % 37}", day, rng.choice(["true", "false"])])
    return out.getvalue().encode()


def split_profile(path, parts: int) -> tuple[dict, list[int]]:
    """Profile a file in ``parts`` parts in this process; return the result and the cuts."""
    size = path.stat().st_size
    context = csv_profile_split.prepare(path, {"delimiter": "auto", "header": "auto"})
    cut = csv_profile_split.cuts(path, context, [size * i // parts for i in range(1, parts)])
    starts = [0, *cut]
    states = [
        csv_profile_split.part(
            path, start, end, i, context, Progress(is_cancelled=lambda: False, interval=0)
        )
        for i, (start, end) in enumerate(zip(starts, [*cut, size], strict=True))
    ]
    return csv_profile_split.merge(states, context), cut


def single_profile(path) -> dict:
    """Profile a file in one pass."""
    options = registry.get("csv-profile").validate({})
    return csv_profile.work(path, path.parent, options, Progress(is_cancelled=lambda: False))


def assert_same_profile(parted: dict, whole: dict) -> None:
    """Every field equal, the mean and the deviation to the bit (exact sums merge exactly)."""
    assert {k: v for k, v in parted.items() if k != "columns"} == {
        k: v for k, v in whole.items() if k != "columns"
    }
    for mine, theirs in zip(parted["columns"], whole["columns"], strict=True):
        for field, value in theirs.items():
            assert mine[field] == value, (mine["name"], field)


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_split_profile_equals_single_pass(tmp_path, parts):
    """A CSV with quoted line breaks, cut in parts: the merge equals the one-pass profile."""
    path = tmp_path / "quoted.csv"
    path.write_bytes(quoted_csv(3000))
    parted, cut = split_profile(path, parts)
    assert len(cut) == parts - 1
    assert_same_profile(parted, single_profile(path))


def test_a_part_of_another_version_fails_the_merge_with_a_sentence(tmp_path):
    """Parts made by workers of another version (a deploy rolling out) are not merged as if
    they were alike: the job fails saying why, and what to do."""
    path = tmp_path / "quoted.csv"
    path.write_bytes(quoted_csv(300))
    context = csv_profile_split.prepare(path, {"delimiter": "auto", "header": "auto"})
    state = csv_profile_split.part(
        path, 0, path.stat().st_size, 0, context, Progress(is_cancelled=lambda: False)
    )
    older = {k: v for k, v in state.items() if k != "version"}
    with pytest.raises(registry.ProcessorError, match="another version of Taskboard"):
        csv_profile_split.merge([older], context)


def test_cuts_skip_line_breaks_inside_quotes(tmp_path):
    """A target inside a quoted field moves on to the end of that record."""
    path = tmp_path / "a.csv"
    path.write_bytes(b'a,b\n1,"x\ny\nz"\n2,w\n')
    context = csv_profile_split.prepare(path, {})
    target = path.read_bytes().index(b"y")
    assert csv_profile_split.cuts(path, context, [target]) == [path.read_bytes().index(b"2,w")]


def test_unpaired_quotes_are_not_cut(tmp_path):
    """A file with an odd number of quotes is left whole."""
    path = tmp_path / "a.csv"
    path.write_bytes(b'a,b\n1,x"y\n2,w\n3,v\n')
    assert csv_profile_split.cuts(path, csv_profile_split.prepare(path, {}), [8]) == []


def test_sketched_columns_merge_as_estimates(tmp_path, monkeypatch):
    """Past the exact bound, the merged profile's distinct count is an estimate, flagged so."""
    path = tmp_path / "many.csv"
    path.write_bytes(b"v\n" + b"".join(b"%d\n" % i for i in range(5000)))
    # Each column counts at most 50 values exactly (the default limit is 10,000).
    monkeypatch.setattr(sketches.ValueCounts.__init__, "__defaults__", (50,))
    parted, _ = split_profile(path, 4)
    column = parted["columns"][0]
    assert column["distinct_exact"] is False
    assert 4000 < column["distinct"] < 6000
    assert column["min"] == 0 and column["max"] == 4999 and column["nulls"] == 0


def test_split_and_one_task_estimate_the_same_distinct_count(tmp_path, monkeypatch):
    """Hash values alike in one task and in every part: the merged estimate is the one task's."""
    path = tmp_path / "many.csv"
    path.write_bytes(b"v,w\n" + b"".join(b"%d,x%d\n" % (i, i % 3000) for i in range(20000)))
    monkeypatch.setattr(sketches.ValueCounts.__init__, "__defaults__", (50,))
    parted, _ = split_profile(path, 4)
    whole = single_profile(path)
    estimates = [
        [(c["distinct"], c["distinct_exact"]) for c in r["columns"]] for r in (parted, whole)
    ]
    assert estimates[0] == estimates[1]
    assert not any(exact for _, exact in estimates[0])


@pytest.mark.parametrize(
    ("size", "parallel", "parts"),
    [
        (10 * 1024 * 1024, True, 1),  # small files are not split
        (200 * 1024 * 1024, True, 6),
        (10 * 1024 * 1024, 4, 4),
        (100 * 1024, 8, 1),  # parts of at least 64 KiB
        (10 * 1024**4, True, 64),
        (10 * 1024 * 1024, False, 1),
    ],
)
def test_parts_wanted(size, parallel, parts):
    """How many parts a file is cut into for each value of the option."""
    assert split.parts_wanted(size, parallel) == parts
