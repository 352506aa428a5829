"""The JSON API of the contract, one blueprint: each module adds the routes of one concern.

- :mod:`.session`: who is asking, the CSRF token, the processors
- :mod:`.jobs`: jobs over HTTP (with :mod:`.uploads`, :mod:`.imports`, :mod:`.cancel`,
  :mod:`.jobquery`)
- :mod:`.previews`: the images a job's result shows on its page
- :mod:`.control`: retry, and bulk actions on many jobs
- :mod:`.joblogs`: a job's own log lines
- :mod:`.batches`: many files as one batch (a Celery group), followed, cancelled, zipped as one
- :mod:`.schedules`: schedules of URL imports
- :mod:`.tokens`: personal API tokens (create, list, revoke)
- :mod:`.health`: ``/healthz``
- :mod:`.openapi`: the description of all of it, at ``/api/openapi.json`` (its own blueprint)
"""

from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.api import batches  # noqa: E402
from webapp.api import control  # noqa: E402
from webapp.api import health  # noqa: E402
from webapp.api import joblogs  # noqa: E402
from webapp.api import jobs  # noqa: E402
from webapp.api import previews  # noqa: E402
from webapp.api import schedules  # noqa: E402
from webapp.api import session  # noqa: E402
from webapp.api import tokens  # noqa: E402

__all__ = [
    "batches",
    "bp",
    "control",
    "health",
    "joblogs",
    "jobs",
    "previews",
    "schedules",
    "session",
    "tokens",
]
