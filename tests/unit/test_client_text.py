"""What the terminal client prints of a batch: its counts per state, and its deleted jobs."""

from __future__ import annotations

import pytest

from webapp.client.live import counts_text


@pytest.mark.parametrize(
    ("batch", "said"),
    [
        ({"counts": {"SUCCESS": 3, "PROGRESS": 1, "PENDING": 2}}, "3 done, 1 running, 2 queued"),
        ({"counts": {"SUCCESS": 2}, "deleted_jobs": 1}, "2 done, 1 deleted"),
        ({"counts": {}, "deleted_jobs": 0}, ""),
        ({}, ""),
    ],
)
def test_a_batch_counts_its_states_and_its_deleted_jobs(batch, said):
    """Each state with jobs, in the page's words, then the jobs deleted since the batch ran."""
    assert counts_text(batch) == said
