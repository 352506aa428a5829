"""Reading CSV in blocks of text: the same rows, cells and errors as reading record by record,
whatever the block size."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tasks.formats import arrowtypes
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


def many_rows(n: int) -> str:
    """Return a CSV of ``n`` rows: unique ids, a few words and a heavy hitter, heavy hitters
    among many names, repeated and unique decimals, dates, a mixed column and nulls; ids,
    names and decimals are past the exact bounds (counted by sketches)."""
    rng = random.Random(7)
    lines = ["id,word,user,amount,day,mixed,score"]
    for i in range(n):
        word = (
            "Rome"
            if rng.random() < 0.3
            else rng.choice(["Oslo", "Lima", f"w{rng.randrange(20000)}"])
        )
        amount = (
            f"{rng.uniform(-1e4, 1e4):.{rng.choice([0, 1, 2, 3])}f}" if rng.random() < 0.9 else ""
        )
        user = (
            rng.choice(["anon", "anon", "anon", "bot"])
            if rng.random() < 0.3
            else f"u{rng.randrange(40000)}"
        )
        day = f"20{rng.randrange(10, 30)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        mixed = rng.choice(["1", "2.5", "true", "x", "", "2024-01-01", "-0", "007"])
        score = str(rng.randrange(100)) if rng.random() < 0.95 else "NA"
        lines.append(f"{i * 7919 % n},{word},{user},{amount},{day},{mixed},{score}")
    return "\n".join(lines) + "\n"


# Text Arrow reads as well as the csv module would, or must leave to it.
FOR_ARROW = {
    "byte order mark": "\ufeffa,b\n1,x\n\ufeff2,y\n",
    "latin-1": "nom;ville\n1;Orléans\n2;Besançon\n".encode("latin-1"),
    "tabs and spaces": "a\tb\n 1 \t x\n\t\n  \t  \n",
    "trailing delimiters": "a,b,c\n1,2,\n,,\n3,,4\n",
    "one column with commas": "v\n1\n2,3\n4\n",
    "blank and space lines": "a,b\n \n1,2\n\r\n3,4\n",
    "no last line break, crlf": "a,b\r\n1,2\r\n3,4",
    "null column": "a,b\n1,\n2,\n3,NA\n",
}


@pytest.mark.parametrize(
    "content",
    [*READ_IN_BLOCKS.values(), *FOR_ARROW.values(), many_rows(30_000)],
    ids=[*READ_IN_BLOCKS, *FOR_ARROW, "many rows"],
)
def test_profile_is_the_same_read_and_typed_by_arrow_or_in_python(profile, monkeypatch, content):
    """Profile alike, to the last bit and the last sketched count, whether Arrow reads and
    types the cells or the csv module reads them and the cell parse types them."""
    by_arrow = profile(content)
    monkeypatch.setattr(csvio.Rows, "_plain", lambda self, chunk: False)
    monkeypatch.setattr(arrowtypes, "classify", lambda values, first=None: None)
    assert profile(content) == by_arrow
