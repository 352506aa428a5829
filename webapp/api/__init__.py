"""The JSON API of the contract, one blueprint: each module adds the routes of one concern.

- :mod:`.session`: who is asking, the CSRF token, the processors
- :mod:`.jobs`: jobs over HTTP (with :mod:`.uploads`, :mod:`.imports` and :mod:`.cancel`)
- :mod:`.schedules`: schedules of URL imports
- :mod:`.tokens`: personal API tokens (create, list, revoke)
- :mod:`.health`: ``/healthz``
- :mod:`.openapi`: the description of all of it, at ``/api/openapi.json`` (its own blueprint)
"""

from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.api import health  # noqa: E402
from webapp.api import jobs  # noqa: E402
from webapp.api import schedules  # noqa: E402
from webapp.api import session  # noqa: E402
from webapp.api import tokens  # noqa: E402

__all__ = ["bp", "health", "jobs", "schedules", "session", "tokens"]
