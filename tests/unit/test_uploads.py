"""Client file names are cleaned for display; they never name anything on disk."""

from __future__ import annotations

import pytest

from tests.hostile import NAMES
from tests.hostile import NAMES_ESCAPED
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


@pytest.mark.parametrize(("sent", "shown"), NAMES.values(), ids=NAMES.keys())
def test_hostile_file_name_is_cleaned(sent, shown):
    """Every hostile name of the shared set is shown as the system tests expect."""
    assert clean_filename(sent) == shown


@pytest.mark.parametrize(("sent", "shown"), NAMES_ESCAPED.values(), ids=NAMES_ESCAPED.keys())
def test_file_name_escaped_by_a_form_loses_its_line_breaks(sent, shown):
    """CR, LF and the quote as a browser sends them in a multipart body (%0D, %0A, %22) are
    undone before cleaning, so no line break stays in a stored name; unescaped, the same."""
    escaped = sent.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")
    assert clean_filename(escaped) == clean_filename(sent) == shown


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.csv", "a"), ("a.b.csv", "a.b"), ("noext", "noext"), (".hidden", ".hidden")],
)
def test_stem_drops_the_last_extension(name, expected):
    """The download name is built from the upload's name without its extension."""
    assert stem(name) == expected
