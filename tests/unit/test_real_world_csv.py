"""CSV files as people write them: encodings, dialects, headers, small files, progress, old dates.

The files in tests/cases/ are small inputs of each kind of fault, with their right answers.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from tasks import registry
from tasks.formats import FormatError
from tasks.formats import csvformat
from tasks.formats import csvio
from tasks.formats import encodings
from tasks.processors import csv_to_xlsx
from tasks.progress import Cancelled
from tasks.progress import Progress

CASES = Path(__file__).parent.parent / "cases"


@pytest.fixture
def convert(tmp_path, progress):
    """Convert bytes (or text) to a workbook; return the result and the workbook read back."""

    def run(content: bytes | str, **options):
        """Write the content as the upload, convert it and read the workbook back."""
        src = tmp_path / "input"
        src.write_bytes(content.encode() if isinstance(content, str) else content)
        out = tmp_path / "output"
        out.mkdir(exist_ok=True)
        options = registry.get("csv-to-xlsx").validate(options)
        result = csv_to_xlsx.work(src, out, options, progress)
        return result, openpyxl.load_workbook(out / result["output"])

    return run


def case(name: str) -> bytes:
    """Return the bytes of one of the small files in tests/cases/."""
    return (CASES / name).read_bytes()


def column(result: dict, name: str) -> dict:
    """Return one column's profile by name."""
    return next(c for c in result["columns"] if c["name"] == name)


def texts(result: dict) -> set[str]:
    """Return every top value of every column of a profile."""
    return {t["value"] for c in result["columns"] for t in c["top"]}


# Text in the encodings people's files come in, each with words only that encoding reads right.
ENCODED = {
    "cp1252": "Café crème,“house blend” – 5 € off,it’s fine",
    "cp1250": "Łódź,Zażółć gęślą jaźń,Příliš žluťoučký kůň",
    "cp1251": "Москва,Привет мир,Санкт-Петербург",
    "iso-8859-7": "Αθήνα,Καλημέρα κόσμε,Θεσσαλονίκη",
    "cp950": "台北市,中文字,公司名稱",
}


@pytest.mark.parametrize(("encoding", "text"), ENCODED.items(), ids=ENCODED.keys())
def test_legacy_encodings_are_read_right_and_named(profile, encoding, text):
    """Read Windows, Central European, Cyrillic, Greek and Big5 text as it was written."""
    content = f"a,b,c\n{text}\n{text}\n".encode(encoding)
    result = profile(content)
    assert result["encoding"] == encoding
    assert texts(result) == set(text.split(","))


def test_windows_1252_case_reads_exactly(profile):
    """Read the cp1252 case's curly quotes, dashes and euro sign exactly, no control characters."""
    result = profile(case("windows-1252.csv"))
    assert result["encoding"] == "cp1252"
    assert {"Café crème", "“house blend” – 5 € off", "it’s fine"} <= texts(result)
    assert not any(any(0x80 <= ord(c) < 0xA0 for c in t) for t in texts(result))


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_text(profile, codec):
    """Take Excel's "Unicode Text" (UTF-16 with a BOM): accepted by content, read right."""
    content = "\ufeffname\tcity\nAna\tZürich\nBo\t東京\n".encode(codec)
    assert csvformat.sniff(content) is None
    result = profile(content)
    assert (result["encoding"], result["delimiter"], result["rows"]) == ("utf-16", "\t", 2)
    assert texts(result) >= {"Zürich", "東京"}


def test_forced_encoding_is_used(profile):
    """Read the file in the encoding the option names, whatever detection would say."""
    result = profile("x\nŁódź\nŁódź\n".encode("iso-8859-2"), encoding="iso-8859-2")
    assert result["encoding"] == "iso-8859-2"
    assert texts(result) == {"Łódź"}


def test_bytes_the_forced_encoding_cannot_read_are_refused_with_a_sentence(profile):
    """Refuse, naming the encoding, when the forced one cannot read the bytes."""
    with pytest.raises(FormatError, match="not utf-8 text"):
        profile("x\ncafé\n".encode("cp1252"), encoding="utf-8")


def test_garbled_bytes_are_refused_not_guessed(profile):
    """Refuse a file that no common encoding reads cleanly, saying so."""
    content = b"a,b\n" + b"\x89\xdb\xaa\x81\x8d\x9d\xfe,\xfe\x89\xdb\n" * 5
    with pytest.raises(FormatError, match="no common encoding"):
        profile(content)


