"""The job contract, owned here and used by the web side and the workers alike: states and
every Redis key (:mod:`~tasks.jobstore.keys`), the values kept in records and backend entries
(:mod:`~tasks.jobstore.values`), the shared reads and writes of job records and the cancel flag
(:mod:`~tasks.jobstore.records`), and the indexes periodic work reads
(:mod:`~tasks.jobstore.periodic`). Callers use the names below, from this package.
"""

from __future__ import annotations

from tasks.jobstore.keys import ACTIVE_KEY
from tasks.jobstore.keys import CANCEL_FLAG_TTL_S
from tasks.jobstore.keys import CANCEL_KEY
from tasks.jobstore.keys import DONE_KEY
from tasks.jobstore.keys import EVENTS_CHANNEL
from tasks.jobstore.keys import FAILURE
from tasks.jobstore.keys import JOB_KEY
from tasks.jobstore.keys import JOB_LOG_KEY
from tasks.jobstore.keys import JOB_LOG_SEQ_KEY
from tasks.jobstore.keys import JOBS_KEY
from tasks.jobstore.keys import LOST_LOCK
from tasks.jobstore.keys import META_KEY
from tasks.jobstore.keys import OPEN_KEY
from tasks.jobstore.keys import OPS_TURN_KEY
from tasks.jobstore.keys import PENDING
from tasks.jobstore.keys import PROGRESS
from tasks.jobstore.keys import REDELIVER_CLAIM
from tasks.jobstore.keys import RETRY
from tasks.jobstore.keys import REVOKED
from tasks.jobstore.keys import RUNNING
from tasks.jobstore.keys import SCHEDULED
from tasks.jobstore.keys import SEEDED_KEY
from tasks.jobstore.keys import STALLED
from tasks.jobstore.keys import STARTED
from tasks.jobstore.keys import STATES
from tasks.jobstore.keys import SUCCESS
from tasks.jobstore.keys import SWEEP_LOCK
from tasks.jobstore.keys import TERMINAL
from tasks.jobstore.keys import TOKEN_KEY
from tasks.jobstore.keys import TOKEN_SOCKETS_KEY
from tasks.jobstore.keys import USER_JOBS_CHANNEL
from tasks.jobstore.keys import USER_KEY
from tasks.jobstore.keys import USER_TOKENS_KEY
from tasks.jobstore.keys import WORKERS_KEY
from tasks.jobstore.keys import WORKERS_SEEN_KEY
from tasks.jobstore.keys import WORKERS_VIEW_KEY
from tasks.jobstore.periodic import expired_jobs
from tasks.jobstore.periodic import note_finished
from tasks.jobstore.periodic import open_jobs
from tasks.jobstore.periodic import seed_indexes
from tasks.jobstore.records import Stalled
from tasks.jobstore.records import active_count
from tasks.jobstore.records import announce
from tasks.jobstore.records import cancel_requested
from tasks.jobstore.records import client
from tasks.jobstore.records import create
from tasks.jobstore.records import forget
from tasks.jobstore.records import get
from tasks.jobstore.records import get_with_meta
from tasks.jobstore.records import give_up
from tasks.jobstore.records import given_up
from tasks.jobstore.records import mark_started
from tasks.jobstore.records import note_retry
from tasks.jobstore.records import owned
from tasks.jobstore.records import page
from tasks.jobstore.records import read_many
from tasks.jobstore.records import remove
from tasks.jobstore.records import request_cancel
from tasks.jobstore.values import now_iso
from tasks.jobstore.values import parse_meta
from tasks.jobstore.values import parse_time
from tasks.jobstore.values import state_of
from tasks.jobstore.values import timestamp

__all__ = [
    "ACTIVE_KEY",
    "CANCEL_FLAG_TTL_S",
    "CANCEL_KEY",
    "DONE_KEY",
    "EVENTS_CHANNEL",
    "FAILURE",
    "JOBS_KEY",
    "JOB_KEY",
    "JOB_LOG_KEY",
    "JOB_LOG_SEQ_KEY",
    "LOST_LOCK",
    "META_KEY",
    "OPEN_KEY",
    "OPS_TURN_KEY",
    "PENDING",
    "PROGRESS",
    "REDELIVER_CLAIM",
    "RETRY",
    "REVOKED",
    "RUNNING",
    "SCHEDULED",
    "SEEDED_KEY",
    "STALLED",
    "STARTED",
    "STATES",
    "SUCCESS",
    "SWEEP_LOCK",
    "Stalled",
    "TERMINAL",
    "TOKEN_KEY",
    "TOKEN_SOCKETS_KEY",
    "USER_JOBS_CHANNEL",
    "USER_KEY",
    "USER_TOKENS_KEY",
    "WORKERS_KEY",
    "WORKERS_SEEN_KEY",
    "WORKERS_VIEW_KEY",
    "active_count",
    "announce",
    "cancel_requested",
    "client",
    "create",
    "expired_jobs",
    "forget",
    "get",
    "get_with_meta",
    "give_up",
    "given_up",
    "mark_started",
    "note_finished",
    "note_retry",
    "now_iso",
    "open_jobs",
    "owned",
    "page",
    "parse_meta",
    "parse_time",
    "read_many",
    "remove",
    "request_cancel",
    "seed_indexes",
    "state_of",
    "timestamp",
]
