"""A processor from another package: the example plugin, installed by pip, runs as a job."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.parts import ROOT
from tests.parts import RedisServer
from tests.parts import Stack
from tests.parts import User

EXAMPLE = ROOT / "docs" / "examples" / "taskboard-wordcount"


@pytest.fixture(scope="module")
def plugin_stack(tmp_path_factory):
    """Install the example plugin into a folder of its own and start a stack that sees it.

    Its own Redis: a worker without the plugin must never be handed one of its jobs.
    """
    site = tmp_path_factory.mktemp("plugin-site")
    # A copy: building in place would leave build/ and .egg-info/ in the checkout.
    source = shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("plugin-source") / "wordcount")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation"]
        + ["--no-deps", "--target", str(site), str(source)],
        check=True,
        timeout=300,
    )
    redis_server = RedisServer(tmp_path_factory.mktemp("plugin-redis"))
    running = Stack(redis_server, tmp_path_factory.mktemp("plugin"), PYTHONPATH=str(site))
    yield running
    running.stop()
    redis_server.stop()


def test_plugin_processor_is_listed_and_runs_as_a_job(plugin_stack):
    """The entry point's processor is offered, takes options and ends with its result."""
    user = User(plugin_stack.url)
    user.connect()
    try:
        listed = {p["name"]: p for p in user.http.get(plugin_stack.url + "/api/processors").json()}
        assert listed["wordcount"]["title"] == "Count words"
        assert {"checksum", "simulate"} <= set(listed)
        text = b"the quick brown fox\njumps over the lazy dog\n" * 1000
        job_id = user.submit(
            "wordcount", content=text, filename="fox.txt", options={"min_length": 4}
        )
        final = user.wait_pushed(job_id, {"SUCCESS", "FAILURE"}, timeout=30)
        assert final["state"] == "SUCCESS", final["error"]
        assert final["result"] == {"lines": 2000, "words": 5000, "bytes": len(text)}
        assert final["progress"]["unit"] == "bytes"
        refused = user.upload("wordcount", options={"min_length": 0})
        assert refused.status_code == 400
    finally:
        user.close()