def test_czech_read_cleanly_by_both_code_pages_is_czech(profile):
    """Read "Dvořák", not "Dvoøák": ø and á are letters of no one language's word."""
    result = profile("name\nDvořák\nBrno\n".encode("cp1250"))
    assert result["encoding"] == "cp1250"
    assert "encoding_note" not in result
    assert texts(result) == {"Dvořák", "Brno"}


def test_unknown_encoding_option_is_refused():
    """Refuse an encoding name the processor does not know, before any work."""
    with pytest.raises(registry.OptionsError):
        registry.get("csv-profile").validate({"encoding": "klingon"})


def test_semicolon_file_with_decimal_commas_and_a_header(profile):
    """Split on ';', keep 'Betrag (EUR, brutto)' whole, and type 12,50 as 12.5."""
    result = profile(case("semicolon-decimal-comma-header.csv"))
    assert (result["delimiter"], result["header"], result["rows"]) == (";", True, 4)
    assert result["decimal"] == ","
    assert [c["name"] for c in result["columns"]] == ["Betrag (EUR, brutto)", "Anzahl"]
    amount = column(result, "Betrag (EUR, brutto)")
    assert (amount["type"], amount["min"], amount["max"]) == ("float", 3.25, 100.0)
    assert amount["mean"] == pytest.approx((12.5 + 7.99 + 100 + 3.25) / 4)
    assert {t["value"] for t in amount["top"]} == {"12,50", "7,99", "100,00", "3,25"}


def test_semicolon_file_with_decimal_commas_and_no_header(profile):
    """Split on ';' and see that 0,12 is a value, not a column's name."""
    result = profile(case("semicolon-decimal-comma-no-header.csv"))
    assert (result["delimiter"], result["header"], result["rows"]) == (";", False, 4)
    assert [c["type"] for c in result["columns"]] == ["float"] * 3


def test_excel_sep_line_sets_the_delimiter_and_is_no_data(profile, convert):
    """Take Excel's 'sep=;' line as the delimiter, not as the header or a row."""
    result = profile(case("excel-sep-hint.csv"))
    assert (result["delimiter"], result["header"], result["rows"]) == (";", True, 3)
    assert [c["name"] for c in result["columns"]] == ["name", "city", "amount"]
    assert result["malformed"]["count"] == 0
    result, book = convert(case("excel-sep-hint.csv"))
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[0] == ["name", "city", "amount"]
    assert rows[1:] == [["Anna", "Lyon", 12.5], ["Ben", "Nice", 7.25], ["Cleo", "Metz", 3]]


def test_pandas_index_header_is_a_header(profile):
    """Take ',name,amount' (an empty first name over an index) as the header."""
    result = profile(case("header-pandas-index.csv"))
    assert result["header"] is True
    assert [(c["name"], c["type"]) for c in result["columns"]] == [
        ("", "integer"),
        ("name", "text"),
        ("amount", "float"),
    ]
    assert (column(result, "amount")["min"], column(result, "amount")["max"]) == (3.0, 12.5)


def test_repeated_names_are_a_header_told_apart(profile):
    """Take 'date,amount,amount' as the header, the second amount named amount_2."""
    result = profile(case("header-repeated-name.csv"))
    assert result["header"] is True
    assert [(c["name"], c["type"]) for c in result["columns"]] == [
        ("date", "date"),
        ("amount", "float"),
        ("amount_2", "float"),
    ]


def test_years_over_amounts_are_a_header(profile):
    """Take 'country,2022,2023' as the header: 2022 names a column of amounts."""
    result = profile(case("header-years.csv"))
    assert result["header"] is True
    assert [c["name"] for c in result["columns"]] == ["country", "2022", "2023"]
    y2022 = column(result, "2022")
    assert y2022["mean"] == pytest.approx((1.5 + 3.25 + 5.5) / 3)
    assert y2022["max"] == 5.5


