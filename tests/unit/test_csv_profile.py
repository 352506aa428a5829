"""The csv-profile processor: exact profiles of small files, detection, and hostile input."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tasks.formats import FormatError
from tasks.formats import csvio
from tasks.formats import sketches
from tasks.processors import csv_profile
from tasks.progress import Cancelled
from tasks.progress import Progress
from tests.unit.golden import rounded_moments

SALES = (
    "id,city,amount,paid,day,note\n"
    "1,Paris,10.5,true,2024-01-02,\n"
    "2,Rome,3,false,2024-02-29,late\n"
    "3,Paris,-2.25,TRUE,2023-12-31,\n"
    "4,Oslo,100,false,2024-03-01T08:30:00,NULL\n"
    "5,Paris,0,true,2024-01-15,ok\n"
)


def column(result: dict, name: str) -> dict:
    """Return one column's profile by name."""
    return next(c for c in result["columns"] if c["name"] == name)


def test_profile_of_a_small_file_is_exact(profile):
    """Profile a small file exactly: types, counts, stats and top values."""
    result = profile(SALES)
    assert {k: result[k] for k in ("encoding", "delimiter", "header", "rows", "bytes")} == {
        "encoding": "utf-8",
        "delimiter": ",",
        "header": True,
        "rows": 5,
        "bytes": len(SALES),
    }
    assert [c["name"] for c in result["columns"]] == ["id", "city", "amount", "paid", "day", "note"]
    assert [c["type"] for c in result["columns"]] == [
        "integer",
        "text",
        "float",
        "boolean",
        "date",
        "text",
    ]
    amounts = [10.5, 3, -2.25, 100, 0]
    assert column(result, "amount") | {"mean": 0, "stddev": 0} == {
        "name": "amount",
        "type": "float",
        "kinds": {"float": 2, "integer": 3},
        "nulls": 0,
        "distinct": 5,
        "distinct_exact": True,
        "min": -2.25,
        "max": 100.0,
        "mean": 0,
        "stddev": 0,
        "top": [{"value": v, "count": 1} for v in sorted(["10.5", "3", "-2.25", "100", "0"])],
        "top_exact": True,
    }
    amount = column(result, "amount")
    assert (amount["mean"], amount["stddev"]) == rounded_moments(amounts)
    ids = column(result, "id")
    assert (ids["min"], ids["max"], ids["mean"]) == (1, 5, 3.0)
    assert ids["stddev"] == rounded_moments([1, 2, 3, 4, 5])[1]
    city = column(result, "city")
    assert (city["distinct"], city["min"], city["mean"]) == (3, None, None)
    assert city["top"][:2] == [{"value": "Paris", "count": 3}, {"value": "Oslo", "count": 1}]
    day = column(result, "day")
    assert (day["min"], day["max"]) == ("2023-12-31", "2024-03-01T08:30:00")
    note = column(result, "note")
    assert (note["nulls"], note["distinct"]) == (3, 2)
    assert result["malformed"] == {"count": 0, "lines": []}


