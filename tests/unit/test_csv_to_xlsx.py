"""The csv-to-xlsx processor: typed cells, a bold frozen header, sheets past Excel's row limit."""

from __future__ import annotations

import zipfile
from datetime import datetime

import openpyxl
import pytest

from tasks import registry
from tasks.formats import FormatError
from tasks.processors import csv_to_xlsx
from tasks.progress import Cancelled
from tasks.progress import Progress

PEOPLE = (
    "name;age;height;member;joined;zip\n"
    "Ana;34;1.62;true;2021-05-04;01234\n"
    "Bo;;1.8;FALSE;2020-01-31T09:15:00;98765\n"
    "Cy;7;-0.5;false;;\n"
)


@pytest.fixture
def convert(tmp_path, progress):
    """Convert text (or bytes) to a workbook; return the result and the workbook read back."""

    def run(content: bytes | str, **options):
        """Write the content as the upload, convert it and read the workbook back."""
        src = tmp_path / "input"
        src.write_bytes(content.encode() if isinstance(content, str) else content)
        out = tmp_path / "output"
        out.mkdir()
        options = registry.get("csv-to-xlsx").validate(options)
        result = csv_to_xlsx.work(src, out, options, progress)
        assert sorted(p.name for p in out.iterdir()) == [result["output"]]
        return result, openpyxl.load_workbook(out / result["output"])

    return run


def values(sheet) -> list[list]:
    """Return a sheet's cell values row by row."""
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_cells_have_real_types(convert):
    """Write numbers, booleans, dates and text as typed cells."""
    result, book = convert(PEOPLE)
    assert result == {
        "encoding": "utf-8",
        "delimiter": ";",
        "header": True,
        "output": "workbook.xlsx",
        "rows": 3,
        "columns": 6,
        "sheets": 1,
        "malformed": {"count": 0, "lines": []},
        "cells_cleaned": 0,
        "cells_truncated": 0,
    }
    assert values(book.active) == [
        ["name", "age", "height", "member", "joined", "zip"],
        ["Ana", 34, 1.62, True, datetime(2021, 5, 4), "01234"],
        ["Bo", None, 1.8, False, datetime(2020, 1, 31, 9, 15), 98765],
        ["Cy", 7, -0.5, False, None, None],
    ]
    row = list(book.active.iter_rows(min_row=2, max_row=2))[0]
    assert [c.data_type for c in row] == ["s", "n", "n", "b", "d", "s"]
    assert row[4].is_date


def test_header_row_is_bold_and_frozen(convert):
    """Make the header row bold and freeze it."""
    _, book = convert(PEOPLE)
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert not any(cell.font.b for cell in sheet[2])


def test_without_header_nothing_is_bold_or_frozen(convert):
    """Leave a headerless sheet plain and unfrozen."""
    result, book = convert("1,2\n3,4\n")
    assert result["header"] is False
    assert values(book.active) == [[1, 2], [3, 4]]
    assert book.active.freeze_panes is None


def test_rows_past_the_sheet_limit_continue_on_new_sheets(convert, monkeypatch):
    """Continue past the sheet row limit on new sheets, each with the header."""
    monkeypatch.setattr(csv_to_xlsx, "MAX_SHEET_ROWS", 4)
    text = "n,sq\n" + "".join(f"{i},{i * i}\n" for i in range(1, 8))
    result, book = convert(text)
    assert (result["rows"], result["sheets"]) == (7, 3)
    assert "3 sheets" in result["note"]
    assert [values(s) for s in book.worksheets] == [
        [["n", "sq"], [1, 1], [2, 4], [3, 9]],
        [["n", "sq"], [4, 16], [5, 25], [6, 36]],
        [["n", "sq"], [7, 49]],
    ]
    assert all(s.freeze_panes == "A2" and s["A1"].font.b for s in book.worksheets)


def test_latin1_file_converts(convert):
    """Convert a Latin-1 file with its accents intact."""
    result, book = convert("ville,n\nZürich,1\n".encode("latin-1"))
    assert result["encoding"] == "cp1252"
    assert values(book.active)[1] == ["Zürich", 1]


def test_text_excel_cannot_hold_is_cleaned_and_counted(convert, monkeypatch):
    """Remove control characters and cut overlong text, counting both."""
    monkeypatch.setattr(csv_to_xlsx, "MAX_CELL_CHARS", 5)
    result, book = convert("a,b\nbel\x07l,abcdefgh\n")
    assert (result["cells_cleaned"], result["cells_truncated"]) == (1, 1)
    assert values(book.active)[1] == ["bell", "abcde"]


