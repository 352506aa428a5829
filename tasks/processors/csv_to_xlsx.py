"""Convert a CSV/TSV file to an Excel workbook, streamed row by row with typed cells.

XlsxWriter's ``constant_memory`` mode writes each row as it comes to a temporary file in the
job's output folder (so a cancelled or failed job leaves nothing behind elsewhere), with text
as inline strings (no shared-strings table), so memory stays flat however many rows and
distinct texts there are. Past Excel's row limit the data continues on a new sheet with the
header repeated. Text that Excel would take for a formula or an error value is stored as plain
text; so are dates before 1900, which Excel's calendar cannot show.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from datetime import datetime
from pathlib import Path

import xlsxwriter
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from tasks import registry
from tasks.formats import csvformat
from tasks.formats import csvheader
from tasks.formats import csvio
from tasks.formats import csvtypes
from tasks.formats.amounts import counted
from tasks.progress import Progress

OUTPUT = "workbook.xlsx"
MAX_SHEET_ROWS = 1_048_576  # Excel's limit, header included; tests lower it
MAX_COLUMNS = 16_384  # Excel's limit
MAX_CELL_CHARS = 32_767  # Excel's limit
# Excel keeps 15 significant digits; longer integers would come back changed.
MAX_EXACT_INTEGER = 10**15 - 1
# Excel's calendar starts on 1900-01-01: an earlier date would be a negative serial (#####).
FIRST_EXCEL_YEAR = 1900
MALFORMED_LINES_SHOWN = 10
REPORT_EVERY_ROWS = 256
# Saving the workbook (XlsxWriter gathers the sheets' row files into the .xlsx as it closes)
# takes about an eighth of a conversion: 0.9 of 7.5 CPU seconds for 210,039 rows of
# bench/processors.py's CSV (10 MB). The bar keeps that share for it.
SAVE_SHARE = 0.12
# Text starting like a formula: Excel or LibreOffice would evaluate "=...", "+...", "-..." or
# "@..." once someone edits the cell (CSV injection).
FORMULA_START = ("=", "+", "-", "@")
FORMULA_START_RE = re.compile(r"^[=+\-@]", re.MULTILINE)  # in texts joined by line feeds
ERROR_SET = frozenset(ERROR_CODES)
BOOLEAN_WORDS = {"true", "false"}
ROWS_AT_ONCE = 256  # rows typed and written as one batch
MAX_SERIALS_KEPT = 100_000  # dates whose Excel serial is kept for the next rows
OPTIONS = {
    "constant_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}


class Cells:
    """Write CSV text as typed cells, counting the texts Excel made us change.

    Rows come in batches (:meth:`write_rows`): a column whose cells in the batch all have one
    kind (integers, decimals, dates, booleans, plain text) is typed by a few C calls for the
    whole batch and written without a per-cell decision; the others go cell by cell
    (:meth:`write_cell`). Both give the same cells.
    """

    def __init__(self, book: xlsxwriter.Workbook, decimal: str = ".") -> None:
        self.decimal = decimal
        self.cleaned = 0
        self.truncated = 0
        self.quoted = book.add_format({"quote_prefix": True})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = book.add_format({"num_format": "yyyy-mm-dd h:mm:ss"})
        self.bold = book.add_format({"bold": True})
        self.bold_quoted = book.add_format({"bold": True, "quote_prefix": True})
        self.serials: dict[date, float] = {}  # the Excel serial of each date met, by date
        self.sheet: Worksheet | None = None  # the sheet of the batch being written

    def write_rows(self, sheet: Worksheet, first: int, records: list[list[str]]) -> None:
        """Write CSV records as the sheet's rows ``first``, ``first + 1``, ...: typed cells."""
        width = len(records[0])
        if any(len(record) != width for record in records):
            for row, record in enumerate(records, first):
                for col, raw in enumerate(record):
                    self.write_cell(sheet, row, col, raw)
            return
        self.sheet = sheet
        columns = [list(column) for column in zip(*records, strict=True)]
        if self.decimal == ",":
            # 12,50 as 12.50: what write_cell does to a cell that is text otherwise, and to
            # nothing else (a decimal comma is never part of another kind's text).
            columns = list(map(csvheader.points, columns))
        plans = [self.plan(sheet, column) for column in columns]
        for i in range(len(records)):
            row = first + i
            for col, (write, values, style) in enumerate(plans):
                value = values[i]
                if value is not None:  # an empty cell: nothing to write
                    write(row, col, value, style)

    def plan(self, sheet: Worksheet, column: list[str]) -> tuple[Callable, list, Format | None]:
        """Return how to write a column's cells in a batch: a writer, the values (None for an
        empty cell), their format.

        The writer is XlsxWriter's undecorated method (``_write_number``...): the public one
        only adds a check for "A1" cell names, which costs a tenth of the time here.
        """
        if "" in column:
            filled = [v for v in column if v]
            if not filled:
                return self.write_one, [None] * len(column), None
            write, values, style = self.plan(sheet, filled)
            if write == self.write_one:
                return write, column, None
            typed = iter(values)
            return write, [next(typed) if v else None for v in column], style
        found = csvtypes.parse_batch(column)
        if found is None:
            if {v.lower() for v in set(column)} <= BOOLEAN_WORDS:
                return sheet._write_boolean, [v.lower() == "true" for v in column], None
        else:
            kind, values = found
            if kind == csvtypes.FLOAT or (
                kind == csvtypes.INTEGER and max(map(abs, values)) <= MAX_EXACT_INTEGER
            ):
                return sheet._write_number, values, None
            if kind == csvtypes.DATE and min(values).year >= FIRST_EXCEL_YEAR:
                serials = [self.serial(sheet, day) for day in values]
                return sheet._write_number, serials, self.date
            if kind == csvtypes.TEXT and self.plain(column):
                return sheet._write_string, column, None
        return self.write_one, column, None

    def plain(self, texts: list[str]) -> bool:
        """Tell whether texts go to Excel as they are: no control characters, none too long,
        none that could be taken for a formula or an error value."""
        joined = "\n".join(texts)
        return (
            max(map(len, texts)) <= MAX_CELL_CHARS
            and not ILLEGAL_CHARACTERS_RE.search(joined)
            and not FORMULA_START_RE.search(joined)
            and ERROR_SET.isdisjoint(texts)
        )

    def serial(self, sheet: Worksheet, day: date) -> float:
        """Return a date's Excel serial number, computed as ``write_datetime`` does, once a date."""
        number = self.serials.get(day)
        if number is None:
            if len(self.serials) == MAX_SERIALS_KEPT:
                self.serials.clear()  # memory stays flat however many dates there are
            number = self.serials[day] = sheet._convert_date_time(day)
        return number

    def write_one(self, row: int, col: int, raw: str, _style: None) -> None:
        """Write one cell on the batch's sheet (the batch writers' signature)."""
        self.write_cell(self.sheet, row, col, raw)

    def write_cell(self, sheet: Worksheet, row: int, col: int, raw: str) -> None:
        """Write one CSV cell as a number, boolean, date or text."""
        kind, value = csvtypes.parse(raw)
        if kind == csvtypes.TEXT and self.decimal == ",":
            kind, value = csvtypes.parse(csvheader.points([raw])[0])
            if kind == csvtypes.TEXT:
                value = raw
        if kind == csvtypes.FLOAT or (kind == csvtypes.INTEGER and abs(value) <= MAX_EXACT_INTEGER):
            sheet.write_number(row, col, value)
        elif kind == csvtypes.BOOLEAN:
            sheet.write_boolean(row, col, value)
        elif kind == csvtypes.DATE and value.year >= FIRST_EXCEL_YEAR:
            style = self.datetime if isinstance(value, datetime) else self.date
            sheet.write_datetime(row, col, value, style)
        elif raw.strip():
            self.write_text(sheet, row, col, raw)

    def write_text(self, sheet: Worksheet, row: int, col: int, raw: str, bold: bool = False):
        """Write text as text, never as a formula or an error value."""
        text = self.text(raw)
        if looks_active(text):
            # The quote prefix keeps Excel from making it a formula when the cell is edited.
            sheet.write_string(row, col, text, self.bold_quoted if bold else self.quoted)
        else:
            sheet.write_string(row, col, text, self.bold if bold else None)

    def text(self, raw: str) -> str:
        """Return text as Excel can hold it: no control characters, at most 32,767 characters."""
        if ILLEGAL_CHARACTERS_RE.search(raw):
            raw = ILLEGAL_CHARACTERS_RE.sub("", raw)
            self.cleaned += 1
        if len(raw) > MAX_CELL_CHARS:
            raw = raw[:MAX_CELL_CHARS]
            self.truncated += 1
        return raw


