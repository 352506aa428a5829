"""The csv-profile processor: exact profiles of small files, detection, and hostile input."""

from __future__ import annotations

import statistics

import pytest

from tasks import csv_profile
from tasks import csvio
from tasks.progress import Cancelled
from tasks.progress import Progress
from tasks.registry import ProcessorError

SALES = (
    "id,city,amount,paid,day,note\n"
    "1,Paris,10.5,true,2024-01-02,\n"
    "2,Rome,3,false,2024-02-29,late\n"
    "3,Paris,-2.25,TRUE,2023-12-31,\n"
    "4,Oslo,100,false,2024-03-01T08:30:00,NULL\n"
    "5,Paris,0,true,2024-01-15,ok\n"
)


@pytest.fixture
def stores() -> list[dict]:
    """Collect the progress updates a work function stores."""
    return []


@pytest.fixture
def progress(stores) -> Progress:
    """Make a progress reporter that stores every update and is never cancelled."""
    return Progress(store=stores.append, is_cancelled=lambda: False, interval=0)


@pytest.fixture
def profile(tmp_path, progress):
    """Profile bytes (or text, as UTF-8) with the given options and return the result."""

    def run(content: bytes | str, **options) -> dict:
        src = tmp_path / "input"
        src.write_bytes(content.encode() if isinstance(content, str) else content)
        return csv_profile.work(src, tmp_path, csv_profile.PROCESSOR.validate(options), progress)

    return run


def column(result: dict, name: str) -> dict:
    """Return one column's profile by name."""
    return next(c for c in result["columns"] if c["name"] == name)


def test_profile_of_a_small_file_is_exact(profile):
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
    assert column(result, "amount")["mean"] == pytest.approx(statistics.mean(amounts), rel=1e-12)
    assert column(result, "amount")["stddev"] == pytest.approx(statistics.stdev(amounts), rel=1e-12)
    ids = column(result, "id")
    assert (ids["min"], ids["max"], ids["mean"]) == (1, 5, 3.0)
    assert ids["stddev"] == pytest.approx(statistics.stdev([1, 2, 3, 4, 5]), rel=1e-12)
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
        ("city\nZürich\n".encode("latin-1"), "latin-1", "Zürich"),
        # Plain ASCII for the whole sample, Latin-1 only far past it: read again as Latin-1.
        (b"city\n" + b"Oslo\n" * 20000 + "Zürich\n".encode("latin-1"), "latin-1", "Zürich"),
    ],
    ids=["utf-8", "utf-8 with BOM", "latin-1", "latin-1 past the sample"],
)
def test_encoding_is_detected(profile, content, encoding, city):
    result = profile(content)
    assert result["encoding"] == encoding
    assert result["columns"][0]["name"] == "city"
    assert city in [t["value"] for t in result["columns"][0]["top"]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(profile, delimiter):
    text = SALES.replace(",", delimiter)
    result = profile(text)
    assert (result["delimiter"], len(result["columns"]), result["rows"]) == (delimiter, 6, 5)


def test_semicolon_file_with_commas_in_text(profile):
    result = profile("name;note\nA;hello, world\nB;one, two, three\nC;plain\n")
    assert (result["delimiter"], result["rows"]) == (";", 3)


@pytest.mark.parametrize(
    ("text", "options", "header", "names"),
    [
        ("a,b\n1,2\n", {}, True, ["a", "b"]),
        ("1,2\n3,4\n", {}, False, ["column_1", "column_2"]),
        ("a,a\n1,2\n", {}, False, ["column_1", "column_2"]),
        ("a,b\n1,2\n", {"header": "no"}, False, ["column_1", "column_2"]),
        ("1,2\n3,4\n", {"header": "yes"}, True, ["1", "2"]),
    ],
)
def test_header_is_detected_or_set(profile, text, options, header, names):
    result = profile(text, **options)
    assert (result["header"], [c["name"] for c in result["columns"]]) == (header, names)


def test_malformed_rows_are_counted_with_their_line_numbers(profile):
    text = 'a,b\n1,2\n3\n"multi\nline",4\n5,6,7\n\n8,9\n10\n'
    result = profile(text)
    assert result["rows"] == 3
    # The quoted field spans lines 4 and 5, so the next record starts on line 6.
    assert result["malformed"] == {"count": 3, "lines": [3, 6, 9]}


def test_first_malformed_lines_are_bounded(profile):
    result = profile("a,b\n" + "1\n" * 50)
    assert result["malformed"]["count"] == 50
    assert result["malformed"]["lines"] == list(range(2, 2 + csv_profile.MALFORMED_LINES_SHOWN))


def test_distinct_count_becomes_an_estimate_past_the_bound(profile):
    n = 20_000
    result = profile("v\n" + "".join(f"k{i}\n" for i in range(n)))
    v = result["columns"][0]
    assert v["distinct_exact"] is False
    assert abs(v["distinct"] - n) / n < 0.15


def test_top_values_find_the_heavy_hitter_in_many_distinct(profile):
    rows = [f"u{i}" if i % 3 else "common" for i in range(6000)]
    v = profile("v\n" + "\n".join(rows) + "\n")["columns"][0]
    assert v["top"][0]["value"] == "common"
    assert v["top_exact"] is False
    assert v["top"][0]["count"] <= 2000


def test_empty_and_null_only_columns(profile):
    result = profile("a,b\n1,\n2,null\n")
    assert (column(result, "b")["type"], column(result, "b")["nulls"]) == ("empty", 2)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("42", "integer"),
        ("-7", "integer"),
        ("007", "text"),
        ("1234567890123456789", "text"),
        ("3.14", "float"),
        ("1e5", "float"),
        ("1e999", "text"),
        ("nan", "text"),
        ("True", "boolean"),
        ("2024-02-30", "text"),
        ("2024-02-29", "date"),
        ("2024-02-29 10:00", "date"),
        ("2024-02-29T10:00:00+02:00", "text"),
        ("N/A", "null"),
        ("  ", "null"),
    ],
)
def test_cell_kinds(value, kind):
    assert csvio.parse(value)[0] == kind


def test_progress_is_in_bytes_up_to_the_size(profile, stores):
    text = "a,b\n" + "1,2\n" * 5000
    profile(text)
    assert stores[-1]["current"] == stores[-1]["total"] == len(text)
    currents = [s["current"] for s in stores]
    assert currents == sorted(currents)


def test_cancel_stops_profiling(tmp_path):
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
    with pytest.raises(ProcessorError) as caught:
        profile(content)
    assert str(caught.value)[0].isupper()


@pytest.mark.parametrize(
    "values",
    [
        ["1", "-2", "30"],
        ["1.5", "2e3", ".5"],
        ["alpha", "Beta", "ünïcode"],
        ["1", "2.5"],
        ["1\n2", "3"],
        [" 5", "6"],
        ["1_000", "2"],
        ["１２", "3"],
        ["1e999", "1.0"],
        ["word", "NULL"],
        ["word", " "],
        ["word", "true"],
        ["word", "2024-01-01"],
        ["word", "line\n42"],
        ["007", "8"],
    ],
)
def test_batch_parse_agrees_with_cell_parse(values):
    batch = csvio.parse_batch(values)
    if batch is not None:
        kind, typed = batch
        assert [csvio.parse(v) for v in values] == [(kind, t) for t in typed]
