"""How a CSV/TSV upload is written: its encoding (:mod:`.encodings`), the lines before its table,
its delimiter, its header and decimal mark (:mod:`.csvheader`), and the options that let a
person say so instead."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tasks.formats import FormatError
from tasks.formats import binary
from tasks.formats import csvheader
from tasks.formats import encodings

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", ":": "colon"}
# The colon only when clevercsv finds it: a count alone would split a column of times.
COUNTED = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024
# A sample of very long lines is read on until it holds this many, so that the header has rows
# below it to be compared with, up to this many bytes.
SAMPLE_LINES = 5
MAX_SAMPLE_BYTES = 1024 * 1024
SAMPLE_ROWS = 50
CLEVER_CHARS = 16 * 1024  # clevercsv's time grows with its sample: 1 to 40 ms for this much
# Excel's first line naming the delimiter ("sep=;"), which is no data.
SEP_HINT = re.compile(r'"?sep=(.)"?\r?\n', re.IGNORECASE)
LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
MAX_PREAMBLE = 10

T = TypeVar("T")

OPTIONS = {
    "delimiter": {
        "enum": ["auto", ",", ";", "\t", "|", ":"],
        "default": "auto",
        "description": "Field delimiter; 'auto' detects comma, semicolon, tab, pipe or colon.",
    },
    "header": {
        "enum": ["auto", "yes", "no"],
        "default": "auto",
        "description": "Whether the first row names the columns; 'auto' guesses from its values.",
    },
    "encoding": {
        "enum": ["auto", *encodings.CHOICES],
        "default": "auto",
        "description": "Text encoding; 'auto' reads a byte-order mark, UTF-8, or the common "
        "legacy encoding that reads the file cleanly.",
    },
}


@dataclass(frozen=True)
class Format:
    """How a CSV file is written: its text encoding, delimiter, and whether row 1 is a header."""

    encoding: str
    delimiter: str
    header: bool
    skip: int = 0  # lines before the first record: Excel's "sep=;" line
    decimal: str = "."  # "," where numbers are written 12,50 (semicolon files)
    also: tuple[str, ...] = ()  # other encodings that read the file as cleanly, differently
    lines: int = 0  # the file's line count, found while checking its encoding
    comments: bool = False  # "#" lines came before the table: later ones are comments too


def sniff(head: bytes) -> str | None:
    """Return why bytes cannot be a CSV/TSV text file, or None when they can."""
    if binary.image_kind(head) or binary.is_zip(head):
        return "it is an image or an archive, not CSV text."
    bom = encodings.bom_encoding(head)
    if bom is not None and bom != "utf-8-sig":
        # UTF-16 and UTF-32 text is full of NUL bytes: judge its characters, not its bytes.
        text = codecs.getincrementaldecoder(bom)(errors="replace").decode(head)
        return None if binary.looks_like_text(text.encode()) else "it is not CSV text."
    if not binary.looks_like_text(head):
        return "it does not look like CSV text (binary content)."
    return None


# What a processor of CSV/TSV text declares: ``@registry.processor(..., **CSV_INPUT)``.
CSV_INPUT = {"accepts": [".csv", ".tsv", ".txt"], "options": OPTIONS, "sniff": sniff}


def detect_encoding(
    path: Path, encoding: str = "auto", on_chunk: Callable[[bytes], None] | None = None
) -> tuple[str, tuple[str, ...], int]:
    """Return a file's encoding, other encodings that read it as cleanly, and its line count.

    Raise :class:`FormatError` when no common encoding reads it cleanly (see
    :mod:`tasks.formats.encodings`).
    """
    with open(path, "rb") as f:
        bom = encodings.bom_encoding(f.read(4))
    utf8, sample, lines = encodings.survey(path, on_chunk)
    if encoding != "auto":
        return encoding, (), lines
    if bom is not None:
        return bom, (), lines
    if utf8:
        return "utf-8", (), lines
    choice = encodings.choose(sample)
    return choice.encoding, tuple(choice.also), lines


def sample_rows(text: str, delimiter: str) -> list[list[str]]:
    """Return the non-blank records of a text sample parsed with one delimiter."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [row for _, row in zip(range(SAMPLE_ROWS), reader, strict=False) if row]
    except csv.Error:
        return []


def detect_delimiter(text: str) -> str:
    """Return the delimiter clevercsv finds in the sample, or the one that splits it most evenly."""
    cut = text[:CLEVER_CHARS]
    if len(text) > CLEVER_CHARS and "\n" in cut:
        cut = cut[: cut.rindex("\n") + 1]
    # Imported here: it takes a second or two to import, which the web process never needs.
    import clevercsv

    try:
        found = clevercsv.Detector().detect(cut, delimiters=list(DELIMITERS))
    except Exception:  # noqa: BLE001 - any failure of the detector leaves it to the count below
        found = None
    if found is not None and found.delimiter in COUNTED:
        return found.delimiter
    if found is not None and found.delimiter == ":":
        # Times hold colons too: a colon table is one whose every row has the same fields.
        widths = {len(row) for row in sample_rows(text, ":")}
        if len(widths) == 1 and widths.pop() > 1:
            return ":"
    return split_evenly(text)


