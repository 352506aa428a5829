"""Convert a CSV/TSV file to an Excel workbook, streamed row by row with typed cells.

XlsxWriter's ``constant_memory`` mode writes each row as it comes to a temporary file in the
job's output folder (so a cancelled or failed job leaves nothing behind elsewhere), with text
as inline strings (no shared-strings table), so memory stays flat however many rows and
distinct texts there are. Past Excel's row limit the data continues on a new sheet with the
header repeated. Text that Excel would take for a formula or an error value is stored as plain
text; so are dates before 1900, which Excel's calendar cannot show.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import xlsxwriter
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from xlsxwriter.worksheet import Worksheet

from tasks import registry
from tasks.formats import csvformat
from tasks.formats import csvheader
from tasks.formats import csvio
from tasks.formats import csvtypes
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
# Text starting like a formula: Excel or LibreOffice would evaluate "=...", "+...", "-..." or
# "@..." once someone edits the cell (CSV injection).
FORMULA_START = ("=", "+", "-", "@")
OPTIONS = {
    "constant_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}


class Cells:
    """Write CSV text as typed cells, counting the texts Excel made us change."""

    def __init__(self, book: xlsxwriter.Workbook, decimal: str = ".") -> None:
        self.decimal = decimal
        self.cleaned = 0
        self.truncated = 0
        self.quoted = book.add_format({"quote_prefix": True})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = book.add_format({"num_format": "yyyy-mm-dd h:mm:ss"})
        self.bold = book.add_format({"bold": True})
        self.bold_quoted = book.add_format({"bold": True, "quote_prefix": True})

    def write_row(self, sheet: Worksheet, row: int, record: list[str]) -> None:
        """Write one CSV record as the sheet's row ``row``: numbers, booleans, dates or text."""
        for col, raw in enumerate(record):
            kind, value = csvtypes.parse(raw)
            if kind == csvtypes.TEXT and self.decimal == ",":
                kind, value = csvtypes.parse(csvheader.points([raw])[0])
                if kind == csvtypes.TEXT:
                    value = raw
            if kind == csvtypes.FLOAT or (
                kind == csvtypes.INTEGER and abs(value) <= MAX_EXACT_INTEGER
            ):
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
    """Write the CSV file read in the given format to a workbook at ``dest``."""
    progress.update(0, message="converting")
    # Its row files go to the job's output folder, removed with it when the job ends badly.
    book = xlsxwriter.Workbook(str(dest), OPTIONS | {"tmpdir": str(dest.parent)})
    cells = Cells(book, fmt.decimal)
    header: list[str] | None = None
    sheet = None
    per_sheet = MAX_SHEET_ROWS - (1 if fmt.header else 0)
    rows = in_sheet = width = malformed = 0
    malformed_lines: list[int] = []
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
            if sheet is None or in_sheet == per_sheet:
                sheet, in_sheet = add_sheet(book, header, cells), 0
            cells.write_row(sheet, in_sheet + (header is not None), record)
            in_sheet += 1
            rows += 1
            if rows % REPORT_EVERY_ROWS == 0:
                if progress.total is not None and rows >= progress.total:
                    # More rows than newlines (old Mac line ends): the total is unknown after all.
                    progress.total = None
                progress.update(rows, message=f"{rows:,} rows")
    if sheet is None:
        add_sheet(book, header, cells)
    if malformed:
        first = f" (first at line {malformed_lines[0]:,})" if malformed_lines else ""
        progress.log(f"{malformed:,} malformed rows skipped{first}", "warning")
    progress.log(f"saving the workbook ({rows:,} rows)")
    progress.update(rows, message="saving the workbook", force=True)
    book.close()
    progress.total = rows
    progress.update(rows, message=f"{rows:,} rows")
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
    progress.total = max(fmt.lines - fmt.skip - (1 if fmt.header else 0), 1)
    return csvformat.read_with(lambda f: convert(src, out / OUTPUT, f, progress), fmt)
