"""Every setting of Taskboard, web and worker alike: one typed object, read once from the
environment (pydantic-settings), with a clear error for a bad value.

    from tasks import settings
    settings.REDIS_URL          # the value of the one object, ``settings.current()``

A module attribute reads the object's field of the same name; a test may set one on the module
(``monkeypatch.setattr(settings, "UPLOAD_DIR", ...)``), which then wins. The README's settings
table lists exactly these fields (a test checks).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any
from typing import Literal

from kombu import Queue
from pydantic import Field
from pydantic import ValidationError
from pydantic import model_validator
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DAY_S = 24 * 3600


class SettingsError(SystemExit):
    """A setting whose value cannot be used; the message names it and says why."""


class Settings(BaseSettings):
    """The settings, by their environment names; defaults work for ``make run``."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True)

    # Where things are.
    TASKBOARD_ENV: Literal["production", "development"] = "production"
    TASKBOARD_DATA: Path = ROOT / "data"
    HOST: str = "127.0.0.1"
    PORT: int = Field(5000, ge=0, le=65535)
    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    BROKER_URL: str = ""
    UPLOAD_DIR: Path | None = None
    # The web server.
    SECRET_KEY: str = ""
    ASYNC_MODE: Literal["eventlet", "gevent", "threading"] = "eventlet"
    MAX_UPLOAD_BYTES: int = Field(2 * 1024**3, gt=0)
    SOCKETIO_MESSAGE_QUEUE: str | None = None
    SESSION_DAYS: float = Field(365, gt=0)
    SESSION_COOKIE_SECURE: bool = False
    AUTH_MODE: Literal["anonymous", "accounts"] = "anonymous"
    USERS_FILE: Path = ROOT / "users.json"
    UPLOAD_RATE_LIMIT: str = "300/minute"
    LOGIN_RATE_LIMIT: str = "10/minute"
    # Queued, scheduled and running jobs per user; a batch counts each file. The default takes
    # a batch of MAX_BATCH_FILES beside as many other jobs (docs/batches.md, "Limits").
    MAX_ACTIVE_JOBS: int = Field(1000, gt=0)
    MAX_BATCH_FILES: int = Field(500, gt=0)
    PROXY_COUNT: int = Field(0, ge=0)
    MAX_CONNECTIONS_PER_USER: int = Field(20, gt=0)
    OPS_REFRESH_S: float = Field(2.0, gt=0)
    OPS_INSPECT_TIMEOUT_S: float = Field(0.5, gt=0)
    OPS_ONLINE_GRACE_S: float | None = Field(None, gt=0)
    LOG_FORMAT: Literal["text", "json"] = "text"
    # Requests to other servers (URL imports, webhooks).
    FETCH_ALLOW_PRIVATE: bool = False
    # The longest a URL import's download may take in all: a server sending a few bytes now
    # and then never trips the timeout between reads.
    FETCH_MAX_S: float = Field(3600.0, gt=0)
    # Telling owners that their jobs ended (tasks/notify.py): mail, webhooks, retries.
    SMTP_HOST: str = ""
    SMTP_PORT: int = Field(25, ge=1, le=65535)
    SMTP_USER: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = False
    MAIL_FROM: str = "taskboard@localhost"
    PUBLIC_URL: str = ""
    WEBHOOK_SECRET: str = ""
    NOTIFY_RETRY_BASE_S: float = Field(30, gt=0)
    NOTIFY_RETRIES: int = Field(8, ge=0)
    # Jobs run later, and schedules (tasks/later.py, tasks/schedules.py).
    RUN_AT_MAX_DAYS: float = Field(30, gt=0)
    SCHEDULE_MIN_INTERVAL_S: float = Field(60, gt=0)
    # The workers.
    WORKER_CONCURRENCY: int = Field(0, ge=0)
    CANCEL_GRACE_S: float = Field(1.0, ge=0)
    PROGRESS_INTERVAL_S: float = Field(0.1, ge=0)
    TASK_TIME_LIMIT_S: int = Field(6 * 3600, gt=0)
    RESULT_EXPIRES_S: int = Field(7 * DAY_S, gt=0)
    # The sweeper and retention (beat).
    STALL_AFTER_S: float = Field(300, gt=0)
    STALL_REDELIVERIES: int = Field(1, ge=0)
    STALL_SWEEP_S: float = Field(60, gt=0)
    # A worker silent this long (the status command, asked every WORKER_CHECK_S) is lost.
    WORKER_LOST_S: float = Field(10, gt=0)
    WORKER_CHECK_S: float = Field(5, gt=0)
    RETENTION_HOURS: float = Field(7 * 24, gt=0)

    @model_validator(mode="after")
    def fill_derived(self) -> Settings:
        """Fill the defaults that follow from other settings."""
        derived = {
            "BROKER_URL": self.BROKER_URL or self.REDIS_URL,
            "UPLOAD_DIR": self.UPLOAD_DIR or self.TASKBOARD_DATA / "uploads",
            "WORKER_CONCURRENCY": self.WORKER_CONCURRENCY or os.cpu_count() or 1,
        }
        if self.OPS_ONLINE_GRACE_S is None:
            # Two refreshes and the timeout: one missed answer does not make a worker offline.
            derived["OPS_ONLINE_GRACE_S"] = 2 * self.OPS_REFRESH_S + self.OPS_INSPECT_TIMEOUT_S
        if not self.PUBLIC_URL:
            derived["PUBLIC_URL"] = f"http://{self.HOST}:{self.PORT}"
        if self.SOCKETIO_MESSAGE_QUEUE is None:
            derived["SOCKETIO_MESSAGE_QUEUE"] = self.REDIS_URL
        for name, value in derived.items():
            object.__setattr__(self, name, value)
        return self

    @property
    def VISIBILITY_TIMEOUT_S(self) -> int:  # noqa: N802 - read like the settings beside it
        """How long the Redis broker waits before handing an unacknowledged message to another
        worker: it must outlast the longest job, or a long job would run twice (dead workers'
        jobs are found sooner by the stall sweeper)."""
        return self.TASK_TIME_LIMIT_S + 600

    @property
    def CHECK_EVERY_S(self) -> float:  # noqa: N802 - read like the settings beside it
        """How often beat sends the workers check: every ``WORKER_CHECK_S``, or every
        ``STALL_SWEEP_S`` if that is shorter (the stall sweep runs within the check)."""
        return min(self.WORKER_CHECK_S, self.STALL_SWEEP_S)


