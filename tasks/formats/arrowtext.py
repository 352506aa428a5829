"""CSV text as Arrow string columns, and Arrow string arrays seen as numpy arrays.

Plain CSV text (no quotes, comments or lone CRs: :meth:`tasks.formats.csvio.Rows.blocks` tells)
is parsed by Arrow's CSV reader into one string column per field, typing left to
:mod:`tasks.formats.csvtypes`. The cell typing and the value hash (:mod:`tasks.formats.sketches`)
look at every byte of a batch's values at once, through :func:`offsets_and_bytes`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


class Columns(NamedTuple):
    """Records read together by Arrow: a table of ``width`` string columns, one row a record."""

    table: pa.Table  # of one chunk
    rows: int
    malformed: list[int]  # always empty: a block with a record of another width is not one

    def column(self, i: int, start: int, stop: int) -> pa.Array:
        """Return the cells of column ``i`` in rows ``start`` to ``stop``."""
        return self.table.column(i).chunk(0).slice(start, stop - start)


def arrow_table(text: str, width: int, delimiter: str) -> pa.Table | None:
    """Parse plain text (see :meth:`Rows._plain`) into ``width`` string columns; None when a
    record has another width. Blank lines are no records, as for the csv module."""
    names = [str(i) for i in range(width)]
    try:
        data = text.encode()  # valid UTF-8 (a lone surrogate would fail here): unchecked below
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=len(data) + 1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char=False, double_quote=False, escape_char=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeEncodeError):
        return None
    return table.combine_chunks() if table.num_rows else None


def offsets_and_bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Return a string or binary array's ``n + 1`` offsets (int64; value ``i`` is
    ``data[offsets[i]:offsets[i + 1]]``) and its data bytes (uint8), without copying them."""
    n = len(values)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], np.int32, n + 1, values.offset * 4).astype(np.int64)
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def per_value(offsets: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """Return, for each value, how many of its bytes are marked (``marks``: one bool a byte)."""
    running = np.concatenate(([0], np.cumsum(marks, dtype=np.int64)))
    return running[offsets[1:]] - running[offsets[:-1]]