def test_huge_integers_stay_text_so_no_digit_is_lost(convert):
    """Keep integers beyond 15 digits as text."""
    _, book = convert("id\n123456789012345678\n42\n")
    assert values(book.active)[1:] == [["123456789012345678"], [42]]


def test_malformed_rows_are_written_and_reported(convert):
    """Write ragged rows as they are and report their lines."""
    result, book = convert("a,b\n1,2\n3\n4,5,6\n")
    assert result["malformed"] == {"count": 2, "lines": [3, 4]}
    assert values(book.active) == [["a", "b", None], [1, 2, None], [3, None, None], [4, 5, 6]]


def test_header_only_file_gives_a_sheet_with_the_header(convert):
    """Make a sheet holding only the header for a header-only file."""
    result, book = convert("a,b\n")
    assert (result["rows"], result["sheets"]) == (0, 1)
    assert values(book.active) == [["a", "b"]]


def test_progress_counts_rows_and_keeps_a_share_for_the_save(convert, stores):
    """Progress counts rows out of the counted rows plus the save's share of the work, so the
    bar stands short of 100 % while the workbook is saved; at the end it is the rows, whole."""
    convert("a\n" + "1\n" * 1000)
    assert stores[-1]["current"] == stores[-1]["total"] == 1000
    working = [s for s in stores if s["message"] not in ("counting rows",) and s != stores[-1]]
    assert {s["total"] for s in working} == {1136}  # 1,000 rows are 88 % of the work
    (saving,) = [s for s in stores if s["message"] == "saving the workbook"]
    assert saving["current"] == 1000 and saving["current"] / saving["total"] < 0.9
    assert [s["current"] for s in working] == sorted(s["current"] for s in working)


def test_cancel_stops_converting(tmp_path):
    """Stop converting when the job is cancelled."""
    src = tmp_path / "input"
    src.write_text(PEOPLE)
    progress = Progress(store=lambda meta: None, is_cancelled=lambda: True, interval=0)
    with pytest.raises(Cancelled):
        csv_to_xlsx.work(src, tmp_path, {}, progress)


def test_too_many_columns_are_refused(convert):
    """Refuse more columns than Excel holds."""
    with pytest.raises(FormatError, match="16,384 columns"):
        convert(",".join("x" * (csv_to_xlsx.MAX_COLUMNS + 1)) + "\n")


@pytest.mark.parametrize(
    "text",
    [
        "=1+2",
        '=HYPERLINK("http://example.com","click")',
        "=cmd|' /C calc'!A0",
        "+cmd",
        "-x",
        "@SUM(A1)",
        "#N/A",
        "#REF!",
    ],
)
def test_formula_like_text_stays_plain_text(convert, text):
    """Store text that looks like a formula or an error as the very same text."""
    quoted = '"' + text.replace('"', '""') + '"'
    _, book = convert(f"{quoted},n\n{quoted},1\n", header="yes")
    header, row = book.active.iter_rows(max_row=2)
    for cell in (header[0], row[0]):
        assert (cell.value, cell.data_type) == (text, "s")
        assert cell.quotePrefix
    assert (row[1].value, row[1].data_type) == (1, "n")


def test_signed_numbers_stay_numbers(convert):
    """Keep numbers with a sign as numbers, without a quote prefix."""
    _, book = convert("a,b,c\n-3,+4,-0.5\n")
    row = list(book.active.iter_rows(min_row=2))[0]
    assert [(c.value, c.data_type, c.quotePrefix) for c in row] == [
        (-3, "n", False),
        (4, "n", False),
        (-0.5, "n", False),
    ]


def test_text_is_written_inline_without_shared_strings(tmp_path, convert):
    """Write text as inline strings, so no shared-strings table grows in memory."""
    result, _ = convert("name,city\n" + "".join(f"n{i},c{i}\n" for i in range(100)))
    with zipfile.ZipFile(tmp_path / "output" / result["output"]) as xlsx:
        assert "xl/sharedStrings.xml" not in xlsx.namelist()
        sheet = xlsx.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count('t="inlineStr"') == 2 * 101


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            "a,b\n1,2\n",
            ["saving the workbook (1 row)"],
        ),
        (
            "a,b\n1,2\n3\n4,5\n",
            ["1 malformed row skipped (first at line 3)", "saving the workbook (3 rows)"],
        ),
    ],
    ids=["one row", "several"],
)
def test_log_counts_agree_with_their_nouns(convert, progress, content, said):
    """The job's log says "1 row", never "1 rows"."""
    convert(content)
    logged = [message for _, message in progress.lines]
    assert all(line in logged for line in said), logged
    assert not any(line.startswith("1 ") and " rows" in line for line in logged), logged
