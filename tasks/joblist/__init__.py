"""A user's job list, filtered, searched, sorted and counted in Redis, at any number of jobs.

:mod:`tasks.joblist.indexes` keeps the indexes as jobs are created, end and are deleted;
:mod:`tasks.joblist.upkeep` settles them when the list is read; :mod:`tasks.joblist.query`
reads a page of them, and :mod:`tasks.joblist.mirror` searches the file names.
"""

from __future__ import annotations

from tasks.joblist.indexes import ENDED_STATES
from tasks.joblist.indexes import GONE_MAX
from tasks.joblist.indexes import OPEN
from tasks.joblist.indexes import OPEN_STATES
from tasks.joblist.indexes import PREFIX
from tasks.joblist.indexes import SEEDED
from tasks.joblist.indexes import all_jobs
from tasks.joblist.indexes import by_state
from tasks.joblist.indexes import index_ended
from tasks.joblist.indexes import index_new
from tasks.joblist.indexes import key
from tasks.joblist.indexes import no_batch
from tasks.joblist.indexes import unindex
from tasks.joblist.query import SORTS
from tasks.joblist.query import Page
from tasks.joblist.query import Query
from tasks.joblist.query import decode_cursor
from tasks.joblist.query import encode_cursor
from tasks.joblist.query import search
from tasks.joblist.upkeep import compact
from tasks.joblist.upkeep import settle

__all__ = [
    "ENDED_STATES",
    "GONE_MAX",
    "OPEN",
    "OPEN_STATES",
    "PREFIX",
    "SEEDED",
    "SORTS",
    "Page",
    "Query",
    "all_jobs",
    "by_state",
    "compact",
    "decode_cursor",
    "encode_cursor",
    "index_ended",
    "index_new",
    "key",
    "no_batch",
    "search",
    "settle",
    "unindex",
]
