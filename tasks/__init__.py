"""The Celery app: `celery -A tasks worker` starts a worker, `celery -A tasks beat` beat."""

from celery import Celery

from tasks import settings

app = Celery("tasks")
app.conf.update(settings.celery_config())
# shared_task binds to the current app, which is per thread; green threads and the web's
# request threads must all find this one.
app.set_default()
# Processor modules are found by the registry; importing it binds their tasks to this app.
from tasks import registry  # noqa: E402

registry.load()

__all__ = ["app"]
