"""The rows of a CSV profile gathered in batches and handed to the columns, block by block.

The whole file (:func:`tasks.processors.csv_profile.profile`) and a split job's parts
(:mod:`tasks.processors.csv_profile_split`) read their rows through :func:`take_all`. A batch is
``BATCH_ROWS`` rows (fewer when long lines fill ``BATCH_BYTES`` first): its sums and sketches
are the same whatever the blocks the text came in, as Arrow's or the csv module's.
"""

from __future__ import annotations

from itertools import chain

import pyarrow as pa

from tasks.formats import arrowtext
from tasks.formats import csvio
from tasks.formats.amounts import counted
from tasks.processors import csv_profile
from tasks.processors.csv_profile_column import Column
from tasks.progress import Progress

__all__ = ["Batch", "Column", "take_all"]


def take_all(
    columns: list[Column], records: csvio.Rows, width: int, first: list, progress: Progress
) -> tuple[Batch, int, list[int]]:
    """Feed ``first`` (a header-less file's first row) and every block of ``records`` to one
    :class:`Batch` of ``columns``; return it with the number of malformed rows and the line
    numbers of the first ``MALFORMED_LINES_SHOWN`` of them; log the comment lines skipped."""
    malformed, malformed_lines = 0, []
    shown = csv_profile.MALFORMED_LINES_SHOWN
    batch = Batch(columns, records, progress)
    for block in chain(first, records.blocks(width)):
        malformed += len(block.malformed)
        malformed_lines += block.malformed[: shown - len(malformed_lines)]
        batch.take(block)
    batch.flush()
    if records.comments:  # as csv-to-xlsx says it
        progress.log(f"{counted(records.comments, 'comment line')} (starting with #) skipped")
    return batch, malformed, malformed_lines


class Batch:
    """Rows gathered for the columns: handed over every ``BATCH_ROWS`` rows, or sooner if long."""

    def __init__(self, columns: list[Column], records: csvio.Rows, progress: Progress) -> None:
        self.columns, self.records, self.progress = columns, records, progress
        # Each column's cells of the batch, as Arrow arrays: a block's slice, or a block's
        # list of cells (text the csv module read) made into one.
        self.cells: list[list[pa.Array | pa.ChunkedArray]] = [[] for _ in columns]
        self.size = self.rows = self.start = 0  # rows now, rows so far, bytes read at the start

    def take(self, block: csvio.Block) -> None:
        """Take a block's rows, handing over every full batch."""
        at = 0
        while at < block.rows:
            end = min(block.rows, at + csv_profile.BATCH_ROWS - self.size)
            arrow = isinstance(block, arrowtext.Columns)
            for i, cells in enumerate(self.cells):
                part = block.column(i, at, end)
                cells.append(part if arrow else pa.array(part, pa.string()))
            self.size += end - at
            self.rows += end - at
            at = end
            if self.size == csv_profile.BATCH_ROWS:
                self.flush()
        if self.size and self.records.bytes_read - self.start > csv_profile.BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Hand the rows to the columns, column by column, and report progress."""
        if not self.size:
            return
        for column, cells in zip(self.columns, self.cells, strict=True):
            column.add_array(cells[0] if len(cells) == 1 else pa.chunked_array(cells), self.size)
        self.cells = [[] for _ in self.columns]
        self.size = 0
        self.start = self.records.bytes_read
        self.progress.update(self.start, message=counted(self.rows, "row"))
