"""Reading CSV/TSV uploads, shared by the CSV processors: records, record by record or in blocks.

Everything here streams: a file is read through a byte counter (for progress in bytes), with
bounds on line length, field length and column count so that one hostile line cannot take the
worker's memory; record by record, or in blocks of text split in C where no quote needs the
csv module. How the file is written is :mod:`tasks.formats.csvformat`; what a cell's text means is
:mod:`tasks.formats.csvtypes`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import accumulate
from itertools import chain
from itertools import islice
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import BinaryIO
from typing import NamedTuple

from tasks.formats import FormatError
from tasks.formats import binary
from tasks.formats.amounts import size_text
from tasks.formats.csvformat import Format

if TYPE_CHECKING:
    from tasks.formats.arrowtext import Columns

MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_FIELD_CHARS = 1024 * 1024
BLOCK_CHARS = 64 * 1024  # text taken at a time by Rows.blocks
# Plain text (no quotes, comments, lone CRs) is parsed by Arrow's CSV reader, this much at once.
ARROW_CHARS = 512 * 1024
# ...when its lines are short: a batch of rows then never reaches csv_profile.BATCH_BYTES within
# one such block, so the batches are the ones block by block reading makes.
ARROW_LINE_CHARS = 1024


class CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read through it and refuses overlong lines.

    Lines are bounded here, on raw chunks (one C-speed search per chunk), because the text
    layer above would otherwise gather a line without end into memory before csv sees it.
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self.count = 0
        self.lines = 0
        self._open_line = 0  # bytes since the last line break

    def readable(self) -> bool:
        """Say the stream can be read."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``, counting bytes and checking line lengths."""
        n = self._raw.readinto(buffer) or 0
        chunk = bytes(memoryview(buffer)[:n])
        last_break = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if last_break < 0:
            self._open_line += n
        else:
            first_break = min(i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0)
            longest = max(self._open_line + first_break, n - 1 - last_break)
            self._open_line = n - 1 - last_break
            self.lines += chunk.count(b"\n")
            self._check(longest)
        self._check(self._open_line)
        self.count += n
        return n

    def _check(self, length: int) -> None:
        """Refuse a line longer than the bound, naming about where it is."""
        if length > MAX_LINE_BYTES:
            raise FormatError(
                f"Line {self.lines + 1:,} or near it is longer than {size_text(MAX_LINE_BYTES)}."
            )


def lines_taken(record: list[str]) -> int:
    """Return the lines a record takes: one, and one more per line break in its fields."""
    return 1 + sum(f.count("\n") + f.count("\r") - f.count("\r\n") for f in record)


class Block(NamedTuple):
    """Records read together: the cells of those of the expected width, where the others start."""

    cells: list[str]  # row after row, a row every ``stride`` cells
    stride: int
    rows: int
    malformed: list[int]  # the lines that records of another width start on

    def column(self, i: int, start: int, stop: int) -> list[str]:
        """Return the cells of column ``i`` in rows ``start`` to ``stop``."""
        step = self.stride
        return self.cells[start * step + i : stop * step : step]