def looks_active(text: str) -> bool:
    """Tell whether Excel could take the text for a formula or an error value."""
    return text.startswith(FORMULA_START) or text in ERROR_CODES


def add_sheet(book: xlsxwriter.Workbook, header: list[str] | None, cells: Cells) -> Worksheet:
    """Add a sheet that starts with the bold, frozen header row, when there is one."""
    sheet = book.add_worksheet(f"Sheet{len(book.worksheets()) + 1}")
    if header is not None:
        for col, name in enumerate(header):
            if name:
                cells.write_text(sheet, 0, col, name, bold=True)
        sheet.freeze_panes(1, 0)
    return sheet


def convert(src: Path, dest: Path, fmt: csvformat.Format, progress: Progress) -> dict:
    """Write the CSV file read in the given format to a workbook at ``dest``. Progress counts
    rows, out of the rows the file's lines promise plus ``SAVE_SHARE`` of the whole for the
    save, so the bar stands short of 100 % while the workbook is saved; at the end, the rows."""
    expected = max(fmt.lines - fmt.skip - (1 if fmt.header else 0), 1)
    progress.total = expected + round(expected * SAVE_SHARE / (1 - SAVE_SHARE))
    progress.update(0, message="converting")
    # Its row files go to the job's output folder, removed with it when the job ends badly.
    book = xlsxwriter.Workbook(str(dest), OPTIONS | {"tmpdir": str(dest.parent)})
    cells = Cells(book, fmt.decimal)
    header: list[str] | None = None
    sheet = None
    per_sheet = MAX_SHEET_ROWS - (1 if fmt.header else 0)
    rows = in_sheet = width = malformed = 0
    malformed_lines: list[int] = []
    batch: list[list[str]] = []

    def write_batch() -> None:
        """Write the batched records, on as many sheets as they need."""
        nonlocal sheet, in_sheet
        done = 0
        while done < len(batch):
            if sheet is None or in_sheet == per_sheet:
                sheet, in_sheet = add_sheet(book, header, cells), 0
            part = batch[done : done + per_sheet - in_sheet]
            cells.write_rows(sheet, in_sheet + (header is not None), part)
            in_sheet += len(part)
            done += len(part)
        batch.clear()

    with csvio.Rows(src, fmt, MAX_COLUMNS) as records:
        for line, record in records:
            if not width:
                width = len(record)
                if fmt.header:
                    header = record
                    continue
            if len(record) != width:
                # Written as it is (Excel does not mind ragged rows), but reported.
                malformed += 1
                if len(malformed_lines) < MALFORMED_LINES_SHOWN:
                    malformed_lines.append(line)
            batch.append(record)
            rows += 1
            if len(batch) == ROWS_AT_ONCE:
                write_batch()
            if rows % REPORT_EVERY_ROWS == 0:
                if progress.total is not None and rows >= expected:
                    # More rows than newlines (old Mac line ends): the total is unknown after all.
                    progress.total = None
                progress.update(rows, message=counted(rows, "row"))
        write_batch()
        comments = records.comments
    if sheet is None:
        add_sheet(book, header, cells)
    if malformed:
        first = f" (first at line {malformed_lines[0]:,})" if malformed_lines else ""
        progress.log(f"{counted(malformed, 'malformed row')} skipped{first}", "warning")
    if comments:
        progress.log(f"{counted(comments, 'comment line')} (starting with #) skipped")
    progress.log(f"saving the workbook ({counted(rows, 'row')})")
    progress.update(rows, message="saving the workbook", force=True)
    book.close()
    progress.total = rows
    progress.update(rows, message=counted(rows, "row"))
    sheets = len(book.worksheets())
    result = csvformat.describe(fmt) | {
        "output": dest.name,
        "rows": rows,
        "columns": width,
        "sheets": sheets,
        "malformed": {"count": malformed, "lines": malformed_lines},
        "cells_cleaned": cells.cleaned,
        "cells_truncated": cells.truncated,
    }
    if comments:
        result["comments_skipped"] = comments
    if sheets > 1:
        result["note"] = (
            f"A sheet holds at most {per_sheet:,} data rows, so the data continues over "
            f"{sheets} sheets, each starting with the header."
        )
    return result


@registry.processor(
    "csv-to-xlsx",
    title="CSV to Excel",
    unit="rows",
    output_name=lambda stem: f"{stem}.xlsx",
    **csvformat.CSV_INPUT,
)
def work(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Detect the file's format and count its lines for progress, then write the workbook."""
    # The first pass, which checks the encoding and counts lines, costs a few percent (it runs
    # at disk speed, writing cells far slower) and gives an honest percentage and ETA.
    progress.log("counting rows")
    fmt = csvformat.detect(
        src,
        options.get("delimiter", "auto"),
        options.get("header", "auto"),
        options.get("encoding", "auto"),
        on_chunk=lambda n: progress.update(0, message="counting rows"),
    )
    return csvformat.read_with(lambda f: convert(src, out / OUTPUT, f, progress), fmt)