@pytest.mark.parametrize(
    ("text", "header"),
    [
        ("name,city,\nAna,Rome,1\nBo,Oslo,2\n", True),  # the header ends with an empty cell
        ("year,n\n2020,1\n2021,2\n", True),
        ("2020,2021\n2022,2023\n", False),  # years over years: data
        ("1,2\n3,4\n", False),
        ("a,b\nc,d\n", True),  # no evidence either way: distinct text is a header
        ("id,100022,100025\nid1,TRUE,FALSE\nid2,FALSE,TRUE\n", True),  # ids naming columns
        ("100022,100025\nTRUE,FALSE\nFALSE,TRUE\n", True),
        ("7,2024-01-05\n8,2024-01-06\n", False),  # a number over numbers: data
        ("1.5,2,3\n4,5.25,6\n7,8,9.75\n", False),  # all numbers: data
        ("100,100\nTRUE,FALSE\n", False),  # the same number twice names nothing
        ("12,x\n13,y\n", False),
    ],
)
def test_header_rules(profile, text, header):
    """Tell a header from data by comparing the first row with the rows below."""
    assert profile(text)["header"] is header


def test_small_utf8_file_with_a_stray_control_character_is_text(profile):
    """Take a 40-byte UTF-8 CSV as text, though it holds one control character."""
    content = b"name,note\nAna,ok\x1b\nBo,fine\nCy,good\n"
    assert len(content) < 100
    assert csvformat.sniff(content) is None
    assert profile(content)["rows"] == 3


def test_binary_is_still_refused():
    """Refuse bytes full of control characters, however small."""
    assert csvformat.sniff(b"\x01\x02\x03\x04abc\x05\x06") is not None


def test_progress_never_moves_back_when_the_encoding_shows_late(profile, stores):
    """Read a file whose only Latin-1 byte is far past the start in one pass, bar rising."""
    content = b"id,name\n" + b"1,plain\n" * 400_000 + b"9,caf\xe9\n"
    result = profile(content)
    assert result["encoding"] == "cp1252"
    assert "café" in texts(result)
    currents = [s["current"] for s in stores]
    assert currents == sorted(currents)
    assert currents[-1] == len(content)
    assert any(s["message"] == "checking the encoding" for s in stores)


def test_dates_before_1900_are_written_as_text(convert):
    """Write dates Excel's calendar cannot show as the text they were, later ones as dates."""
    result, book = convert(
        "event,day\nWaterloo,1815-06-18\nLanding,1969-07-20\nOld,1899-12-31T10:00:00\n"
    )
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[1] == ["Waterloo", "1815-06-18"]
    assert rows[2] == ["Landing", datetime(1969, 7, 20)]
    assert rows[3] == ["Old", "1899-12-31T10:00:00"]


def test_decimal_commas_become_numbers_in_the_workbook(convert):
    """Write 12,50 from a semicolon file as the number 12.5."""
    result, book = convert(case("semicolon-decimal-comma-header.csv"))
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[:2] == [["Betrag (EUR, brutto)", "Anzahl"], [12.5, 3]]
    assert result["rows"] == 4


def test_cp1252_text_reaches_the_workbook_exactly(convert):
    """Write cp1252 text as the characters it holds."""
    result, book = convert(case("windows-1252.csv"))
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[1][0] == "Café crème" and rows[1][2] == "“house blend” – 5 € off"
    assert result["encoding"] == "cp1252"


def test_encoding_survey_counts_lines_and_finds_late_bytes(tmp_path):
    """Count a file's lines and keep its non-UTF-8 lines in one pass."""
    path = tmp_path / "f.csv"
    path.write_bytes(b"a\n" * 10 + b"caf\xe9\nend")
    utf8, sample, lines = encodings.survey(path)
    assert (utf8, sample, lines) == (False, b"caf\xe9\n", 12)


@pytest.fixture
def system_temp(tmp_path, monkeypatch):
    """Point the system temp folder at an empty folder of the test's own."""
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_cancelled_conversion_writes_nothing_outside_its_folder(tmp_path, system_temp):
    """Keep a conversion's temporary files in its output folder, none in the system's."""
    src = tmp_path / "input"
    src.write_bytes(b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(6000)))
    out = tmp_path / "output"
    out.mkdir()
    reports = []

    def cancelled() -> bool:
        """Say the job was cancelled once it has written some rows."""
        reports.append(1)
        return len(reports) > 10

    progress = Progress(store=lambda meta: None, is_cancelled=cancelled, interval=0)
    with pytest.raises(Cancelled):
        csv_to_xlsx.work(src, out, registry.get("csv-to-xlsx").validate({}), progress)
    assert list(system_temp.iterdir()) == []
    assert list(out.iterdir())  # the partial rows, which the job's clean-up removes with out/


