"""Loading processors from entry points: a plugin's import declares it; a broken one is skipped."""

from __future__ import annotations

import logging
import sys

import pytest

from tasks import processors
from tasks import registry


def install(site, name: str, module: str, source: str) -> None:
    """Write a module and the metadata pip would write for a package whose entry point names it."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[taskboard.processors]\n{name} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Return a folder on the import path whose packages importlib.metadata sees."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("tb_plugin_ok", "tb_plugin_broken", "tb_plugin_taker"):
        sys.modules.pop(name, None)
    registry.PROCESSORS.pop("unit-plugin", None)


def test_plugin_is_loaded_after_the_builtins_and_a_broken_one_is_skipped(site, caplog):
    """A plugin's processor is registered; a plugin that raises on import is logged, not fatal."""
    install(site, "broken-plugin", "tb_plugin_broken", "raise RuntimeError('no luck')\n")
    install(
        site,
        "ok-plugin",
        "tb_plugin_ok",
        "from tasks import registry\n"
        "@registry.processor('unit-plugin', title='Unit', unit='items',"
        " task_name='tb_plugin_ok.run')\n"
        "def run(src, out, options, progress):\n"
        "    return {}\n",
    )
    with caplog.at_level(logging.ERROR, logger="tasks.processors"):
        processors.load()
    assert registry.get("unit-plugin").task.name == "tb_plugin_ok.run"
    assert "broken-plugin" in caplog.text and "no luck" in caplog.text
    assert {"checksum", "simulate"} <= set(registry.PROCESSORS)


def test_plugin_cannot_replace_a_processor(site, caplog):
    """A plugin that declares a name already taken is logged; the first processor stays."""
    checksum = registry.get("checksum")
    install(
        site,
        "taker-plugin",
        "tb_plugin_taker",
        "from tasks import registry\n"
        "@registry.processor('checksum', title='Fake', unit='items',"
        " task_name='tb_plugin_taker.run')\n"
        "def run(src, out, options, progress):\n"
        "    return {}\n",
    )
    with caplog.at_level(logging.ERROR, logger="tasks.processors"):
        processors.load()
    assert registry.get("checksum") is checksum
    assert "taker-plugin" in caplog.text
