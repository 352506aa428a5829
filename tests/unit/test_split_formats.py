"""A split CSV profile reads every part in the format one task decides for the whole file:
an encoding proven past the sample, a forced encoding, decimal commas, lines before the table,
a byte-order mark, repeated header names; UTF-16 is not cut."""

from __future__ import annotations

import bisect

import pytest

from tasks.formats import binary
from tasks.formats import csvformat
from tasks.formats import csvio
from tasks.processors import csv_profile_split
from tasks.progress import Progress
from tests.unit.test_csv_profile_split import assert_same_profile
from tests.unit.test_csv_profile_split import quoted_csv
from tests.unit.test_csv_profile_split import single_profile
from tests.unit.test_csv_profile_split import split_profile

ROWS = 8000  # about 150 KB: parts of 64 KiB or more, every distinct count exact


def rows(delimiter: str = ",", point: str = ".") -> str:
    """Return the table's body: an id, a name, an amount (some repeated values)."""
    return "".join(
        f"{i % 4000}{delimiter}name {i % 300}{delimiter}{(i % 500) * 1.5:.1f}\n".replace(".", point)
        for i in range(ROWS)
    )


CASES = {
    # The only non-ASCII byte is far past the sample the delimiter is judged on.
    "cp1252 at the end": ("id,name,amount\n" + rows() + "1,Café,2.0\n").encode("cp1252"),
    "decimal commas": ("id;name;amount\n" + rows(";", ",")).encode(),
    "sep line": ("sep=,\nid,name,amount\n" + rows()).encode(),
    "byte-order mark": ("\ufeffid,name,amount\n" + rows() + "2,Zoë,1.0\n").encode("utf-8"),
    "repeated names": ("id,amount,amount\n" + rows()).encode(),
    "no header": rows().encode(),
    # Excel's export: a sep line, semicolons, decimal commas, cp1252 shown only at the end.
    "excel export": ("sep=;\nid;name;amount\n" + rows(";", ",") + "1;Café;2,0\n").encode("cp1252"),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("parts", [2, 5])
def test_split_profile_reads_the_whole_files_format(tmp_path, name, parts):
    """Cut in parts, each case gives the one-pass profile field by field."""
    path = tmp_path / "case.csv"
    path.write_bytes(CASES[name])
    whole = single_profile(path)
    parted, cut = split_profile(path, parts)
    assert len(cut) == parts - 1
    assert_same_profile(parted, whole)


def test_the_encoding_is_decided_on_the_whole_file_before_cutting(tmp_path):
    """A UTF-8 start and a cp1252 byte in the last part: every part reads cp1252."""
    path = tmp_path / "late.csv"
    path.write_bytes(CASES["cp1252 at the end"])
    context = csv_profile_split.prepare(path, {"delimiter": "auto", "header": "auto"})
    assert context["format"]["encoding"] == "cp1252"
    size = path.stat().st_size
    start = csv_profile_split.cuts(path, context, [size - 100])[0]
    progress = Progress(is_cancelled=lambda: False, interval=0)
    last = csv_profile_split.part(path, start, size, 1, context, progress)
    assert "Café" in last["columns"][1]["exact"]


def test_a_forced_encoding_reaches_every_part(tmp_path):
    """The ``encoding`` option is the format of every part, as it is of one task."""
    path = tmp_path / "forced.csv"
    path.write_bytes(CASES["cp1252 at the end"])
    options = {"delimiter": "auto", "header": "auto", "encoding": "latin-1"}
    context = csv_profile_split.prepare(path, options)
    assert context["format"]["encoding"] == "latin-1"
    assert csv_profile_split.part_format(context, 3).encoding == "latin-1"


def test_utf16_is_not_cut(tmp_path):
    """A UTF-16 file runs in one task: a line feed byte there can be half a character."""
    path = tmp_path / "wide.csv"
    path.write_bytes(("id,name,amount\n" + rows()).encode("utf-16"))
    assert csv_profile_split.prepare(path, {"delimiter": "auto", "header": "auto"}) is None


def test_rows_count_the_line_feeds_read(tmp_path):
    """``lines_read`` is every line feed of the file once every record is taken, quoted line
    breaks included."""
    path = tmp_path / "quoted.csv"
    path.write_bytes(b'a,b\n1,"x\ny"\n2,z\n')
    fmt = csvformat.Format("utf-8", ",", True)
    with csvio.Rows(path, fmt, 10) as records:
        assert [record for _, record in records] == [["a", "b"], ["1", "x\ny"], ["2", "z"]]
        assert records.lines_read == 4


def reference_cuts(data: bytes, targets: list[int]) -> list[int]:
    """Return the cuts by the rule itself, from the whole file's bytes: after the first line
    feed at or after each target with an even number of quotes before it."""
    boundaries, quotes, at = [], 0, 0
    while (line_end := data.find(b"\n", at)) >= 0:
        quotes += data.count(b'"', at, line_end)
        if quotes % 2 == 0:
            boundaries.append(line_end + 1)
        at = line_end + 1
    found: list[int] = []
    for target in sorted(targets):
        after = max(target, found[-1] if found else 0)
        i = bisect.bisect_right(boundaries, after)  # the first with its line feed at >= after
        if i == len(boundaries):
            break
        found.append(boundaries[i])
    return found


def test_cuts_from_the_encoding_pass_match_the_rule_across_chunks(tmp_path):
    """Quoted line breaks across the 1 MiB chunks of the encoding pass, targets on, before and
    after chunk edges and inside quoted fields: the cuts are those of the rule on the whole
    file, found without reading it all again."""
    data = b"".join(quoted_csv(3000, seed=seed).split(b"\n", 1)[1] for seed in range(24))
    data = b"id,amount,note,day,flag\n" + data
    assert len(data) > 2 * binary.CHUNK + 1000
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    context = csv_profile_split.prepare(path, {"delimiter": "auto", "header": "auto"})
    chunk = binary.CHUNK
    targets = [1, 777, chunk - 3, chunk, chunk + 1, 2 * chunk - 1, 2 * chunk + 5, len(data) - 40]
    targets += [data.index(b"\nlines", 5000) + 1, data.index(b"\nshort", chunk) + 2]
    assert csv_profile_split.cuts(path, context, targets) == reference_cuts(data, targets)
    many = list(range(1000, len(data), 9973))
    assert csv_profile_split.cuts(path, context, many) == reference_cuts(data, many)
