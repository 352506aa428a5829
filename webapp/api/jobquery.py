"""The job list's query: filter by state and processor, search by file name, sort, count, page.

The work is done in Redis by :mod:`tasks.joblist`; this module reads and checks the query
string, and answers what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app

from tasks import joblist
from tasks import jobstore
from tasks import registry
from webapp.errors import ApiError

MAX_Q = 200
# The value of ``batch`` that lists only the jobs sent alone, not as part of a batch.
BATCH_NONE = "none"


def parse_states(raw: str | None) -> frozenset[str] | None:
    """Return the states of a comma-separated list (None when absent), or answer 400."""
    if raw is None or raw == "":
        return None
    asked = {part.strip().upper() for part in raw.split(",")}
    unknown = sorted(asked - set(jobstore.STATES))
    if unknown:
        raise ApiError(
            400,
            "bad_state",
            f"Unknown state {', '.join(unknown)}: use {', '.join(jobstore.STATES)}.",
        )
    return frozenset(asked)


def parse_batch(raw: object) -> bool:
    """Return whether a filter's ``batch`` asks for the jobs in no batch only (``none``); an
    absent or empty one lists every job; anything else answers 400."""
    if raw is None or raw == "":
        return False
    if raw != BATCH_NONE:
        raise ApiError(
            400, "bad_batch", f"batch must be {BATCH_NONE!r} (the jobs in no batch) or left out."
        )
    return True


def parse_filter(
    args: Mapping[str, object],
) -> tuple[frozenset[str] | None, str | None, str | None]:
    """Return the (states, processor, search) a filter asks for, or answer 400."""
    raw_states = args.get("state")
    if raw_states is not None and not isinstance(raw_states, str):
        raise ApiError(400, "bad_state", "state must be a comma-separated list of states.")
    states = parse_states(raw_states)
    processor = args.get("processor")
    if processor is not None and processor != "":
        if not isinstance(processor, str) or registry.get(processor) is None:
            raise ApiError(400, "unknown_processor", "Filter by one of the listed processors.")
    else:
        processor = None
    q = args.get("q")
    if q is not None:
        if not isinstance(q, str):
            raise ApiError(400, "bad_query", "q must be text.")
        if len(q) > MAX_Q:
            raise ApiError(400, "bad_query", f"q must be at most {MAX_Q} characters.")
        q = q.strip() or None
    return states, processor, q


def parse_query(args: Mapping[str, str], owner: str) -> joblist.Query:
    """Return the list query of a request's arguments, or answer 400 (404 for a ``before``
    of no job of the user's)."""
    try:
        limit = int(args.get("limit", 50))
    except ValueError:
        raise ApiError(400, "bad_limit", "limit must be a whole number.") from None
    most = current_app.config["JOBS_PAGE_MAX"]
    if not 1 <= limit <= most:
        raise ApiError(400, "bad_limit", f"limit must be 1 to {most}.")
    sort = args.get("sort") or "newest"
    if sort not in joblist.SORTS:
        raise ApiError(400, "bad_sort", f"Unknown sort {sort!r}: use {', '.join(joblist.SORTS)}.")
    states, processor, q = parse_filter(args)
    cursor = None
    if args.get("cursor"):
        try:
            cursor = joblist.decode_cursor(args["cursor"])
        except ValueError:
            raise ApiError(400, "bad_cursor", "cursor must be a list's 'next' value.") from None
    elif args.get("before"):
        cursor = before_cursor(args["before"], owner, sort)
    no_batch = parse_batch(args.get("batch"))
    return joblist.Query(states, processor, q, sort, limit, cursor, no_batch)


def before_cursor(before: str, owner: str, sort: str) -> tuple[float, str]:
    """Return the cursor after the job ``before`` (the list's older paging); answer 400 for
    what is not a job id at all, 404 for an id of no job of the user's."""
    from webapp.extensions import store
    from webapp.live import canonical_id

    job_id = canonical_id(before)
    if job_id is None:
        raise ApiError(400, "bad_cursor", "before must be the id of a job in the list.")
    if sort == "duration":
        score = store().zscore(joblist.key(owner, "duration"), job_id)
    else:
        score = store().zscore(jobstore.USER_KEY.format(owner), job_id)
    if score is None:
        raise ApiError(404, "not_found", "No such job to page from.")
    return score, job_id
