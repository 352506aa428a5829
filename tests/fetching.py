"""A real HTTP server serving the URL-import tests' files, and the stack that fetches from it
(shared by the URL-import and schedule tests)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from tests.parts import MAX_UPLOAD_BYTES

CSV = b"name,count\n" + b"".join(b"row%d,%d\n" % (i, i) for i in range(20000))
# What /paused.csv sends before it waits: a few KB, far less than one read of a whole chunk.
PAUSED_AFTER = 3000


class Files(BaseHTTPRequestHandler):
    """Answers: a CSV, a redirect to it, a redirect to a private address, one too large
    (declared, or only found while streaming), one dripped a few bytes at a time, the CSV's
    first bytes then the rest once ``resume`` is set, and the times each path was asked."""

    hits: dict[str, list[float]] = {}
    resume = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        """Answer by path."""
        path = self.path.split("?", 1)[0]
        self.hits.setdefault(path, []).append(time.time())
        if path == "/paused.csv":
            self.pause_after(CSV, PAUSED_AFTER)
        elif path.endswith(".csv") and not path.startswith("/big"):
            self.answer(CSV, "text/csv")
        elif path == "/moved":
            self.redirect(f"http://127.0.0.1:{self.server.server_port}/data/moved.csv")
        elif path == "/to-private":
            self.redirect(f"http://127.0.0.2:{self.server.server_port}/data/secret.csv")
        elif path == "/big-declared.csv":
            self.answer(b"a,b\n" * (MAX_UPLOAD_BYTES // 4 + 1000), "text/csv")
        elif path == "/big-streamed.csv":
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.end_headers()  # no length: read until the connection closes
            self.close_connection = True
            try:
                for _ in range(MAX_UPLOAD_BYTES // 65536 + 8):
                    self.wfile.write(b"a,b\n" * 16384)
            except OSError:
                pass
        elif path == "/drip":
            # A server that never stalls long enough for a read timeout, yet never finishes.
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(240):
                    self.wfile.write(b"a,b\n")
                    self.wfile.flush()
                    time.sleep(0.25)
            except OSError:
                pass
        else:
            self.send_error(404)

    def answer(self, body: bytes, kind: str) -> None:
        """Send a body with its length."""
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def pause_after(self, body: bytes, first: int) -> None:
        """Send a body's first bytes, then the rest once ``resume`` is set (10 s at most)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body[:first])
            self.wfile.flush()
            self.resume.wait(10)
            self.wfile.write(body[first:])
        except OSError:
            pass

    def redirect(self, location: str) -> None:
        """Send a redirect."""
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        """Stay quiet."""


class FilesServer:
    """The test files, served on a free port of every address (127.0.0.2 reaches it too)."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("0.0.0.0", 0), Files)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hits(self, path: str) -> list[float]:
        """Return when each request for ``path`` came."""
        return list(Files.hits.get(path, []))

    def hold(self) -> None:
        """Make /paused.csv wait after its first bytes until :meth:`release`."""
        Files.resume.clear()

    def release(self) -> None:
        """Let /paused.csv send the rest."""
        Files.resume.set()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
