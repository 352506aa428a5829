"""The processors that come with Taskboard, one module each, imported by name; then those of
other packages, named by their entry points in the group ``taskboard.processors``.

Each module declares its processor with :func:`tasks.registry.processor`; importing it is what
registers it, so :data:`BUILTIN` is the whole list of ours, in the order the page offers them.
A plugin's entry point names a module (or something in one) whose import does the same; see
docs/processors.md.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

BUILTIN = ("checksum", "csv_profile", "csv_to_xlsx", "image_thumbnails", "simulate")
PLUGIN_GROUP = "taskboard.processors"

log = logging.getLogger(__name__)


def load() -> None:
    """Import every built-in processor module, then every plugin's, registering each
    processor and its task; a plugin that fails to load is logged and skipped."""
    for name in BUILTIN:
        importlib.import_module(f"{__name__}.{name}")
    from tasks import registry

    for entry in entry_points(group=PLUGIN_GROUP):
        before = dict(registry.PROCESSORS)
        try:
            entry.load()
        except Exception:
            # One broken package must not take the web and the workers down with it.
            log.exception(
                "processor plugin %r (%s) failed to load; skipped", entry.name, entry.value
            )
        taken = [n for n in before if registry.PROCESSORS[n] is not before[n]]
        if taken:
            # A plugin may add processors, never replace one: keep what was there.
            registry.PROCESSORS.update({n: before[n] for n in taken})
            log.error("processor plugin %r redeclares %s; kept the first", entry.name, taken)