class Rows:
    """A CSV file's records with their first line number, read with bounded lines and fields.

    with Rows(path, fmt, max_columns) as rows:
        for line, record in rows: ...

    or, faster, ``rows.head()`` for the first record and then ``rows.blocks(width)``.
    """

    def __init__(self, path: Path, fmt: Format, max_columns: int) -> None:
        self.path, self.fmt, self.max_columns = path, fmt, max_columns
        self.line = 1  # where the next record starts
        self.comments = 0  # "#" lines skipped as comments (when the format says it has them)

    def __enter__(self) -> Rows:
        """Open the file for reading through the byte counter and the text decoder."""
        self._raw = open(self.path, "rb")
        self._counter = CountingReader(self.section(self._raw))
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter, binary.CHUNK), encoding=self.fmt.encoding, newline=""
        )
        for _ in range(self.fmt.skip):  # Excel's "sep=;" line: no record
            self._text.readline()
            self.line += 1
        return self

    def section(self, raw: BinaryIO) -> Any:
        """Return the binary stream the records are read from: the whole file here; a reader
        of one byte range of the file returns that range."""
        return raw

    def __exit__(self, *exc: object) -> None:
        """Close the file."""
        self._text.close()
        self._raw.close()

    @property
    def bytes_read(self) -> int:
        """Return how many bytes of the file have been read so far."""
        return self._counter.count

    @property
    def lines_read(self) -> int:
        """Return how many line feeds the bytes read so far hold (read ahead of the records
        given out, as the reader buffers; all of them once every record is taken)."""
        return self._counter.lines

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """Yield each non-blank record with the line it starts on; refuse oversized ones."""
        csv.field_size_limit(MAX_FIELD_CHARS)
        reader = csv.reader(self._text, delimiter=self.fmt.delimiter)
        before = self.line - 1
        try:
            for record in reader:
                start, self.line = self.line, before + reader.line_num + 1
                self._check(record, start)
                if record and not self._comment(record):  # csv gives [] for a blank line
                    yield start, record
        except csv.Error as exc:
            line = before + reader.line_num
            if "field larger" in str(exc):
                raise FormatError(
                    f"Line {line:,}: a field is longer than {MAX_FIELD_CHARS:,} characters."
                ) from None
            raise FormatError(f"Line {line:,}: {exc}.") from None

    def _comment(self, record: list[str]) -> bool:
        """Tell whether a record is a comment line to skip, counting it."""
        if self.fmt.comments and record and record[0].startswith("#"):
            self.comments += 1
            return True
        return False

    def _check(self, record: list[str], start: int) -> None:
        """Refuse a record with more fields than the processor allows."""
        if len(record) > self.max_columns:
            raise FormatError(
                f"Line {start:,} has {len(record):,} fields; at most "
                f"{self.max_columns:,} columns are supported."
            )

    def head(self) -> tuple[int, list[str]] | None:
        """Return the first record with its line, or None; :meth:`blocks` reads on after it."""
        return next(iter(self), None)

    def blocks(self, width: int) -> Iterator[Block]:
        """Yield the records after :meth:`head` in blocks, rows of ``width`` fields split out."""
        csv.field_size_limit(MAX_FIELD_CHARS)
        text = self._text
        start = self.line
        plain: list[str] = []  # plain chunks of short lines, for Arrow to parse at once
        breaks = 0  # their line feeds
        try:
            while chunk := text.read(BLOCK_CHARS):
                if not chunk.endswith("\n"):
                    chunk += text.readline()
                feeds = chunk.count("\n") if self._plain(chunk) else 0
                if len(chunk) < ARROW_LINE_CHARS * feeds:
                    plain.append(chunk)
                    breaks += feeds
                    if sum(map(len, plain)) < ARROW_CHARS:
                        continue
                    yield from self._arrow(plain, width, breaks)
                    plain, breaks = [], 0
                    start = self.line
                    continue
                yield from self._arrow(plain, width, breaks)
                plain, breaks = [], 0
                start = self.line
                yield self._split(chunk, width) or self._parse(chunk, width)
                start = self.line
            yield from self._arrow(plain, width, breaks)
        except (csv.Error, FormatError, UnicodeDecodeError):
            # Text read ahead of the records may fail before a record ahead of it would: the
            # error to report is the one a record-by-record read meets first.
            self._replay(start)
            raise

    def _plain(self, chunk: str) -> bool:
        """Tell whether text can be split without the csv module: no quotes, NULs, lone CRs,
        comment lines to skip or overlong fields."""
        if '"' in chunk or "\0" in chunk or len(chunk) > MAX_FIELD_CHARS:
            return False
        if self.fmt.comments and ("\n#" in chunk or chunk.startswith("#")):
            return False  # comment lines to skip
        # No line ends in a lone CR (a test first: most text has no CR, and counts cost more).
        return "\r" not in chunk or chunk.count("\r") == chunk.count("\r\n")

    def _arrow(self, chunks: list[str], width: int, feeds: int) -> Iterator[Block | Columns]:
        """Yield plain text's records (``feeds`` line feeds) as one Arrow table, or block by
        block if one of them has another width (the csv module then finds where)."""
        if not chunks:
            return
        # Imported here: the processors that read record by record do without Arrow.
        from tasks.formats.arrowtext import Columns
        from tasks.formats.arrowtext import arrow_table

        text = "".join(chunks)
        # Arrow would take a byte-order mark at the start of its text for one, not for data.
        table = None if text[0] == "\ufeff" else arrow_table(text, width, self.fmt.delimiter)
        if table is None:
            yield self._split(text, width) or self._parse(text, width)
            return
        self.line += feeds + (not text.endswith("\n"))  # as _split counts
        yield Columns(table, table.num_rows, [])

    def _split(self, chunk: str, width: int) -> Block | None:
        """Split text without quotes, NULs or lone CRs into cells in C; None when it needs csv."""
        if not self._plain(chunk):
            return None
        if "\r" in chunk:
            chunk = chunk.replace("\r\n", "\n")
        if not chunk.endswith("\n"):  # the file's last line
            chunk += "\n"
        lines = chunk.count("\n")
        d = self.fmt.delimiter
        if width == 1:
            if d in chunk:
                return None
            cells = list(filter(None, chunk.split("\n")))  # a blank line is no record
            self.line += lines
            return Block(cells, 1, len(cells), [])
        # Each line break becomes a cell of its own; they are one row apart in the cells exactly
        # when every line has ``width`` fields (a blank line has one).
        cells = chunk.replace("\n", f"{d}\n{d}").split(d)
        if len(cells) != (width + 1) * lines + 1 or cells[width :: width + 1].count("\n") != lines:
            return None
        self.line += lines
        return Block(cells, width + 1, lines, [])

    def _parse(self, chunk: str, width: int) -> Block:
        """Parse text with the csv module, reading on from the file while a quoted field is open."""
        lines = io.StringIO(chunk, newline="")
        reader = csv.reader(chain(lines, self._text), delimiter=self.fmt.delimiter)
        records: list[list[str]] = []
        while lines.tell() < len(chunk):  # the records that start in the chunk, and a few more
            records += islice(reader, 256)
        first, self.line = self.line, self.line + reader.line_num
        comments = self.fmt.comments and any(r and r[0].startswith("#") for r in records)
        if list(map(len, records)).count(width) == len(records) and not comments:
            return Block(list(chain.from_iterable(records)), width, len(records), [])
        # A record takes one line, and one more for each line break in its quoted fields.
        spans = repeat(1) if reader.line_num == len(records) else map(lines_taken, records)
        rows, malformed = [], []
        for start, record in zip(accumulate(spans, initial=first), records, strict=False):
            self._check(record, start)
            if self._comment(record):
                continue
            if len(record) == width:
                rows.append(record)
            elif record:
                malformed.append(start)
        return Block(list(chain.from_iterable(rows)), width, len(rows), malformed)

    def _replay(self, line: int) -> None:
        """Read again from ``line`` record by record, so as to raise the first error it meets."""
        with Rows(self.path, self.fmt, self.max_columns) as again:
            skip = line - again.line
            next(islice(again._text, skip, skip), None)  # skip the lines before
            again.line = line
            for _ in again:
                pass
