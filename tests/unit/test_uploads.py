"""Client file names are cleaned for display; they never name anything on disk."""

from __future__ import annotations

import pytest

from webapp.api.uploads import clean_filename
from webapp.api.uploads import stem


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.csv", "report.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\data.csv", "data.csv"),
        ("a\x00b\nc\x1b[31m.txt", "abc[31m.txt"),
        ("..", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("Cafe\u0301 \u65e5\u672c.csv", "Caf\u00e9 \u65e5\u672c.csv"),
        ("\u202egnp.exe", "gnp.exe"),
        ("x" * 300 + ".csv", "x" * 196 + ".csv"),
    ],
)
def test_client_file_name_is_cleaned(raw, clean):
    """Folders, control and format characters go; Unicode is normalized; length is capped."""
    assert clean_filename(raw) == clean


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.csv", "a"), ("a.b.csv", "a.b"), ("noext", "noext"), (".hidden", ".hidden")],
)
def test_stem_drops_the_last_extension(name, expected):
    """The download name is built from the upload's name without its extension."""
    assert stem(name) == expected
