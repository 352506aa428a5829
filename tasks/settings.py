"""Worker-side settings, read from the environment in one place."""

import os
from pathlib import Path

from kombu import Queue

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
BROKER_URL = os.environ.get("BROKER_URL") or REDIS_URL
UPLOAD_DIR = Path(
    os.environ.get("UPLOAD_DIR", Path(__file__).resolve().parent.parent / "data" / "uploads")
)
RESULT_EXPIRES_S = int(os.environ.get("RESULT_EXPIRES_S", str(7 * 24 * 3600)))
WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "0")) or os.cpu_count() or 1
# How long a running job may go without reporting before a cancel kills its process.
CANCEL_GRACE_S = float(os.environ.get("CANCEL_GRACE_S", "1.0"))
PROGRESS_INTERVAL_S = float(os.environ.get("PROGRESS_INTERVAL_S", "0.1"))
# A running job whose progress has not moved for this long, and that no live worker holds,
# is sent again (up to STALL_REDELIVERIES times), then marked FAILURE.
STALL_AFTER_S = float(os.environ.get("STALL_AFTER_S", "300"))
STALL_REDELIVERIES = int(os.environ.get("STALL_REDELIVERIES", "1"))
STALL_SWEEP_S = float(os.environ.get("STALL_SWEEP_S", "60"))
# A worker that has not answered the status command for this long is lost: its running jobs
# are sent again at once (within the same STALL_REDELIVERIES). Beat asks every WORKER_CHECK_S.
WORKER_LOST_S = float(os.environ.get("WORKER_LOST_S", "10"))
WORKER_CHECK_S = float(os.environ.get("WORKER_CHECK_S", "5"))
# Finished jobs and their files are removed after this many hours.
RETENTION_HOURS = float(os.environ.get("RETENTION_HOURS", str(7 * 24)))
# "text" (a line a person reads) or "json" (one JSON object per line), for web and workers.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")

TASK_TIME_LIMIT_S = int(os.environ.get("TASK_TIME_LIMIT_S", str(6 * 3600)))
# The Redis broker hands an unacknowledged message to another worker after this long. It must
# outlast the longest job, or a long job would run twice; dead workers' jobs are found sooner
# by the stall sweeper.
VISIBILITY_TIMEOUT_S = TASK_TIME_LIMIT_S + 600

CANCEL_KEY = "taskboard:cancel:{}"


def celery_config() -> dict:
    """Return the Celery configuration as one mapping."""
    return {
        "broker_url": BROKER_URL,
        "result_backend": REDIS_URL,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "result_extended": True,
        "result_expires": RESULT_EXPIRES_S,
        "task_track_started": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_pool": "prefork",
        "worker_concurrency": WORKER_CONCURRENCY,
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_S},
        "result_backend_transport_options": {"retry_policy": {"timeout": 5.0}},
        "redis_backend_health_check_interval": 10,
        # The periodic jobs; processors are found by the registry.
        "include": ["tasks.maintenance"],
        "task_default_queue": "default",
        "task_queues": [Queue("default"), Queue("heavy")],
        "task_routes": {
            "tasks.csv_to_xlsx.*": {"queue": "heavy"},
            "tasks.image_thumbnails.*": {"queue": "heavy"},
        },
        "task_time_limit": TASK_TIME_LIMIT_S,
        "beat_schedule": {
            # A sweep that waited past the next one is dropped: sweeps must not pile up.
            "sweep-stalled": {
                "task": "tasks.maintenance.sweep_stalled",
                "schedule": STALL_SWEEP_S,
                "options": {"expires": STALL_SWEEP_S},
            },
            "recover-lost": {
                "task": "tasks.maintenance.recover_lost",
                "schedule": WORKER_CHECK_S,
                "options": {"expires": WORKER_CHECK_S},
            },
            "purge-expired": {
                "task": "tasks.maintenance.purge_expired",
                "schedule": 3600.0,
                "options": {"expires": 3600.0},
            },
        },
    }
