"""A job that fails with a passing error is retried, and every snapshot says which attempt of
how many it is and, while it waits, when the next one starts."""

from __future__ import annotations

from tasks.jobstore import parse_time

FLAKY = {"steps": 4, "interval_ms": 50, "fail_attempts": 2}


def test_pushed_retries_carry_the_attempt_and_the_time_of_the_next(user):
    """Two passing errors: RETRY is pushed twice, with attempts 2 and 3 of 4 and a retry_at one
    then two seconds after the push; the third attempt succeeds."""
    job_id = user.submit("simulate", options=FLAKY)
    final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=30)
    assert final["state"] == "SUCCESS" and final["attempt"] == 3 and final["max_attempts"] == 4
    retries = [u for u in user.updates(job_id) if u["state"] == "RETRY"]
    assert [u["attempt"] for u in retries] == [2, 3]
    for update, backoff in zip(retries, (1, 2), strict=True):
        assert update["max_attempts"] == 4 and update["retry_at"] is not None
        assert update["error"] == "Retrying after a passing error: a simulated passing I/O error"
        wait = parse_time(update["retry_at"]).timestamp() - update["progress"]["ts"]
        assert backoff - 0.5 < wait < backoff + 0.5, (backoff, wait)
