"""Every file of the shared corpus of real files through the processors, outcome by outcome.

The corpus (about 200 CSV/TSV files and images written by other people, listed with their
sources in its SOURCES.md) lives beside the project, never in it. Each file goes through every
processor that takes files of its kind, as an upload would: the content check first, then the
work. What came out is compared with tests/cases/corpus-outcomes.json, which records for each
file either the result's key facts or the refusal's sentence (each read and judged true by a
person when it was written). ``python -m tests.unit.test_corpus`` writes that record again.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest

from tasks import registry
from tasks.formats import FormatError
from tasks.formats import csvformat
from tasks.formats import csvio
from tasks.processors import csv_profile
from tasks.processors import csv_to_xlsx
from tasks.processors import image_thumbnails
from tasks.progress import Progress

PROJECT = Path(__file__).resolve().parent.parent.parent
CORPUS = PROJECT.parent / "shared" / "corpus"
OUTCOMES = PROJECT / "tests" / "cases" / "corpus-outcomes.json"
WORK = {
    "csv-profile": csv_profile.work,
    "csv-to-xlsx": csv_to_xlsx.work,
    "image-thumbnails": image_thumbnails.work,
}
# Writing a workbook reads the file as the profile does; beyond this size the profile alone
# stands for both, to keep the suite quick.
CONVERT_AT_MOST = 256 * 1024
KIND = {"csv": ("csv-profile", "csv-to-xlsx"), "images": ("image-thumbnails",)}


def corpus_files() -> list[str]:
    """Return the corpus's files, relative to it, or none when the corpus is not there."""
    if not CORPUS.is_dir():
        return []
    return sorted(
        str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md"
    )


def outcome(path: Path, name: str, out: Path) -> str:
    """Return what one processor makes of one file: its result's key facts, or its refusal."""
    processor = registry.get(name)
    why = processor.check_content(path.read_bytes()[:8192])
    if why:
        return f"refused at upload: {why}"
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(store=lambda meta: None, is_cancelled=lambda: False, interval=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about the broken files it reads
            result = WORK[name](path, out, processor.validate({}), progress)
    except FormatError as exc:
        return f"refused: {exc}"
    if name == "image-thumbnails":
        return f"ok: {result['images']} images, {result['skipped_count']} skipped"
    columns = result["columns"]
    return (
        f"ok: {result['encoding']} {result['delimiter']!r} header={result['header']} "
        f"rows={result['rows']} columns={len(columns) if isinstance(columns, list) else columns} "
        f"malformed={result['malformed']['count']}"
    )


def outcomes_of(relative: str, out: Path) -> dict[str, str]:
    """Return the outcome of each processor that takes files of this kind."""
    path = CORPUS / relative
    names = KIND[relative.split("/")[0]]
    if path.stat().st_size > CONVERT_AT_MOST:
        names = tuple(n for n in names if n != "csv-to-xlsx")
    return {name: outcome(path, name, out / name) for name in names}


@pytest.fixture(scope="module")
def recorded() -> dict:
    """Return the recorded outcomes."""
    return json.loads(OUTCOMES.read_text())


def test_the_corpus_is_there_or_the_reason_is_said():
    """Say clearly why the corpus tests do nothing when the corpus is not beside the project."""
    if not CORPUS.is_dir():
        pytest.skip(f"no corpus at {CORPUS.name!r} beside the project: the shared files are absent")
    assert len(corpus_files()) >= 190


@pytest.mark.parametrize("relative", corpus_files())
def test_corpus_file_gives_its_recorded_outcome(relative, recorded, tmp_path):
    """Give the recorded outcome for the file: the right result, or a true refusal."""
    assert outcomes_of(relative, tmp_path) == recorded[relative]


@pytest.mark.parametrize(
    ("relative", "column", "text"),
    [
        ("csv/frictionless-py/table-infer-iso-8859-7.csv", "name", "Λεωνιδας"),
        ("csv/messytables/characters.csv", "景點中文名稱", None),
        ("csv/rust-csv/uspop-latin1.csv", "City", "Õakman"),
        ("csv/csvkit/test_utf16_little.csv", "a", None),
        ("csv/frictionless-py/table-with-accents.csv", "Année", None),
        ("csv/messytables/sparse_with_column_errors.csv", "Bezeichnung", None),
    ],
)
def test_corpus_text_in_legacy_encodings_reads_right(relative, column, text):
    """Read names and values of the corpus's non-UTF-8 files as their writers wrote them."""
    if not CORPUS.is_dir():
        pytest.skip("no corpus beside the project")
    fmt = csvformat.detect(CORPUS / relative)
    with csvio.Rows(CORPUS / relative, fmt, csv_profile.MAX_COLUMNS) as rows:
        records = [record for _, record in rows]
    assert fmt.header and column in [name.strip() for name in records[0]]
    if text is not None:
        assert any(text in cell for record in records[1:] for cell in record)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        record = {f: outcomes_of(f, Path(folder) / str(i)) for i, f in enumerate(corpus_files())}
    OUTCOMES.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(record)} files recorded in {OUTCOMES}", file=sys.stderr)
