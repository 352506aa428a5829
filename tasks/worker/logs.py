"""How Taskboard logs: lines a person reads, or one JSON object per line (``LOG_FORMAT=json``).

The web process calls :func:`configure` from its app factory. A worker keeps the handler Celery
puts on the root logger (``worker_hijack_root_logger`` is off) and gets the same formatter
through Celery's logging signals below. Either way a JSON line carries ``ts``, ``level``,
``logger``, ``message``, ``process``, ``pid`` and, for a line about a job, ``job_id``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC
from datetime import datetime
from typing import Any

from celery.signals import after_setup_logger
from celery.signals import after_setup_task_logger

from tasks import settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What a log call may add with ``extra=``. Nothing else is written: handlers attach more (Celery
# puts a task's arguments in ``data``), and arguments may hold what a user sent.
FIELDS = ("job_id", "event", "processor", "state", "duration_s", "worker", "attempt", "exc_type")
# Lines written before they carried ``job_id`` still say "job <id> ...".
JOB_IN_MESSAGE = re.compile(
    r"\bjob ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"
)
# Celery's own lines on each task: "succeeded" quotes the task's result, and failures and
# retries quote the exception, both of which can hold a user's data (a CSV cell, say).
# tasks.worker.events logs those events without them.
CELERY_TRACE = "celery.app.trace"


class LogFormatter(logging.Formatter):
    """Format a record as a line of text or, with ``json_lines``, as one JSON object."""

    def __init__(self, json_lines: bool = False) -> None:
        super().__init__(TEXT_FORMAT)
        self.json_lines = json_lines

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line (a JSON object), or as text."""
        if not self.json_lines:
            return super().format(record)
        return json.dumps(self.fields(record), default=str)

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        """Return what a JSON line says of a record."""
        message = record.getMessage()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "process": record.processName,
            "pid": record.process,
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if "job_id" not in entry and (found := JOB_IN_MESSAGE.search(message)):
            entry["job_id"] = found.group(1)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return entry


def wants_json(log_format: str | None = None) -> bool:
    """Tell whether the setting asks for JSON lines."""
    return (log_format or settings.LOG_FORMAT).strip().lower() == "json"


def configure(log_format: str | None = None, level: int = logging.INFO) -> None:
    """Send this process's records to stderr in the chosen format (a web process calls this)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "taskboard", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.taskboard = True
        root.addHandler(handler)
    handler.setFormatter(LogFormatter(wants_json(log_format)))
    root.setLevel(level)


@after_setup_logger.connect
@after_setup_task_logger.connect
def format_worker_logs(logger: logging.Logger, **kwargs: Any) -> None:
    """Give a worker's handlers the JSON formatter when asked, and quiet Celery's task trace."""
    logging.getLogger(CELERY_TRACE).setLevel(logging.CRITICAL)
    if wants_json():
        for handler in logger.handlers:
            handler.setFormatter(LogFormatter(json_lines=True))
