"""eventlet's WSGI server, with a request line over its limit answered as the app answers errors.

eventlet reads at most ``URL_LIMIT`` bytes of a request line and answers a longer one itself,
before the app sees it: 414 with an empty body. Here the same limit stays (a huge address is
never read whole), and the refusal is the app's own: the contract's JSON error under the API,
the site's error page elsewhere.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import eventlet.wsgi
from flask import Flask
from werkzeug.exceptions import RequestURITooLarge
from werkzeug.test import EnvironBuilder

URL_LIMIT = 8192  # bytes of the request line: eventlet's default, and about what browsers send
# After the refusal, what the client still sends is read and dropped, up to these bounds: closing
# with unread bytes would reset the connection, and the client could lose the answer.
DRAIN_BYTES = 4 * 1024 * 1024
DRAIN_S = 2.0


class Protocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP protocol; a request line over the limit gets the app's 414."""

    def _read_request_line(self):
        line = super()._read_request_line()
        if len(line) < self.server.url_length_limit:
            return line
        try:
            self.wfile.write(refusal(self.server.app, line, self.server.url_length_limit))
            self.wfile.flush()
            drain(self.connection)
        except OSError:
            pass  # the client went away: nothing to answer
        return ""  # what eventlet takes for a closed connection: it closes this one


def refusal(app: Flask, line: bytes, limit: int) -> bytes:
    """Return the app's whole HTTP answer to a request line cut at ``limit`` bytes, judged by
    the method and path it starts with."""
    method, _, rest = line.partition(b" ")
    target = urlsplit(rest.split(b" ", 1)[0].decode("latin-1"))
    environ = EnvironBuilder(
        path=target.path if target.path.startswith("/") else "/",
        method=method.decode("latin-1")[:16] or "GET",
    ).get_environ()
    exc = RequestURITooLarge(
        f"The request address is longer than this server reads ({limit:,} bytes): "
        "send long values in the body."
    )
    with app.request_context(environ):
        response = app.finalize_request(app.handle_user_exception(exc), from_error_handler=True)
    body = response.get_data()
    response.headers["Content-Length"] = str(len(body))
    response.headers["Connection"] = "close"
    head = [f"HTTP/1.1 {response.status}"] + [f"{k}: {v}" for k, v in response.headers.items()]
    return "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body


def drain(sock: socket.socket) -> None:
    """Read and drop what the client still sends, within ``DRAIN_BYTES`` and ``DRAIN_S``."""
    sock.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + DRAIN_S
    left = DRAIN_BYTES
    while left > 0:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(left, 65536))
        except OSError:
            return
        if not chunk:
            return
        left -= len(chunk)


def serve(sock: socket.socket, app: Flask) -> None:
    """Serve ``app`` on the listening socket until stopped."""
    eventlet.wsgi.server(
        sock,
        app,
        log_output=False,
        max_size=10000,
        protocol=Protocol,
        url_length_limit=URL_LIMIT,
    )
