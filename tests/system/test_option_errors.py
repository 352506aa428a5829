"""Bad options are refused in the words of JSON, the language they were sent in: ``null``,
``true``, ``"yes"``, never Python's ``None``, ``True`` or ``'yes'``; and briefly, a long value
named by its bad part or its length, not repeated back."""

from __future__ import annotations

import json

import pytest

CASES = [
    ("csv-profile", {"parallel": None}, "parallel: null is not of type"),
    ("csv-profile", {"parallel": "yes"}, 'parallel: "yes" is not of type'),
    ("simulate", {"steps": True}, "steps: true is not of type 'integer'"),
    ("simulate", {"steps": [1]}, "steps: [1] is not of type 'integer'"),
    ("checksum", {"algorithms": ["sha256", False]}, "algorithms.1: false is not"),
    # A long value is not repeated back: its bad part, or its length, is named.
    (
        "image-thumbnails",
        {"sizes": list(range(16, 2000))},
        "sizes: 1,984 values given, more than it takes: 5",
    ),
    ("image-thumbnails", {"sizes": [128, 512, 128]}, "sizes: 128 is given more than once"),
    ("image-thumbnails", {"format": "x" * 500}, "format: a text of 500 characters is not one of"),
]


@pytest.mark.parametrize(("processor", "options", "said"), CASES)
def test_bad_option_is_named_in_json_terms(user, processor, options, said):
    """The 400 names the option and its value as JSON writes it, and no job is made."""
    response = user.http.post(
        user.url + "/api/jobs",
        files={"file": ("a.csv", b"a,b\n1,2\n")},
        data={"processor": processor, "options": json.dumps(options)},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_options"
    assert said in error["message"], error["message"]
    assert len(error["message"]) < 200, error["message"]
    assert not any(word in error["message"] for word in ("None", "True", "False", "'yes'"))
    assert user.http.get(user.url + "/api/jobs").json()["jobs"] == []
