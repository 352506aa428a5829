"""How a CSV/TSV upload is written: its encoding, delimiter and header, found from its first
bytes, and the options that let a person say so instead."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from tasks.formats import FormatError
from tasks.formats import binary
from tasks.formats import csvtypes

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SAMPLE_BYTES = 64 * 1024
SAMPLE_ROWS = 50

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
    if binary.image_kind(head) or binary.is_zip(head):
        return "it is an image or an archive, not CSV text."
    if not binary.looks_like_text(head):
        return "it does not look like CSV text (binary content)."
    return None


# What a processor of CSV/TSV text declares: ``@registry.processor(..., **CSV_INPUT)``.
CSV_INPUT = {"accepts": [".csv", ".tsv", ".txt"], "options": OPTIONS, "sniff": sniff}


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
            raise FormatError(
                "The file starts with a UTF-8 byte order mark, but later bytes are not UTF-8."
            ) from None
    # Latin-1 decodes every byte, so the second read cannot fail the same way.
    return read(replace(fmt, encoding="latin-1"))
