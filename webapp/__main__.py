"""``python -m webapp``: the web server alone, in the async mode the settings choose."""

import os
import warnings

# Green modes patch the standard library before anything else imports it, the settings module
# (pydantic, kombu) included: so this one setting is read here, as tasks.settings reads it.
ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    # eventlet is in maintenance mode and says so on import; the setting is the user's choice.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import socket  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.processes import INSTANCE_HEADER  # noqa: E402


def listener(host: str, port: int) -> socket.socket:
    """Open the listening socket with TCP_NODELAY, which accepted sockets inherit.

    Without it, back-to-back pushes on a connection wait about 40 ms for Nagle's algorithm.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def main() -> None:
    """Serve the app until stopped."""
    app = create_app()
    instance = os.environ.get("TASKBOARD_INSTANCE")
    if instance:
        # The stack that started this server tells it by this token, not by its port alone:
        # another server answering on the port is not this one.
        @app.after_request
        def tell_instance(response):
            response.headers[INSTANCE_HEADER] = instance
            return response

    host, port = app.config["HOST"], app.config["PORT"]
    app.logger.info("serving on http://%s:%d (%s)", host, port, ASYNC_MODE)
    if ASYNC_MODE == "eventlet":
        from webapp import serving

        serving.serve_eventlet(listener(host, port), app)
    elif ASYNC_MODE == "gevent":
        from webapp import serving

        serving.serve_gevent(listener(host, port), app)
    else:
        # What socketio.run does in threading mode, on the listener above.
        from werkzeug.serving import make_server

        sock = listener(host, port)
        make_server(host, port, app, threaded=True, fd=sock.fileno()).serve_forever()


if __name__ == "__main__":
    main()
