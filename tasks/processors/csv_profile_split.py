"""The CSV profile split over several workers (see :mod:`tasks.split`): cut points at record
boundaries, the profile of one byte range, and the merge of the ranges' profiles.

Cuts are safe for quoted fields with line breaks: a line break is a record boundary exactly when
the number of quote characters before it is even (in RFC 4180 quoting, which the csv module
reads, every quote opens or closes a quoted field, or is one of a doubled pair inside one, so
an odd count means "inside a quoted field"). The counts come from the encoding pass, which
reads the whole file anyway (``bytes.count`` per chunk), and the cut scan reads again only the
chunks where the cuts fall; the quote and the line feed are single bytes that no character of
UTF-8 or Latin-1 contains, so a cut never splits a character. A file with an odd number of quotes in
all (a stray quote) is not split, nor is a UTF-16 or UTF-32 file (there a line feed byte can be
half of another character).

The format is decided once, before cutting, on the whole file as one task decides it: the
encoding from all of its bytes (the encoding pass reads it all, so a file that proves not UTF-8
far past the sample gets its legacy encoding), the ``encoding`` option when one is forced, the
delimiter, header, decimal comma and lines before the table from its start. Every part reads
with that format; only the first skips the lines before the table and the header.

The merge gives what one pass gives: type counts, nulls, rows, malformed lines add up; min and
max are compared; the exact sums of the numbers and of their squares add up (sent as decimal
text: they are integers of thousands of bits), so the mean and deviation are the single
pass's to the bit; exact value tables add up and fall back to the sketches at the
same bounds. Sketches (distinct estimates, top-value counters) merge as sketches do: the
result then says ``distinct_exact``/``top_exact`` false, as a single pass would. Parts hash
values for the distinct sketch with the hash one task uses, which every process shares
(:func:`sketches.array_hashes`).
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.formats import binary
from tasks.formats import csvformat
from tasks.formats import csvio
from tasks.formats.amounts import counted
from tasks.formats.moments import Moments
from tasks.processors.csv_profile import EXACT_BYTES
from tasks.processors.csv_profile import MALFORMED_LINES_SHOWN
from tasks.processors.csv_profile import MAX_COLUMNS
from tasks.processors.csv_profile import distinct_names
from tasks.progress import Progress
from tasks.registry import ProcessorError

if TYPE_CHECKING:
    from tasks.processors.csv_profile_column import Column

SCAN_BYTES = 4 * 1024 * 1024
# The shape of a part's state: a merge takes only its own (workers of two versions meet while
# a deploy rolls out).
STATE_VERSION = 2


class Bounded(io.RawIOBase):
    """The bytes of a file from where it is positioned, up to a count."""

    def __init__(self, raw, remaining: int) -> None:
        super().__init__()
        self._raw, self.remaining = raw, remaining

    def readable(self) -> bool:
        """Say the stream can be read."""
        return True

    def readinto(self, buffer) -> int:
        """Read into ``buffer``, never past the range."""
        if self.remaining <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self.remaining)]
        n = self._raw.readinto(view) or 0
        self.remaining -= n
        return n


class RangeRows(csvio.Rows):
    """The records of one byte range of a CSV file (which starts at a record boundary)."""

    def __init__(self, path: Path, fmt: csvformat.Format, start: int, end: int) -> None:
        super().__init__(path, fmt, MAX_COLUMNS)
        self.start, self.end = start, end

    def section(self, raw) -> Bounded:
        """Return the range's bytes."""
        raw.seek(self.start)
        return Bounded(raw, self.end - self.start)


def prepare(src: Path, options: dict) -> dict | None:
    """Decide the file's format once on the whole file (see the module's note) and read the
    header; return the parts' JSON context, or None for a file not to split (no records, or a
    UTF-16/32 encoding). Raise :class:`FormatError` as one task would."""
    # The encoding pass reads the whole file once: it counts the quotes for the cuts too.
    quotes = [0]
    fmt = csvformat.detect(
        src,
        options.get("delimiter", "auto"),
        options.get("header", "auto"),
        options.get("encoding", "auto"),
        on_chunk=lambda chunk: quotes.append(quotes[-1] + chunk.count(b'"')),
    )
    if fmt.encoding.startswith(("utf-16", "utf-32")):
        return None
    with csvio.Rows(src, fmt, MAX_COLUMNS) as records:
        head = csvformat.read_with(lambda _: records.head(), fmt)
    if head is None:
        return None
    width = len(head[1])
    names = head[1] if fmt.header else [f"column_{i}" for i in range(1, width + 1)]
    return {
        "format": {
            "encoding": fmt.encoding,
            "delimiter": fmt.delimiter,
            "header": fmt.header,
            "skip": fmt.skip,
            "decimal": fmt.decimal,
            "also": list(fmt.also),
            "comments": fmt.comments,
        },
        "names": distinct_names(names),
        "size": src.stat().st_size,
        "_quotes": quotes,  # for :func:`cuts` only: not sent to the parts
    }


def part_format(context: dict, index: int) -> csvformat.Format:
    """Return the format part ``index`` reads with: the file's, where only the first part
    skips the lines before the table, the header and the byte-order mark."""
    f = context["format"]
    encoding = f["encoding"]
    if index > 0 and encoding == "utf-8-sig":
        encoding = "utf-8"  # the byte order mark is at the start of the first part only
    first = index == 0
    return csvformat.Format(
        encoding,
        f["delimiter"],
        f["header"] and first,
        f["skip"] if first else 0,
        f["decimal"],
        tuple(f["also"]),
        comments=f.get("comments", False),
    )


