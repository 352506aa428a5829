"""Convert a CSV/TSV file to an Excel workbook, streamed row by row with typed cells.

openpyxl's write-only mode streams each sheet's rows to a temporary file as they come, with
text as inline strings (it keeps no shared-strings table), so memory stays flat however many
rows and distinct texts there are. Past Excel's row limit the data continues on a new sheet
with the header repeated. Text that Excel would take for a formula or an error value is stored
as plain text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from tasks import registry
from tasks.formats import binary
from tasks.formats import csvformat
from tasks.formats import csvio
from tasks.formats import csvtypes
from tasks.progress import Progress

OUTPUT = "workbook.xlsx"
MAX_SHEET_ROWS = 1_048_576  # Excel's limit, header included; tests lower it
MAX_COLUMNS = 16_384  # Excel's limit
MAX_CELL_CHARS = 32_767  # Excel's limit
# Excel keeps 15 significant digits; longer integers would come back changed.
MAX_EXACT_INTEGER = 10**15 - 1
MALFORMED_LINES_SHOWN = 10
REPORT_EVERY_ROWS = 256
# Text starting like a formula: openpyxl stores "=..." as one, and Excel or LibreOffice would
# evaluate "+...", "-..." or "@..." once someone edits the cell (CSV injection).
FORMULA_START = ("=", "+", "-", "@")


class Cells:
    """Turn CSV text into typed cell values, counting the texts Excel made us change."""

    def __init__(self) -> None:
        self.cleaned = 0
        self.truncated = 0
        self.sheet: WriteOnlyWorksheet | None = None  # the sheet being written

    def value(self, raw: str) -> Any:
        """Return the cell value for one CSV field: a number, boolean, date or text."""
        kind, value = csvtypes.parse(raw)
        if kind in (csvtypes.FLOAT, csvtypes.BOOLEAN, csvtypes.DATE):
            return value
        if kind == csvtypes.INTEGER and abs(value) <= MAX_EXACT_INTEGER:
            return value
        if not raw.strip():
            return None
        text = self.text(raw)
        return self.literal(text, WriteOnlyCell(self.sheet)) if looks_active(text) else text

    def literal(self, text: str, cell: Cell) -> Cell:
        """Put text in the cell as text, never as a formula or an error value; return the cell."""
        cell.value = text
        if looks_active(text):
            cell.data_type = "s"  # openpyxl infers "f" for "=..." and "e" for "#N/A"
            # The quote prefix keeps Excel from making it a formula when the cell is edited.
            cell.quotePrefix = True
        return cell

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


def add_sheet(book: Workbook, header: list[str] | None, cells: Cells) -> WriteOnlyWorksheet:
    """Add a sheet that starts with the bold, frozen header row, when there is one."""
    sheet = book.create_sheet(f"Sheet{len(book.worksheets) + 1}")
    cells.sheet = sheet
    if header is not None:
        bold = Font(bold=True)
        row = []
        for name in header:
            cell = cells.literal(cells.text(name), WriteOnlyCell(sheet))
            cell.font = bold
            row.append(cell)
        sheet.freeze_panes = "A2"
        sheet.append(row)
    return sheet


def convert(src: Path, dest: Path, fmt: csvformat.Format, progress: Progress) -> dict:
    """Write the CSV file read in the given format to a workbook at ``dest``."""
    progress.update(0, message="converting")
    book = Workbook(write_only=True)
    cells = Cells()
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
            sheet.append([cells.value(raw) for raw in record])
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
    book.save(dest)
    progress.total = rows
    progress.update(rows, message=f"{rows:,} rows")
    sheets = len(book.worksheets)
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
    """Detect the file's format, count its lines for progress, then write the workbook."""
    fmt = csvformat.detect(src, options.get("delimiter", "auto"), options.get("header", "auto"))
    # A first pass for the total costs a few percent (counting newlines runs at disk speed,
    # writing cells far slower) and gives an honest percentage and ETA from the start.
    with open(src, "rb") as f:
        progress.log("counting rows")
        lines = binary.count_lines(f, lambda n: progress.update(0, message="counting rows"))
    progress.total = max(lines - (1 if fmt.header else 0), 1)
    return csvformat.with_fallback(lambda f: convert(src, out / OUTPUT, f, progress), fmt)
