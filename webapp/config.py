"""Every web setting, from the environment, with its default, in one place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tasks import settings as task_settings

ROOT = Path(__file__).resolve().parent.parent


def env_int(name: str, default: int) -> int:
    """Read an integer setting from the environment."""
    return int(os.environ.get(name, str(default)))


class Config:
    """Settings read from the environment when the app is created."""

    def __init__(self) -> None:
        self.TASKBOARD_ENV = os.environ.get("TASKBOARD_ENV", "production")
        self.HOST = os.environ.get("HOST", "127.0.0.1")
        self.PORT = env_int("PORT", 5000)
        self.REDIS_URL = task_settings.REDIS_URL
        self.BROKER_URL = task_settings.BROKER_URL
        self.UPLOAD_DIR = Path(task_settings.UPLOAD_DIR)
        self.MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 2 * 1024**3)
        # The multipart envelope around the file: field headers, boundaries, other fields.
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_BYTES + 64 * 1024
        # Werkzeug applies this to its multipart buffer too: one 64 KiB read plus the bytes a
        # read may leave behind (a possible partial boundary). At 64 KiB, files with a line
        # break near a read's end (most) were refused with 413.
        self.MAX_FORM_MEMORY_SIZE = 128 * 1024
        self.MAX_OPTIONS_BYTES = 16 * 1024
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or self._development_secret()
        self.ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")
        self.CANCEL_GRACE_S = task_settings.CANCEL_GRACE_S
        self.JOBS_PAGE_MAX = 200
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
        self.PERMANENT_SESSION_LIFETIME = env_int("SESSION_DAYS", 365) * 86400
        # The token is checked from the X-CSRFToken header before the body is read
        # (webapp.check_csrf_header), not by Flask-WTF's form-first default.
        self.WTF_CSRF_CHECK_DEFAULT = False
        self.WTF_CSRF_TIME_LIMIT = None
        self.WTF_CSRF_SSL_STRICT = False
        # Who may use Taskboard: "anonymous" (an identity per browser) or "accounts" (USERS_FILE).
        self.AUTH_MODE = os.environ.get("AUTH_MODE", "anonymous")
        self.USERS_FILE = os.environ.get("USERS_FILE", str(ROOT / "users.json"))
        # Uploads per user, and sign-in attempts per address (Flask-Limiter's notation).
        self.UPLOAD_RATE_LIMIT = os.environ.get("UPLOAD_RATE_LIMIT", "300/minute")
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10/minute")
        # Queued plus running jobs one user may have at a time.
        self.MAX_ACTIVE_JOBS = env_int("MAX_ACTIVE_JOBS", 100)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL
        self.RATELIMIT_HEADERS_ENABLED = True
        # Proxies in front that set X-Forwarded-For and -Proto (1 behind the compose nginx).
        self.PROXY_COUNT = env_int("PROXY_COUNT", 0)
        self.SOCKETIO_MAX_PAYLOAD = 64 * 1024
        # Where web processes pass each other the emits one of them makes (empty: none).
        self.SOCKETIO_MESSAGE_QUEUE = os.environ.get("SOCKETIO_MESSAGE_QUEUE", self.REDIS_URL)
        self.LOG_FORMAT = task_settings.LOG_FORMAT
        # The operations page: how often it is refreshed while someone watches it, and how
        # long workers have to answer each time.
        self.OPS_REFRESH_S = float(os.environ.get("OPS_REFRESH_S", "2.0"))
        self.OPS_INSPECT_TIMEOUT_S = float(os.environ.get("OPS_INSPECT_TIMEOUT_S", "0.5"))
        # A worker that missed answers for less than this is still online (a busy moment).
        self.OPS_ONLINE_GRACE_S = float(
            os.environ.get(
                "OPS_ONLINE_GRACE_S", str(2 * self.OPS_REFRESH_S + self.OPS_INSPECT_TIMEOUT_S)
            )
        )

    def _development_secret(self) -> str | None:
        """Return a per-checkout secret in development; outside it a secret must be given."""
        if self.TASKBOARD_ENV != "development":
            return None
        path = Path(os.environ.get("TASKBOARD_DATA", ROOT / "data")) / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()
