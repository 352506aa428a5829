"""``make run`` (``python -m webapp.stack``): the whole stack in the foreground: Redis (embedded
unless ``REDIS_URL`` is set), a Celery worker, beat, and the web server on ``HOST:PORT``.

It says in one line when the port is taken, prints its ready line once its own web server
answers, restarts a worker or beat that exits, and stops every child on Ctrl-C, SIGTERM,
SIGHUP, or when the web server or Redis exits.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from webapp.processes import ROOT
from webapp.processes import port_is_free
from webapp.stack import Stack

# Where make run keeps Redis data, the beat schedule and the development secret.
DATA = Path(os.environ.get("TASKBOARD_DATA", ROOT / "data"))
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def on_stop_signal(signum, frame) -> None:
    """Ignore further stop signals, so nothing interrupts the stopping, and stop."""
    for each in STOP_SIGNALS:
        signal.signal(each, signal.SIG_IGN)
    raise KeyboardInterrupt


def supervise(stack: Stack) -> None:
    """Watch the children until Redis or the web server exits (SystemExit), restarting a
    worker or beat that exits, within reason."""
    restarts: list[float] = []
    while True:
        time.sleep(0.5)
        if stack.own_redis is not None and stack.own_redis.process.poll() is not None:
            raise SystemExit("Redis exited; stopping Taskboard")
        if stack.web.poll() is not None:
            raise SystemExit(f"the web server exited ({stack.web.returncode}); stopping Taskboard")
        for name in ("worker", "beat"):
            child = getattr(stack, name)
            if child.poll() is None:
                continue
            # A worker can die when Redis goes away under it; bring it back, within reason.
            restarts = [t for t in restarts if t > time.monotonic() - 60] + [time.monotonic()]
            if len(restarts) > 5:
                raise SystemExit(f"the {name} keeps exiting; stopping Taskboard")
            print(f"the {name} exited ({child.returncode}); restarting it", flush=True)
            stack.restart(name)


def main() -> None:
    """Run the whole stack until Ctrl-C, SIGTERM or SIGHUP."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    if not port_is_free(host, port):
        sys.exit(
            f"Port {port} on {host} is taken by another program; "
            f"stop it or choose another port: PORT={port + 1} make run"
        )
    settings = {
        "HOST": host,
        "PORT": str(port),
        "TASKBOARD_ENV": os.environ.get("TASKBOARD_ENV", "development"),
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR", str(DATA / "uploads")),
    }
    for signum in STOP_SIGNALS:
        signal.signal(signum, on_stop_signal)
    stack = None
    try:
        DATA.mkdir(parents=True, exist_ok=True)
        redis = os.environ.get("REDIS_URL") or None
        stack = Stack(DATA, settings, redis=redis, beat=True, logs=False)
        if stack.own_redis is not None:
            print(f"embedded Redis at {stack.redis_url}, data in {DATA / 'redis'}", flush=True)
        print(f"Taskboard ready at {stack.url}", flush=True)
        supervise(stack)
    except KeyboardInterrupt:
        print("stopping Taskboard", flush=True)
    except (RuntimeError, TimeoutError) as exc:
        raise SystemExit(f"Taskboard did not start: {exc}") from None
    finally:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        if stack is not None:
            stack.stop()
