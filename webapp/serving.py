"""The green WSGI servers, with a request line over their limit answered as the app answers
errors.

eventlet's and gevent's servers read at most ``URL_LIMIT`` bytes of a request line and answer a
longer one themselves, before the app sees it: 414 with an empty body. Here the same limit stays
(a huge address is never read whole), and the refusal is the app's own: the contract's JSON
error under the API, the site's error page elsewhere.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import RequestURITooLarge
from werkzeug.test import EnvironBuilder

from tasks.formats.amounts import size_text

URL_LIMIT = 8192  # bytes of the request line: both servers' default, about what browsers send
# After the refusal, what the client still sends is read and dropped, up to these bounds: closing
# with unread bytes would reset the connection, and the client could lose the answer.
DRAIN_BYTES = 4 * 1024 * 1024
DRAIN_S = 2.0


def serve_eventlet(sock: socket.socket, app: Flask) -> None:
    """Serve ``app`` with eventlet on the listening socket until stopped."""
    import eventlet.wsgi

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

    eventlet.wsgi.server(
        sock, app, log_output=False, max_size=10000, protocol=Protocol, url_length_limit=URL_LIMIT
    )


def serve_gevent(sock: socket.socket, app: Flask) -> None:
    """Serve ``app`` with gevent on the listening socket until stopped."""
    from gevent import pywsgi

    class Handler(pywsgi.WSGIHandler):
        """gevent's HTTP handler; a request line over the limit gets the app's 414."""

        def handle_one_request(self):
            result = super().handle_one_request()
            if not (isinstance(result, tuple) and result[0] == "414"):
                return result
            line = self.requestline.encode("latin-1")
            try:
                self.socket.sendall(refusal(self.application, line, pywsgi.MAX_REQUEST_LINE))
                drain(self.socket)
            except OSError:
                pass
            return ("414", b"")  # answered: gevent closes the connection

    pywsgi.WSGIServer(sock, app, log=None, handler_class=Handler).serve_forever()


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
        f"The request address is longer than the {size_text(limit)} this server reads: "
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
