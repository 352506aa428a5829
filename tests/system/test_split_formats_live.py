"""On the real worker, an Excel export (a sep line, semicolons, decimal commas, and cp1252 shown
only past the sample) split in parts: every part reads the format the whole file was found in,
and the job's profile is the single task's."""

from __future__ import annotations

from tests.system.test_split_live import profiled_whole_and_split
from tests.unit.test_csv_profile_split import assert_same_profile
from tests.unit.test_split_formats import CASES


def test_split_profile_of_a_late_legacy_encoding_equals_the_single_task(user):
    """SUCCESS in 2 parts, the same profile, field by field."""
    whole, parted, _ = profiled_whole_and_split(user, CASES["excel export"], "late.csv", 2)
    assert (parted["encoding"], parted["decimal"], parted["skipped_lines"]) == ("cp1252", ",", 1)
    assert_same_profile(parted, whole)
