"""The one settings object: typed, read once, documented, with clear errors for bad values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tasks import settings
from tasks.settings import Settings
from tasks.settings import SettingsError
from tasks.settings import load

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_settings() -> set[str]:
    """Return the setting names of the README's settings table."""
    names: set[str] = set()
    in_table = False
    for line in README.read_text().splitlines():
        if line.startswith("| setting |"):
            in_table = True
        elif in_table and not line.startswith("|"):
            break
        elif in_table:
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_readme_table_lists_every_setting_and_no_other():
    """Document each setting of the object in the README's table, and nothing else there."""
    assert documented_settings() == set(Settings.model_fields)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        (
            {"WORKER_CONCURRENCY": "abc"},
            "WORKER_CONCURRENCY='abc': Input should be a valid integer",
        ),
        ({"PORT": "70000"}, "PORT='70000'"),
        ({"AUTH_MODE": "open"}, "AUTH_MODE='open': Input should be 'anonymous' or 'accounts'"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT='xml'"),
        ({"STALL_AFTER_S": "-1"}, "STALL_AFTER_S='-1': Input should be greater than 0"),
        ({"SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE='maybe'"),
    ],
)
def test_bad_value_names_the_setting_and_why(environ, named):
    """Refuse a bad value with the setting's name, its value and the reason."""
    with pytest.raises(SettingsError) as caught:
        load(environ)
    assert named in str(caught.value)


def test_defaults_work_for_make_run():
    """Derive the broker, upload folder and concurrency when they are not given."""
    s = load({})
    assert s.BROKER_URL == s.REDIS_URL == "redis://127.0.0.1:6379/0"
    assert s.UPLOAD_DIR == s.TASKBOARD_DATA / "uploads"
    assert s.WORKER_CONCURRENCY >= 1
    assert s.SOCKETIO_MESSAGE_QUEUE == s.REDIS_URL
    assert s.VISIBILITY_TIMEOUT_S > s.TASK_TIME_LIMIT_S


def test_values_are_typed_and_frozen():
    """Read values with their types, and refuse changes to the object."""
    s = load({"PORT": "8080", "SESSION_COOKIE_SECURE": "1", "SOCKETIO_MESSAGE_QUEUE": ""})
    assert (s.PORT, s.SESSION_COOKIE_SECURE, s.SOCKETIO_MESSAGE_QUEUE) == (8080, True, "")
    with pytest.raises(ValueError):
        s.PORT = 1


def test_module_attributes_read_the_process_settings():
    """Read ``settings.NAME`` from the object, and refuse names that are not settings."""
    assert settings.REDIS_URL == settings.current().REDIS_URL
    with pytest.raises(AttributeError):
        settings.NOT_A_SETTING  # noqa: B018
