"""Reading CSV in blocks of text: the same rows, cells and errors as reading record by record,
whatever the block size."""

from __future__ import annotations

from collections import Counter

import pytest

from tasks.formats import csvformat
from tasks.formats import csvio
from tasks.formats import csvtypes
from tasks.processors import csv_profile

READ_IN_BLOCKS = {
    "plain": "a,b\n1,x\n2,y\n3,z\n",
    "crlf": "a,b\r\n1,x\r\n2,null\r\n3,z\r\n",
    "lone cr": "a,b\r1,x\r2,y\r",
    "quoted": 'a,b\n1,"x, y"\n2,"say ""hi"""\n3,z\n',
    "multi-line": 'a,b\n1,"two\nlines"\n2\n3,"three\r\nmore\rlines"\n4\n5,z,extra\n6,\n',
    "blank lines": "a,b\n\n1,x\n\n\n2,y\n\n",
    "one column": "v\n1\n\n2\n 3 \nnull\n",
    "no last line break": "a;b\n1;x\n2;y",
    "ragged": "a,b\n1\n2,y\n3,z,w\n,\n4,q\n",
}


@pytest.mark.parametrize("content", READ_IN_BLOCKS.values(), ids=READ_IN_BLOCKS.keys())
def test_blocks_read_the_rows_a_record_by_record_read_does(profile, tmp_path, monkeypatch, content):
    """Count rows, malformed lines, kinds and values as reading record by record would."""
    monkeypatch.setattr(csvio, "BLOCK_CHARS", 5)
    result = profile(content)
    fmt = csvformat.Format(result["encoding"], result["delimiter"], result["header"])
    with csvio.Rows(tmp_path / "input", fmt, csv_profile.MAX_COLUMNS) as records:
        read = list(records)[1:]
    width = len(result["columns"])
    rows = [record for _, record in read if len(record) == width]
    malformed = [line for line, record in read if len(record) != width]
    assert (result["rows"], result["malformed"]["lines"]) == (len(rows), malformed)
    for i, column in enumerate(result["columns"]):
        kinds = Counter(csvtypes.parse(row[i])[0] for row in rows)
        assert column["kinds"] | {"null": column["nulls"]} == kinds | {"null": kinds["null"]}
        values = {row[i] for row in rows if csvtypes.parse(row[i])[0] != "null"}
        assert column["distinct"] == len(values)


@pytest.mark.parametrize("content", READ_IN_BLOCKS.values(), ids=READ_IN_BLOCKS.keys())
def test_profile_is_the_same_whatever_the_block_size(profile, monkeypatch, content):
    """Profile alike whether the text comes in blocks of one character, a few, or many."""
    monkeypatch.setattr(csv_profile, "BATCH_ROWS", 2)
    results = []
    for block_chars in (1, 7, 64 * 1024):
        monkeypatch.setattr(csvio, "BLOCK_CHARS", block_chars)
        results.append(profile(content))
    assert results[0] == results[1] == results[2]
