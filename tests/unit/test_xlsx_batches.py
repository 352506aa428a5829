"""csv-to-xlsx types a batch of rows column by column; the cells must be those written one by one.

Each column below is one kind in every row of a batch (so the batch path writes it) but holds
the values where a per-cell rule matters: integers too long for Excel, dates before 1900, text
Excel would take for a formula or an error, control characters, overlong text, blanks, booleans
in any case, decimal commas.
"""

from __future__ import annotations

import pytest

from tasks import registry
from tasks.processors import csv_to_xlsx
from tests.unit.golden import cells

BATCH = csv_to_xlsx.ROWS_AT_ONCE
COLUMNS = {
    "int": lambda i: str(i * 7 - 300),
    "int_big": lambda i: str(10**17 + i) if i == BATCH + 5 else str(i),
    "float": lambda i: f"{i / 8 - 9:.3f}",
    "float_exp": lambda i: f"{i}e3",
    "bool": lambda i: ["true", "FALSE", "True"][i % 3],
    "date": lambda i: f"20{i % 30:02d}-0{i % 9 + 1}-1{i % 9}",
    "date_old": lambda i: "1899-12-31" if i == 2 * BATCH + 1 else "1900-01-01",
    "blank_ints": lambda i: "" if i % 4 else str(i),
    "blank_only": lambda i: "",
    "spaces": lambda i: " " if i % 2 else str(i),
    "text": lambda i: f"city {i}",
    "formula": lambda i: "=SUM(A1)" if i == 3 else f"x{i}",
    "error": lambda i: "#N/A" if i == BATCH else f"y{i}",
    "minus": lambda i: "-x" if i == 7 else f"z{i}",
    "control": lambda i: "bell\x07" if i == 9 else f"w{i}",
    "long": lambda i: "L" * 40_000 if i == 11 else f"v{i}",
    "codes": lambda i: f"00{i}",
    "nulls": lambda i: ["NA", "null", "n/a"][i % 3],
    "mixed": lambda i: [str(i), f"{i}.5", "2024-01-01", "true", "word"][i % 5],
}


def write(tmp_path, text: str, name: str, one_by_one: bool, monkeypatch, delimiter=";") -> list:
    """Convert the text, in batches or cell by cell; return the workbook's cells."""
    if one_by_one:
        monkeypatch.setattr(csv_to_xlsx.Cells, "write_rows", cell_by_cell)
    src = tmp_path / f"{name}.csv"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / name
    out.mkdir()
    options = registry.get("csv-to-xlsx").validate({"delimiter": delimiter})
    result = csv_to_xlsx.work(src, out, options, csv_to_xlsx.Progress())
    monkeypatch.undo()
    return [result, cells(out / result["output"])]


def cell_by_cell(cells: csv_to_xlsx.Cells, sheet, first: int, records: list[list[str]]) -> None:
    """Write records cell by cell from their raw text: the rules the batches must follow."""
    for row, record in enumerate(records, first):
        for col, raw in enumerate(record):
            cells.write_cell(sheet, row, col, raw)


@pytest.mark.parametrize("decimal", [".", ","])
def test_batches_write_the_cells_written_one_by_one(tmp_path, monkeypatch, decimal):
    """Write every cell of three batches as the cell-by-cell rules write it."""
    rows = [";".join(make(i) for make in COLUMNS.values()) for i in range(3 * BATCH + 17)]
    text = ";".join(COLUMNS) + "\n" + "\n".join(rows) + "\n"
    if decimal == ",":
        text = text.replace(".", ",")
    batched = write(tmp_path, text, "batched", False, monkeypatch)
    alone = write(tmp_path, text, "alone", True, monkeypatch)
    assert batched == alone
    result, sheets = batched
    assert result.get("decimal", ".") == decimal
    header, *data = sheets[0]
    assert len(data) == 3 * BATCH + 17
    names = [c[0] for c in header]
    float_col = names.index("float")
    assert all(row[float_col][1] == "n" for row in data)  # decimal commas are numbers too
    assert data[BATCH + 5][names.index("int_big")][1] == "s"
    assert data[2 * BATCH + 1][names.index("date_old")] == ["1899-12-31", "s", False]
    assert data[3][names.index("formula")] == ["=SUM(A1)", "s", True]
    assert result["cells_cleaned"] == 1 and result["cells_truncated"] == 1


def test_ragged_batches_are_written_cell_by_cell(tmp_path, monkeypatch):
    """Write a batch holding rows of other widths as the cell-by-cell rules do."""
    rows = [f"{i},{i}.5,c{i}" if i % 50 else f"{i}" for i in range(BATCH + 3)]
    text = "a,b,c\n" + "\n".join(rows) + "\n"
    batched = write(tmp_path, text, "batched", False, monkeypatch, ",")
    assert batched == write(tmp_path, text, "alone", True, monkeypatch, ",")
    assert batched[0]["malformed"]["count"] == 6
