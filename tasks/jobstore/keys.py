"""The job states and every Redis key of Taskboard's own records (Celery's are its own)."""

from __future__ import annotations

from celery import states

# States: Celery's, and the one Taskboard's progress reports add.
PENDING = states.PENDING
STARTED = states.STARTED
PROGRESS = "PROGRESS"
# A job given a later time (run_at) that has not been sent yet (tasks/later.py).
SCHEDULED = "SCHEDULED"
RETRY = states.RETRY
SUCCESS = states.SUCCESS
FAILURE = states.FAILURE
REVOKED = states.REVOKED
# Every state a snapshot may show, in the order a job goes through them.
STATES = (SCHEDULED, PENDING, STARTED, PROGRESS, RETRY, SUCCESS, FAILURE, REVOKED)
TERMINAL = frozenset(states.READY_STATES)
RUNNING = frozenset({STARTED, PROGRESS, RETRY})

# Keys: a job's record, its backend entry (Celery's name), a user's history and open jobs.
JOB_KEY = "taskboard:job:{}"
META_KEY = "celery-task-meta-{}"
USER_KEY = "taskboard:user:{}"
ACTIVE_KEY = "taskboard:active:{}"
# A job's own log lines (tasks/joblog.py), and the number of the last one.
JOB_LOG_KEY = "taskboard:joblog:{}"
JOB_LOG_SEQ_KEY = "taskboard:joblog-seq:{}"
# Set by a cancel, read by the job's progress reports.
CANCEL_KEY = "taskboard:cancel:{}"
# Job events from the worker side that the backend does not publish (deleted by retention).
EVENTS_CHANNEL = "taskboard:events"
# Each new job's id, on its owner's channel: web processes follow the jobs of their users.
USER_JOBS_CHANNEL = "taskboard:user-jobs:{}"
# Indexes, so that periodic work costs what is running, not what is retained: every job by
# creation time (retention), the unfinished ones (the sweeper, the operations counts), and the
# finished ones per state by finish time over the last hour (the operations counts).
JOBS_KEY = "taskboard:jobs"
OPEN_KEY = "taskboard:ops:open"
DONE_KEY = "taskboard:ops:done:{}"
SEEDED_KEY = "taskboard:indexes-seeded"
# The operations page: the workers' last answers.
WORKERS_KEY = "taskboard:ops:workers"
WORKERS_VIEW_KEY = "taskboard:ops:workers-view"
OPS_TURN_KEY = "taskboard:ops:turn"
# One stall sweep, and one lost-worker check, at a time across beat processes; one resend of
# a job at a time; when each worker last answered.
SWEEP_LOCK = "taskboard:sweep-lock"
LOST_LOCK = "taskboard:lost-lock"
REDELIVER_CLAIM = "taskboard:redelivering:{}"
WORKERS_SEEN_KEY = "taskboard:workers:seen"
# Personal API tokens: a token's record by the SHA-256 of the token, and each user's
# token ids (id -> that digest), for listing and revoking (webapp/tokens.py).
TOKEN_KEY = "taskboard:token:{}"
USER_TOKENS_KEY = "taskboard:tokens:{}"
# The Socket.IO connections opened with a token (by token id), closed when it is revoked.
TOKEN_SOCKETS_KEY = "taskboard:token-sockets:{}"

CANCEL_FLAG_TTL_S = 24 * 3600
STALLED = "The worker running this job stopped and the job could not be finished."
