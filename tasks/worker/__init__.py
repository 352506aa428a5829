"""What a worker process adds to Celery: signal handlers that stamp messages and log each job's
events (:mod:`.events`), and that tell owners of their jobs' ends (:mod:`.endings`), the log
format (:mod:`.logs`), the one status command the operations page and beat ask
(:mod:`.status`), and when each worker last answered it (:mod:`.liveness`).
Imported by the Celery app, so every process that sends or runs tasks has them."""

from tasks.worker import endings
from tasks.worker import events
from tasks.worker import liveness
from tasks.worker import logs
from tasks.worker import status

__all__ = ["endings", "events", "liveness", "logs", "status"]
