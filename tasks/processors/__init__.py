"""The processors that come with Taskboard, one module each, imported by name.

Each module declares its processor with :func:`tasks.registry.processor`; importing it is what
registers it, so :data:`BUILTIN` is the whole list, in the order the page offers them.
"""

from __future__ import annotations

import importlib

BUILTIN = ("checksum", "csv_profile", "csv_to_xlsx", "image_thumbnails", "simulate")


def load() -> None:
    """Import every built-in processor module, registering its processor and task."""
    for name in BUILTIN:
        importlib.import_module(f"{__name__}.{name}")
