"""Results on files that were right before these processors changed are the same, value for value.

tests/cases/same-as-before.json holds what the processors gave (the JSON results and every
cell of the workbook) before the encoding, dialect and header rules and the XlsxWriter writer.
"""

from __future__ import annotations

import json
from pathlib import Path

from tasks import registry
from tasks.processors import csv_profile
from tasks.processors import csv_to_xlsx
from tests.unit.golden import cells
from tests.unit.golden import same_input

BEFORE = json.loads((Path(__file__).parent.parent / "cases" / "same-as-before.json").read_text())


def test_profile_is_the_same_as_before(tmp_path, progress):
    """Profile the file exactly as before: every count, type, bound and top value."""
    src = tmp_path / "input"
    src.write_bytes(same_input())
    options = registry.get("csv-profile").validate({})
    result = csv_profile.work(src, tmp_path, options, progress)
    assert json.loads(json.dumps(result)) == BEFORE["csv-profile"]


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
