"""Results on files that were right before these processors changed are the same, value for value.

tests/cases/same-as-before.json holds what the processors gave (the JSON results and every
cell of the workbook) before the encoding, dialect and header rules and the XlsxWriter writer.
A profile's mean and standard deviation are now the exact ones rounded once: they may differ
from the file's only where the file's were not that (the test computes them with fractions).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tasks import registry
from tasks.formats import csvtypes
from tasks.processors import csv_profile
from tasks.processors import csv_to_xlsx
from tests.unit.golden import cells
from tests.unit.golden import rounded_moments
from tests.unit.golden import same_input

BEFORE = json.loads((Path(__file__).parent.parent / "cases" / "same-as-before.json").read_text())


MOMENTS = ("mean", "stddev")


def test_profile_is_the_same_as_before(tmp_path, progress):
    """Profile the file exactly as before: every count, type, bound and top value; the mean
    and deviation rounded once from their exact values (the same where those were right)."""
    src = tmp_path / "input"
    src.write_bytes(same_input())
    options = registry.get("csv-profile").validate({})
    result = json.loads(json.dumps(csv_profile.work(src, tmp_path, options, progress)))
    before = BEFORE["csv-profile"]
    assert without_moments(result) == without_moments(before)
    records = list(csv.reader(io.StringIO(same_input().decode())))[1:]
    for i, column in enumerate(result["columns"]):
        numbers = [csvtypes.parse(record[i]) for record in records]
        numbers = [v for kind, v in numbers if kind in (csvtypes.INTEGER, csvtypes.FLOAT)]
        exact = rounded_moments(numbers) if column["mean"] is not None else (None, None)
        assert (column["mean"], column["stddev"]) == exact, column["name"]


def without_moments(profile: dict) -> dict:
    """Return a profile without its columns' means and deviations."""
    columns = [{k: v for k, v in c.items() if k not in MOMENTS} for c in profile["columns"]]
    return profile | {"columns": columns}


def test_only_wrong_moments_changed(tmp_path, progress):
    """Where the file's mean or deviation was the exact one rounded once, it is unchanged."""
    src = tmp_path / "input"
    src.write_bytes(same_input())
    options = registry.get("csv-profile").validate({})
    result = csv_profile.work(src, tmp_path, options, progress)
    changed = [
        (new["name"], field)
        for new, old in zip(result["columns"], BEFORE["csv-profile"]["columns"], strict=True)
        for field in MOMENTS
        if new[field] != old[field]
    ]
    # The mean of "amount" was its sum rounded (math.fsum), then divided by n: rounded
    # twice, its last bit was off.
    assert changed == [("amount", "mean")]


def test_workbook_is_the_same_as_before(tmp_path, progress):
    """Write the same cells as before: values, types and quote prefixes, sheet by sheet."""
    src = tmp_path / "input"
    src.write_bytes(same_input())
    out = tmp_path / "output"
    out.mkdir()
    options = registry.get("csv-to-xlsx").validate({})
    result = csv_to_xlsx.work(src, out, options, progress)
    assert json.loads(json.dumps(result)) == BEFORE["csv-to-xlsx"]
    assert cells(out / result["output"]) == BEFORE["cells"]