@pytest.mark.parametrize(
    ("content", "encoding", "city"),
    [
        ("city\nZürich\n".encode(), "utf-8", "Zürich"),
        (b"\xef\xbb\xbf" + "city\nZürich\n".encode(), "utf-8-sig", "Zürich"),
        # Latin-1 text is read as cp1252, which reads every Latin-1 letter the same.
        ("city\nZürich\n".encode("latin-1"), "cp1252", "Zürich"),
        # Plain ASCII for the whole sample, Latin-1 only far past it: the whole file decides.
        (b"city\n" + b"Oslo\n" * 20000 + "Zürich\n".encode("latin-1"), "cp1252", "Zürich"),
    ],
    ids=["utf-8", "utf-8 with BOM", "latin-1", "latin-1 past the sample"],
)
def test_encoding_is_detected(profile, content, encoding, city):
    """Detect UTF-8, UTF-8 with BOM and Latin-1 (as cp1252), even past the sample."""
    result = profile(content)
    assert result["encoding"] == encoding
    assert result["columns"][0]["name"] == "city"
    assert city in [t["value"] for t in result["columns"][0]["top"]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(profile, delimiter):
    """Detect comma, semicolon, tab and pipe delimiters."""
    text = SALES.replace(",", delimiter)
    result = profile(text)
    assert (result["delimiter"], len(result["columns"]), result["rows"]) == (delimiter, 6, 5)


def test_semicolon_file_with_commas_in_text(profile):
    """Prefer the consistent semicolon over commas inside text."""
    result = profile("name;note\nA;hello, world\nB;one, two, three\nC;plain\n")
    assert (result["delimiter"], result["rows"]) == (";", 3)


@pytest.mark.parametrize(
    ("text", "options", "header", "names"),
    [
        ("a,b\n1,2\n", {}, True, ["a", "b"]),
        ("1,2\n3,4\n", {}, False, ["column_1", "column_2"]),
        ("a,a\n1,2\n", {}, True, ["a", "a_2"]),
        ("a,b\n1,2\n", {"header": "no"}, False, ["column_1", "column_2"]),
        ("1,2\n3,4\n", {"header": "yes"}, True, ["1", "2"]),
    ],
)
def test_header_is_detected_or_set(profile, text, options, header, names):
    """Guess the header row, or take the option's word for it."""
    result = profile(text, **options)
    assert (result["header"], [c["name"] for c in result["columns"]]) == (header, names)


def test_malformed_rows_are_counted_with_their_line_numbers(profile):
    """Count malformed rows and give the physical lines they start on."""
    text = 'a,b\n1,2\n3\n"multi\nline",4\n5,6,7\n\n8,9\n10\n'
    result = profile(text)
    assert result["rows"] == 3
    # The quoted field spans lines 4 and 5, so the next record starts on line 6.
    assert result["malformed"] == {"count": 3, "lines": [3, 6, 9]}


def test_first_malformed_lines_are_bounded(profile):
    """List only the first few malformed lines."""
    result = profile("a,b\n" + "1\n" * 50)
    assert result["malformed"]["count"] == 50
    assert result["malformed"]["lines"] == list(range(2, 2 + csv_profile.MALFORMED_LINES_SHOWN))


def test_distinct_count_becomes_an_estimate_past_the_bound(profile):
    """Estimate the distinct count within a few percent past the exact bound."""
    n = 20_000
    result = profile("v\n" + "".join(f"k{i}\n" for i in range(n)))
    v = result["columns"][0]
    assert v["distinct_exact"] is False
    assert abs(v["distinct"] - n) / n < 0.15


def test_top_values_find_the_heavy_hitter_in_many_distinct(profile):
    """Find a frequent value among many distinct ones, marked approximate."""
    n = 3 * sketches.EXACT_VALUES
    rows = [f"u{i}" if i % 3 else "common" for i in range(n)]
    v = profile("v\n" + "\n".join(rows) + "\n")["columns"][0]
    assert v["top"][0]["value"] == "common"
    assert v["top_exact"] is False
    assert v["top"][0]["count"] <= n // 3


def test_empty_and_null_only_columns(profile):
    """Type a column of only nulls as empty and count its nulls."""
    result = profile("a,b\n1,\n2,null\n")
    assert (column(result, "b")["type"], column(result, "b")["nulls"]) == ("empty", 2)


def test_progress_is_in_bytes_up_to_the_size(profile, stores):
    """Report progress in bytes, rising to the file's size."""
    text = "a,b\n" + "1,2\n" * 5000
    profile(text)
    assert stores[-1]["current"] == stores[-1]["total"] == len(text)
    currents = [s["current"] for s in stores]
    assert currents == sorted(currents)


def test_cancel_stops_profiling(tmp_path):
    """Stop profiling when the job is cancelled."""
    src = tmp_path / "input"
    src.write_text(SALES)
    progress = Progress(store=lambda meta: None, is_cancelled=lambda: True, interval=0)
    with pytest.raises(Cancelled):
        csv_profile.work(src, tmp_path, {}, progress)


HOSTILE = {
    "too many columns": ",".join(f"c{i}" for i in range(csv_profile.MAX_COLUMNS + 1)) + "\n",
    "enormous line": "a,b\n" + "x" * (csvio.MAX_LINE_BYTES + 10),
    "enormous line, then more": "a,b\n" + "x" * (csvio.MAX_LINE_BYTES + 10) + "\n1,2\n",
    "no line breaks at all": "x" * (3 * csvio.MAX_LINE_BYTES),
    "enormous field": 'a,b\n"' + "y" * (csvio.MAX_FIELD_CHARS + 10) + '\n",1\n',
    "bom then not utf-8": b"\xef\xbb\xbfa\n" + b"x\n" * 40000 + b"\xff\n",
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_files_are_refused_with_a_message(profile, content):
    """Refuse hostile files with a readable message."""
    with pytest.raises(FormatError) as caught:
        profile(content)
    assert str(caught.value)[0].isupper()


def test_the_first_fault_in_record_order_is_reported(profile):
    """Report a too-wide row before the bad bytes after it, though the text is read ahead."""
    wide = b",".join([b"x"] * 600)
    content = b"\xef\xbb\xbfa,b\n1,2\n" + wide + b"\n" + b"3,4\n" * 5000 + b"\xff\n"
    with pytest.raises(FormatError, match="^Line 3 has 600 fields"):
        profile(content)


@pytest.mark.parametrize(
    "days",
    [
        ["2024-01-01", "2024-01-01 00:00:00"],
        ["2024-01-01 00:00:00", "2024-01-01"],
        ["2024-01-01T00:00:00", "2023-12-31", "2024-01-01", "2024-01-02"],
    ],
)
def test_a_date_and_a_datetime_on_the_same_day(profile, days):
    """Order a date and a midnight date-time of the same day, the date first."""
    day = profile("day\n" + "\n".join(days) + "\n")["columns"][0]
    assert day["type"] == "date"
    first = "2023-12-31" if "2023-12-31" in days else "2024-01-01"
    last = "2024-01-02" if "2024-01-02" in days else "2024-01-01T00:00:00"
    assert (day["min"], day["max"]) == (first, last)


@pytest.mark.parametrize("n", [1023, 1024, 1025, 2000, sketches.EXACT_VALUES])
def test_distinct_count_is_exact_up_to_the_bound(profile, n):
    """Count distinct values exactly, and say so, up to and including the bound."""
    v = profile("v\n" + "".join(f"{i}\n" for i in range(n)))["columns"][0]
    assert (v["distinct"], v["distinct_exact"]) == (n, True)


def test_distinct_count_is_an_estimate_just_past_the_bound(profile):
    """Mark the distinct count as an estimate from one value past the bound."""
    n = sketches.EXACT_VALUES + 1
    v = profile("v\n" + "".join(f"{i}\n" for i in range(n)))["columns"][0]
    assert v["distinct_exact"] is False
    assert abs(v["distinct"] - n) / n < 0.15


def test_distinct_count_is_an_estimate_when_values_outgrow_their_memory(profile, monkeypatch):
    """Sketch a column whose long values would take more than its share of memory."""
    monkeypatch.setattr(csv_profile, "EXACT_BYTES", 200_000)
    n = 2 * sketches.DISTINCT_K
    v = profile("v\n" + "".join(f"{i:0500d}\n" for i in range(n)))["columns"][0]
    assert v["distinct_exact"] is False
    assert abs(v["distinct"] - n) / n < 0.15


def test_top_values_are_exact_while_values_fit(profile):
    """Give the five most common values with exact counts, ties in value order."""
    rows = [f"v{i}" for i in range(200) for _ in range(10)]
    random.Random(3).shuffle(rows)
    v = profile("v\n" + "\n".join(rows) + "\n")["columns"][0]
    assert v["top"] == [{"value": f"v{i}", "count": 10} for i in (0, 1, 10, 100, 101)]
    assert v["top_exact"] is True


@pytest.mark.parametrize("batch_rows", [3, 1000, csv_profile.BATCH_ROWS])
def test_mean_and_deviation_are_exact_whatever_the_batches(profile, monkeypatch, batch_rows):
    """Give the exact mean and deviation rounded once, for any batch size."""
    monkeypatch.setattr(csv_profile, "BATCH_ROWS", batch_rows)
    rng = random.Random(9)
    numbers = [
        rng.choice([rng.randint(-50, 50), round(rng.uniform(-1e6, 1e6), 3)]) for _ in range(5000)
    ]
    v = profile("v\n" + "".join(f"{x}\n" for x in numbers))["columns"][0]
    assert (v["mean"], v["stddev"]) == rounded_moments(numbers)


def test_top_values_of_a_skewed_column_across_batches(profile, monkeypatch):
    """Count values exactly over many batches and rank them by count, then by value."""
    monkeypatch.setattr(csv_profile, "BATCH_ROWS", 1024)
    rows = [f"w{i}" for i in range(500) for _ in range(i % 17 + 1)]
    random.Random(5).shuffle(rows)
    assert len(rows) > 2 * csv_profile.BATCH_ROWS
    v = profile("v\n" + "\n".join(rows) + "\n")["columns"][0]
    ranked = sorted(Counter(rows).items(), key=lambda item: (-item[1], item[0]))
    assert v["top"] == [{"value": value, "count": count} for value, count in ranked[:5]]
    assert v["top_exact"] is True


def test_top_values_of_an_all_unique_column(profile):
    """List five values of an all-unique column, the smallest first, each counted once."""
    v = profile("v\n" + "".join(f"{i}\n" for i in range(2000)))["columns"][0]
    assert v["top"] == [{"value": s, "count": 1} for s in ["0", "1", "10", "100", "1000"]]
    assert v["top_exact"] is True
