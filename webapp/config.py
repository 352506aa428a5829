"""The Flask configuration: the settings of :mod:`tasks.settings`, and the values that follow."""

from __future__ import annotations

import secrets
from pathlib import Path

from tasks import settings as task_settings
from tasks.settings import ROOT
from tasks.settings import Settings

__all__ = ["ROOT", "Config"]


class Config:
    """The Flask configuration, from the one settings object (:mod:`tasks.settings`)."""

    def __init__(self, settings: Settings | None = None) -> None:
        s = settings or task_settings.current()
        for name in type(s).model_fields:
            setattr(self, name, getattr(s, name))
        self.UPLOAD_DIR = Path(s.UPLOAD_DIR)
        self.USERS_FILE = str(s.USERS_FILE)
        # The multipart envelope around the file: field headers, boundaries, other fields.
        self.MAX_CONTENT_LENGTH = s.MAX_UPLOAD_BYTES + 64 * 1024
        # Werkzeug applies this to its multipart buffer too: one 64 KiB read plus the bytes a
        # read may leave behind (a possible partial boundary). At 64 KiB, files with a line
        # break near a read's end (most) were refused with 413.
        self.MAX_FORM_MEMORY_SIZE = 128 * 1024
        self.MAX_OPTIONS_BYTES = 16 * 1024
        self.SECRET_KEY = s.SECRET_KEY or self._development_secret(s)
        self.JOBS_PAGE_MAX = 200
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.PERMANENT_SESSION_LIFETIME = int(s.SESSION_DAYS * 86400)
        # The token is checked from the X-CSRFToken header before the body is read
        # (webapp.check_csrf_header), not by Flask-WTF's form-first default.
        self.WTF_CSRF_CHECK_DEFAULT = False
        self.WTF_CSRF_TIME_LIMIT = None
        self.WTF_CSRF_SSL_STRICT = False
        self.RATELIMIT_STORAGE_URI = s.REDIS_URL
        self.RATELIMIT_HEADERS_ENABLED = True
        self.SOCKETIO_MAX_PAYLOAD = 64 * 1024

    @staticmethod
    def _development_secret(s: Settings) -> str | None:
        """Return a per-checkout secret in development; outside it a secret must be given."""
        if s.TASKBOARD_ENV != "development":
            return None
        path = Path(s.TASKBOARD_DATA) / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()
