"""On the real worker, an Excel export (a sep line, semicolons, decimal commas, and cp1252 shown
only past the sample) split in parts: every part reads the format the whole file was found in,
and the job's profile is the single task's."""

from __future__ import annotations

from tests.unit.test_csv_profile_split import assert_same_profile
from tests.unit.test_split_formats import CASES


def test_split_profile_of_a_late_legacy_encoding_equals_the_single_task(user):
    """SUCCESS in 2 parts, the same profile, field by field."""
    content = CASES["excel export"]
    whole_id = user.submit("csv-profile", content=content, filename="late.csv")
    split_id = user.submit(
        "csv-profile", content=content, filename="late.csv", options={"parallel": 2}
    )
    whole = user.wait_pushed(whole_id, {"SUCCESS", "FAILURE"}, timeout=60)
    parted = user.wait_pushed(split_id, {"SUCCESS", "FAILURE"}, timeout=60)
    assert whole["state"] == "SUCCESS", whole["error"]
    assert parted["state"] == "SUCCESS", parted["error"]
    result = dict(parted["result"])
    assert result.pop("parts") == {"total": 2, "done": 2, "running": 0}
    assert (result["encoding"], result["decimal"], result["skipped_lines"]) == ("cp1252", ",", 1)
    assert_same_profile(result, whole["result"])