def test_a_failed_conversion_writes_nothing_outside_its_folder(tmp_path, system_temp, progress):
    """Fail on an oversized field late in the file, leaving nothing in the system temp folder."""
    field = b"x" * (csvio.MAX_FIELD_CHARS + 10)
    src = tmp_path / "input"
    src.write_bytes(b"id,name\n" + b"1,a\n" * 5000 + b'2,"' + field + b'"\n')
    out = tmp_path / "output"
    out.mkdir()
    with pytest.raises(FormatError, match="longer than"):
        csv_to_xlsx.work(src, out, registry.get("csv-to-xlsx").validate({}), progress)
    assert list(system_temp.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "skipped", "names"),
    [
        ("# exported by a tool\nf1,f2\n1,2\n3,4\n", 1, ["f1", "f2"]),
        ("#one:x\n#two:y\nS\tX\n1\t2\n3\t4\n", 2, ["S", "X"]),
        ("\n\nA title, of sorts\nid,a,b,c\n1,2,3,4\n5,6,7,8\n", 3, ["id", "a", "b", "c"]),
    ],
    ids=["comment", "comments", "blank lines and a title"],
)
def test_lines_before_the_table_are_skipped(profile, text, skipped, names):
    """Skip comments, blank lines and a title before the table's first row."""
    result = profile(text)
    assert (result["skipped_lines"], result["rows"], result["malformed"]["count"]) == (
        skipped,
        2,
        0,
    )
    assert [c["name"] for c in result["columns"]] == names


def test_numeric_column_names_over_other_values_are_a_header(convert):
    """Take a first row of distinct numbers (ids as column names) over booleans as the header."""
    result, book = convert("id,100022,100025\nid1,TRUE,FALSE\nid2,FALSE,TRUE\n")
    assert (result["header"], result["rows"]) == (True, 2)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows == [["id", "100022", "100025"], ["id1", True, False], ["id2", False, True]]
    assert book.active["B1"].font.b


def test_comments_before_the_table_make_later_hash_lines_comments(convert, progress):
    """Skip "#" lines in mid-file in a file that began with comments, saying how many."""
    text = "# exported by a tool\nf1,f2\n1,2\n# page 2\n3,4\n#,5\n6,7\n"
    result, book = convert(text)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows == [["f1", "f2"], [1, 2], [3, 4], [6, 7]]
    assert (result["rows"], result["malformed"]["count"], result["comments_skipped"]) == (3, 0, 2)
    assert ("info", "2 comment lines (starting with #) skipped") in progress.lines


def test_comments_are_skipped_by_the_profile_too(profile, progress):
    """Count no comment line as a row or a malformed one in the profile; log how many."""
    text = "# exported by a tool\nf1,f2\n" + "1,2\n" * 300 + "# page 2\n" + "3,4\n" * 300
    result = profile(text)
    assert (result["rows"], result["malformed"]["count"]) == (600, 0)
    assert ("info", "1 comment line (starting with #) skipped") in progress.lines
    quoted = '# tool\nf1,f2\n"a\nb",2\n# note\n3,4\n'
    result = profile(quoted)
    assert (result["rows"], result["malformed"]["count"]) == (2, 0)


def test_hash_lines_in_a_file_without_leading_comments_are_data(convert):
    """Keep a "#" line as data (a malformed row here) when the file began with its table."""
    result, book = convert("name;year\nHart;1984\n# not sure;\nLadd;1964\n# count;2\n")
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[2] == ["# not sure", None] and rows[4] == ["# count", 2]
    assert result["rows"] == 4
    assert "comments_skipped" not in result


def test_a_colon_table_is_split_on_colons_but_times_are_not(profile):
    """Split a table whose every row has the same colon-separated fields; leave times whole."""
    result = profile("city:region:population\nLyon:ARA:522000\nNice:PACA:342000\n")
    assert (result["delimiter"], len(result["columns"])) == (":", 3)
    result = profile("time\n08:30:00\n09:15:00\n")
    assert (result["delimiter"], len(result["columns"])) == (",", 1)


def test_a_quoted_header_with_vertical_tabs_is_text(profile):
    """Take white-space control characters (vertical tab, form feed) as text."""
    content = b'"a\t\n\x0b\x0c\r start \t\n\x0b\x0c\r end \t\n\x0b\x0c\r",b,c\nd,e,f\n'
    assert csvformat.sniff(content) is None
    assert profile(content)["rows"] == 1
