"""Reading CSV/TSV uploads, shared by the CSV processors: encoding, delimiter, header, records.

Everything here streams: a file is read line by line through a byte counter (for progress in
bytes), with bounds on line length, field length and column count so that one hostile line
cannot take the worker's memory. What a cell's text means is :mod:`tasks.csvtypes`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any
from typing import BinaryIO
from typing import TypeVar

from tasks import csvtypes
from tasks import files
from tasks.registry import ProcessorError

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SAMPLE_BYTES = 64 * 1024
SAMPLE_ROWS = 50
MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_FIELD_CHARS = 1024 * 1024

T = TypeVar("T")

OPTIONS = {
    "delimiter": {
        "enum": ["auto", ",", ";", "\t", "|"],
        "default": "auto",
        "description": "Field delimiter; 'auto' detects comma, semicolon, tab or pipe.",
    },
    "header": {
        "enum": ["auto", "yes", "no"],
        "default": "auto",
        "description": "Whether the first row names the columns; 'auto' guesses from its values.",
    },
}


@dataclass(frozen=True)
class Format:
    """How a CSV file is written: its text encoding, delimiter, and whether row 1 is a header."""

    encoding: str
    delimiter: str
    header: bool


def sniff(head: bytes) -> str | None:
    """Return why bytes cannot be a CSV/TSV text file, or None when they can."""
    if files.image_kind(head) or files.is_zip(head):
        return "it is an image or an archive, not CSV text."
    if not files.looks_like_text(head):
        return "it does not look like CSV text (binary content)."
    return None


def detect_encoding(head: bytes, whole: bool) -> str:
    """Return 'utf-8-sig' (a BOM), 'utf-8' or 'latin-1' for a file's first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut by the end of the sample does not make the file Latin-1.
        if not whole and exc.reason == "unexpected end of data":
            return "utf-8"
        return "latin-1"
    return "utf-8"


def sample_rows(text: str, delimiter: str) -> list[list[str]]:
    """Return the non-blank records of a text sample parsed with one delimiter."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [row for _, row in zip(range(SAMPLE_ROWS), reader, strict=False) if row]
    except csv.Error:
        return []


def detect_delimiter(text: str) -> str:
    """Return the candidate delimiter that splits the sample's rows most consistently."""

    def score(delimiter: str) -> tuple[float, int]:
        """Rate a delimiter: the share of rows with the modal field count, then that count."""
        counts = [len(row) for row in sample_rows(text, delimiter)]
        if not counts:
            return 0.0, 0
        modal = max(set(counts), key=counts.count)
        consistency = counts.count(modal) / len(counts) if modal > 1 else 0.0
        return consistency, modal

    best = max(DELIMITERS, key=score)
    return best if score(best)[1] > 1 else ","


def detect_header(rows: list[list[str]]) -> bool:
    """Guess whether the first row names columns: every value is distinct, non-empty text."""
    if not rows:
        return False
    first = rows[0]
    if len(set(first)) != len(first):
        return False
    return all(csvtypes.parse(v)[0] == csvtypes.TEXT for v in first)


def detect(path: Path, delimiter: str = "auto", header: str = "auto") -> Format:
    """Return a CSV file's format, from its first 64 KiB and the options that override it."""
    with open(path, "rb") as f:
        head = f.read(SAMPLE_BYTES)
        whole = not f.read(1)
    encoding = detect_encoding(head, whole)
    text = head.decode(encoding, errors="ignore")
    if not whole and "\n" in text:
        # The sample's last line is probably cut; judge by complete lines only.
        text = text[: text.rindex("\n") + 1]
    if delimiter == "auto":
        delimiter = detect_delimiter(text)
    if header == "auto":
        has_header = detect_header(sample_rows(text, delimiter))
    else:
        has_header = header == "yes"
    return Format(encoding=encoding, delimiter=delimiter, header=has_header)


def describe(fmt: Format) -> dict:
    """Return the format as processors report it in their results."""
    return {"encoding": fmt.encoding, "delimiter": fmt.delimiter, "header": fmt.header}


def with_fallback(read: Callable[[Format], T], fmt: Format) -> T:
    """Call ``read(fmt)``; when the UTF-8 guess proves wrong past the sample, re-read as Latin-1."""
    try:
        return read(fmt)
    except UnicodeDecodeError:
        if fmt.encoding != "utf-8":
            raise ProcessorError(
                "The file starts with a UTF-8 byte order mark, but later bytes are not UTF-8."
            ) from None
    # Latin-1 decodes every byte, so the second read cannot fail the same way.
    return read(replace(fmt, encoding="latin-1"))


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
            raise ProcessorError(
                f"Line {self.lines + 1:,} or near it is longer than {MAX_LINE_BYTES:,} bytes."
            )


class Rows:
    """A CSV file's records with their first line number, read with bounded lines and fields.

    with Rows(path, fmt, max_columns) as rows:
        for line, record in rows: ...
    """

    def __init__(self, path: Path, fmt: Format, max_columns: int) -> None:
        self.path, self.fmt, self.max_columns = path, fmt, max_columns

    def __enter__(self) -> Rows:
        """Open the file for reading through the byte counter and the text decoder."""
        self._raw = open(self.path, "rb")
        self._counter = CountingReader(self._raw)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter, files.CHUNK), encoding=self.fmt.encoding, newline=""
        )
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the file."""
        self._text.close()
        self._raw.close()

    @property
    def bytes_read(self) -> int:
        """Return how many bytes of the file have been read so far."""
        return self._counter.count

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """Yield each non-blank record with the line it starts on; refuse oversized ones."""
        csv.field_size_limit(MAX_FIELD_CHARS)
        reader = csv.reader(self._text, delimiter=self.fmt.delimiter)
        start = 1
        try:
            for record in reader:
                if len(record) > self.max_columns:
                    raise ProcessorError(
                        f"Line {start:,} has {len(record):,} fields; at most "
                        f"{self.max_columns:,} columns are supported."
                    )
                if record:  # csv gives [] for a blank line: not a row at all.
                    yield start, record
                start = reader.line_num + 1
        except csv.Error as exc:
            line = reader.line_num
            if "field larger" in str(exc):
                raise ProcessorError(
                    f"Line {line:,}: a field is longer than {MAX_FIELD_CHARS:,} characters."
                ) from None
            raise ProcessorError(f"Line {line:,}: {exc}.") from None
