"""The Celery app: `celery -A tasks worker` starts a worker, `celery -A tasks beat` beat.

The parts are wired here by name: the worker's signals, logs and status command, URL imports,
the sender of jobs run later and of schedules' runs (a thread of each worker), each queue's line
of waiting jobs, the periodic jobs, then the processors (each module's ``@processor`` makes its
task on this app).
"""

from celery import Celery

from tasks import settings

app = Celery("tasks")
app.conf.update(settings.celery_config())
# shared_task binds to the current app, which is per thread; green threads and the web's
# request threads must all find this one.
app.set_default()

from tasks import imports  # noqa: E402
from tasks import later  # noqa: E402
from tasks import maintenance  # noqa: E402
from tasks import processors  # noqa: E402
from tasks import queueline  # noqa: E402
from tasks import retention  # noqa: E402
from tasks import schedules  # noqa: E402
from tasks import worker  # noqa: E402

processors.load()

__all__ = [
    "app",
    "imports",
    "later",
    "maintenance",
    "queueline",
    "retention",
    "schedules",
    "worker",
]