def cuts(src: Path, context: dict, targets: list[int]) -> list[int]:
    """Return, for each target offset, the start of the first record at or after it (see the
    module's note); none when the file's quotes do not pair up.

    The quote counts come from the encoding pass (``_quotes`` of :func:`prepare`: the number
    of quote bytes before each chunk of :data:`binary.CHUNK` bytes), so only the chunks where
    a target falls are read again, not the whole file."""
    quotes = context["_quotes"]
    if quotes[-1] % 2:
        return []
    found: list[int] = []
    with open(src, "rb") as f:
        for target in sorted(targets):
            if found and found[-1] > target:
                target = found[-1]  # inside the record just cut after: the next boundary
            cut = boundary_after(f, target, quotes)
            if cut is None:
                break
            found.append(cut)
    return found


def boundary_after(f, target: int, quotes: list[int]) -> int | None:
    """Return the offset after the first line feed at or after ``target`` outside every
    quoted field, or None when there is none before the end of the file."""
    chunk_index = target // binary.CHUNK
    offset = chunk_index * binary.CHUNK
    count = quotes[chunk_index]
    f.seek(offset)
    at = target - offset
    while chunk := f.read(binary.CHUNK):
        while (line_end := chunk.find(b"\n", at)) >= 0:
            if (count + chunk.count(b'"', 0, line_end)) % 2 == 0:
                return offset + line_end + 1
            at = line_end + 1
        count += chunk.count(b'"')
        offset += len(chunk)
        at = 0
    return None


def fresh_columns(names: list[str], decimal: str) -> list[Column]:
    """Return empty columns (their distinct sketches hash alike in every process)."""
    from tasks.processors.csv_profile_column import Column  # with Arrow: see profile()

    budget = EXACT_BYTES // len(names)
    return [Column(name, budget, decimal) for name in names]


def part(src: Path, start: int, end: int, index: int, context: dict, progress: Progress) -> dict:
    """Profile one byte range; return its columns' states, rows and malformed lines."""
    from tasks.processors.csv_profile_batch import take_all  # with Arrow: see profile()

    progress.total = end - start
    fmt = part_format(context, index)
    names = context["names"]
    width = len(names)
    columns = fresh_columns(names, fmt.decimal)

    def read(fmt: csvformat.Format) -> tuple:
        with RangeRows(src, fmt, start, end) as records:
            first = []
            if index == 0:
                head = records.head()
                first = [] if fmt.header else [csvio.Block(head[1], width, 1, [])]
            taken = take_all(columns, records, width, first, progress)
            return *taken, records.lines_read

    batch, malformed, malformed_lines, lines = csvformat.read_with(read, fmt)
    progress.update(progress.total, message=counted(batch.rows, "row"))
    return {
        "version": STATE_VERSION,
        "rows": batch.rows,
        "lines": lines,
        "malformed": malformed,
        "malformed_lines": malformed_lines,
        "columns": [column_state(c) for c in columns],
    }


def column_state(column: Column) -> dict:
    """Return what the merge needs of a column, as JSON."""
    values = column.values
    sketched = values.exact is None
    return {
        "kinds": column.kinds,
        "moments": column.moments.state(),
        "low": column.low,
        "high": column.high,
        "dates": [text for _, text in column.dates],
        "exact": values.exact,
        "hashes": sorted(values.distinct.kept) if sketched else [],
        "dropped": values.distinct.dropped,
        "top": values.top_values.counts if sketched else {},
        "top_exact": values.top_values.exact,
    }


def merge_column(column: Column, state: dict) -> None:
    """Merge one part's state of a column into the column."""
    for kind, count in state["kinds"].items():
        column.kinds[kind] += count
    if state["moments"]["n"]:
        column.moments.merge(Moments.from_state(state["moments"]))
        column.bound(state["low"], state["high"])
    dated = [(datetime.fromisoformat(text), text) for text in state["dates"]] + column.dates
    if dated:
        column.dates = [min(dated), max(dated)]
    values = column.values
    if state["exact"] is not None:
        values.add(state["exact"])
        return
    if values.exact is not None:  # this part was sketched: so is the whole column
        values.distinct.add(values.exact)
        values.top_values.add(values.exact)
        values.exact = None
    values.distinct.add_hashes(state["hashes"])
    values.distinct.dropped = values.distinct.dropped or state["dropped"]
    values.top_values.add(state["top"])
    values.top_values.exact = values.top_values.exact and state["top_exact"]


def merge(states: list[dict], context: dict) -> dict:
    """Return the profile of the whole file from its parts' states, in file order."""
    if any(state.get("version") != STATE_VERSION for state in states):
        raise ProcessorError(
            "Parts of this file were profiled by another version of Taskboard (an update was "
            "under way); run the job again."
        )
    fmt = part_format(context, 0)
    columns = fresh_columns(context["names"], fmt.decimal)
    lines_before = malformed = 0
    malformed_lines: list[int] = []
    for state in states:
        for column, column_part in zip(columns, state["columns"], strict=True):
            merge_column(column, column_part)
        malformed += state["malformed"]
        shown = [lines_before + line for line in state["malformed_lines"]]
        malformed_lines += shown[: MALFORMED_LINES_SHOWN - len(malformed_lines)]
        lines_before += state["lines"]
    return csvformat.describe(fmt) | {
        "bytes": context["size"],
        "rows": sum(state["rows"] for state in states),
        "columns": [column.summary() for column in columns],
        "malformed": {"count": malformed, "lines": malformed_lines},
    }