def load(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (the process's environment by default); raise
    :class:`SettingsError` naming each bad setting, its value and why."""
    values = dict(os.environ if environ is None else environ)
    names = Settings.model_fields
    try:
        return Settings(**{k: v for k, v in values.items() if k in names})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "settings"
            value = values.get(name, "")
            problems.append(f"{name}={value!r}: {error['msg']}")
        raise SettingsError("Bad setting: " + "; ".join(problems)) from None


@cache
def current() -> Settings:
    """Return the settings of this process, read once."""
    return load()


def __getattr__(name: str) -> Any:
    """Read ``settings.NAME`` from the process's settings object."""
    if name.isupper():
        return getattr(current(), name)
    raise AttributeError(name)


def celery_config() -> dict:
    """Return the Celery configuration as one mapping."""
    s = current()
    return {
        "broker_url": s.BROKER_URL,
        "result_backend": s.REDIS_URL,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "result_extended": True,
        "result_expires": s.RESULT_EXPIRES_S,
        "task_track_started": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_pool": "prefork",
        "worker_concurrency": s.WORKER_CONCURRENCY,
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": s.VISIBILITY_TIMEOUT_S},
        "result_backend_transport_options": {"retry_policy": {"timeout": 5.0}},
        "redis_backend_health_check_interval": 10,
        "task_default_queue": "default",
        "task_queues": [Queue("default"), Queue("heavy")],
        "task_routes": {
            "tasks.csv_to_xlsx.*": {"queue": "heavy"},
            "tasks.image_thumbnails.*": {"queue": "heavy"},
        },
        "task_time_limit": s.TASK_TIME_LIMIT_S,
        "beat_schedule": {
            # A sweep that waited past the next one is dropped: sweeps must not pile up.
            # One check for both the lost workers and the stalled jobs: two periodic tasks on
            # one busy worker can starve each other (see tasks/maintenance.check_workers).
            "check-workers": {
                "task": "tasks.maintenance.check_workers",
                "schedule": s.CHECK_EVERY_S,
                "options": {"expires": s.CHECK_EVERY_S},
            },
            "purge-expired": {
                "task": "tasks.retention.purge_expired",
                "schedule": 3600.0,
                "options": {"expires": 3600.0},
            },
        },
    }
