"""Profile a CSV/TSV file in one streamed pass: per-column types, nulls, distincts, stats, tops.

Memory stays flat whatever the file's size: every column counts its values exactly up to a
bound, then in fixed-size sketches (:mod:`tasks.formats.sketches`), and keeps the exact sum of
its numbers and of their squares (:mod:`tasks.formats.moments`): the mean and the sample
standard deviation are the exact ones rounded once to the nearest double, so they do not depend
on where batches are cut, nor on how a split job cuts the file. Rows come in
blocks (:meth:`tasks.formats.csvio.Rows.blocks`): plain text parsed by Arrow's CSV reader into
string columns, other text by the csv module. Batch by batch, each column's cells are counted
by Arrow and typed by Arrow casts over the distinct values (:mod:`.csv_profile_column`), not
value by value in Python.
"""

from __future__ import annotations

from pathlib import Path

from tasks import registry
from tasks import split
from tasks.formats import csvformat
from tasks.formats import csvio
from tasks.formats.amounts import counted
from tasks.progress import Progress

MAX_COLUMNS = 512
# The exact value tables of all columns together take at most this much; each column gets its
# share, and a column past its share (or past sketches.EXACT_VALUES values) is sketched instead.
EXACT_BYTES = 64 * 1024 * 1024
MALFORMED_LINES_SHOWN = 10
# Rows handed to the columns at once: each Arrow and numpy call (tens per column and batch)
# costs microseconds whatever its size, so the batch is large; at most moments.MAX_BATCH rows,
# so its exact sums take one numpy pass.
BATCH_ROWS = 32768
BATCH_BYTES = 8 * 1024 * 1024  # a batch of long lines ends with its block, to bound memory


def profile(src: Path, fmt: csvformat.Format, progress: Progress) -> dict:
    """Profile the file read in the given format."""
    progress.total = src.stat().st_size
    # Arrow is imported by the work, not with the processors: other processors' workers do
    # not carry its libraries (tens of MB of memory).
    from tasks.processors.csv_profile_batch import Column
    from tasks.processors.csv_profile_batch import take_all

    progress.update(0, message="reading")
    columns: list[Column] = []
    rows = malformed = 0
    malformed_lines: list[int] = []
    with csvio.Rows(src, fmt, MAX_COLUMNS) as records:
        head = records.head()
        if head is not None:
            width = len(head[1])
            names = head[1] if fmt.header else [f"column_{i}" for i in range(1, width + 1)]
            budget = EXACT_BYTES // width
            columns = [Column(name, budget, fmt.decimal) for name in distinct_names(names)]
            first = [] if fmt.header else [csvio.Block(head[1], width, 1, [])]
            batch, malformed, malformed_lines = take_all(columns, records, width, first, progress)
            rows = batch.rows
    progress.update(progress.total, message=counted(rows, "row"))
    progress.log(f"read {counted(rows, 'row')}")
    if malformed:
        first = f" (first at line {malformed_lines[0]:,})" if malformed_lines else ""
        progress.log(f"{counted(malformed, 'malformed row')} skipped{first}", "warning")
    return csvformat.describe(fmt) | {
        "bytes": progress.total,
        "rows": rows,
        "columns": [column.summary() for column in columns],
        "malformed": {"count": malformed, "lines": malformed_lines},
    }


def distinct_names(names: list[str]) -> list[str]:
    """Return the header's names stripped, a repeated one numbered: amount, amount_2."""
    seen: set[str] = set()
    distinct = []
    for name in (n.strip() for n in names):
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        distinct.append(candidate)
    return distinct


# Imported here, after what it uses of this module is defined.
from tasks.processors import csv_profile_split  # noqa: E402


@registry.processor(
    "csv-profile",
    title="CSV profile",
    unit="bytes",
    **csvformat.CSV_INPUT | {"options": csvformat.OPTIONS | split.PARALLEL_OPTION},
    split=split.Splitter(
        prepare=csv_profile_split.prepare,
        cuts=csv_profile_split.cuts,
        part=csv_profile_split.part,
        merge=csv_profile_split.merge,
    ),
)
def work(src: Path, out: Path, options: dict, progress: Progress) -> dict:
    """Detect the file's format (its encoding from all of it), then profile every column."""
    progress.total = src.stat().st_size
    fmt = csvformat.detect(
        src,
        options.get("delimiter", "auto"),
        options.get("header", "auto"),
        options.get("encoding", "auto"),
        # Progress stays at 0 while the encoding is checked: the bar never moves back.
        on_chunk=lambda n: progress.update(0, message="checking the encoding"),
    )
    return csvformat.read_with(lambda f: profile(src, f, progress), fmt)
