"""What a worker process adds to Celery: signal handlers that stamp messages and log each job's
events (:mod:`.events`), the log format (:mod:`.logs`), and the one status command the operations
page asks (:mod:`.status`). Imported by the Celery app, so every process that sends or runs tasks
has them."""

from tasks.worker import events
from tasks.worker import logs
from tasks.worker import status

__all__ = ["events", "logs", "status"]