def split_evenly(text: str) -> str:
    """Return the candidate delimiter that splits the sample's rows most consistently."""

    def score(delimiter: str) -> tuple[float, int]:
        """Rate a delimiter: the share of rows with the modal field count, then that count."""
        counts = [len(row) for row in sample_rows(text, delimiter)]
        if not counts:
            return 0.0, 0
        modal = max(set(counts), key=counts.count)
        consistency = counts.count(modal) / len(counts) if modal > 1 else 0.0
        return consistency, modal

    best = max(COUNTED, key=score)
    return best if score(best)[1] > 1 else ","


def detect(
    path: Path,
    delimiter: str = "auto",
    header: str = "auto",
    encoding: str = "auto",
    on_chunk: Callable[[bytes], None] | None = None,
) -> Format:
    """Return a CSV file's format, from the whole file's bytes (its encoding), its first 64 KiB
    (delimiter, header; more, up to 1 MiB, until it holds 5 lines) and the options that override
    them; ``on_chunk(chunk)`` is called with each chunk of bytes as the file is read. Raise
    :class:`FormatError` when its encoding cannot be told."""
    encoding, also, lines = detect_encoding(path, encoding, on_chunk)
    with open(path, "rb") as f:
        head = f.read(SAMPLE_BYTES)
        while head.count(b"\n") < SAMPLE_LINES and len(head) < MAX_SAMPLE_BYTES:
            more = f.read(SAMPLE_BYTES)
            if not more:
                break
            head += more
        whole = not f.read(1)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=whole)
    text = text.removeprefix("\ufeff")
    if not whole and "\n" in text:
        # The sample's last line is probably cut; judge by complete lines only.
        text = text[: text.rindex("\n") + 1]
    skip = 0
    hint = SEP_HINT.match(text)
    if hint:
        skip, text = 1, text[hint.end() :]
        if delimiter == "auto":
            delimiter = hint.group(1)
    before, delimiter, rest = preamble(text, delimiter)
    comments = any(line.startswith("#") for line in LINES.findall(text)[:before])
    skip, text = skip + before, rest
    rows = sample_rows(text, delimiter)
    decimal = csvheader.detect_decimal(rows, delimiter)
    if header == "auto":
        has_header = csvheader.detect_header(rows, decimal)
    else:
        has_header = header == "yes"
    return Format(encoding, delimiter, has_header, skip, decimal, also, lines, comments)


def preamble(text: str, delimiter: str) -> tuple[int, str, str]:
    """Return how many lines before the table are no data, the delimiter, and the text after.

    Blank lines, ``#`` comments and titles (a line of at most half the table's fields) before
    the first row of the table's width are no data; at most :data:`MAX_PREAMBLE` of them. A file
    that starts with ``#`` comments writes comments, so its later ``#`` lines are skipped too
    (:class:`Format`'s ``comments``); in another file a ``#`` line is data like any other.
    """
    lines = LINES.findall(text)
    skip = 0
    while True:
        rest = "".join(lines[skip:])
        found = detect_delimiter(rest) if delimiter == "auto" else delimiter
        widths = [len(row) for row in sample_rows(rest, found)]
        if skip == MAX_PREAMBLE or not widths or skip >= len(lines) - 1:
            break
        modal = max(set(widths), key=widths.count)
        line = lines[skip]
        if line.strip() and (modal <= 1 or widths[0] == modal):
            break
        if line.strip() and not line.startswith("#") and widths[0] > modal // 2:
            break
        skip += 1
    if skip and (not widths or max(set(widths), key=widths.count) <= 1):
        skip, rest = 0, text  # no table after all: nothing was a preamble
        found = detect_delimiter(rest) if delimiter == "auto" else delimiter
    return skip, found, rest


def describe(fmt: Format) -> dict:
    """Return the format as processors report it in their results."""
    described = {"encoding": fmt.encoding, "delimiter": fmt.delimiter, "header": fmt.header}
    if fmt.decimal != ".":
        described["decimal"] = fmt.decimal
    if fmt.skip:
        described["skipped_lines"] = fmt.skip
    if fmt.also:
        others = ", ".join(encodings.describe(e) for e in fmt.also)
        described["encoding_note"] = (
            f"Read as {encodings.describe(fmt.encoding)}; {others} would read it as cleanly but "
            "with other characters: if its text looks wrong, choose the encoding option."
        )
    return described


def read_with(read: Callable[[Format], T], fmt: Format) -> T:
    """Call ``read(fmt)``, turning bytes the encoding cannot read into a sentence saying so."""
    try:
        return read(fmt)
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"The file holds bytes that are not {encodings.describe(fmt.encoding)} text "
            f"({exc.object[exc.start : exc.start + 4]!r}); choose its encoding with the encoding "
            "option."
        ) from None
