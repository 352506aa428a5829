"""Which addresses user-given URLs may reach: checked at submission and on every connection."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from http.server import HTTPServer

import pytest
import requests

from tasks import outbound
from tasks import settings
from tasks.outbound import URLNotAllowed


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
    ],
)
def test_private_addresses_are_refused(address):
    """Loopback, private, link-local, shared, multicast and mapped addresses are not reached."""
    assert not outbound.allowed_address(address, allow_private=False)
    assert outbound.allowed_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert outbound.allowed_address(address, allow_private=False)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "missing"),
        (None, "missing"),
        ("ftp://example.org/x.csv", "http and https"),
        ("file:///etc/passwd", "http and https"),
        ("http:///x", "no host"),
        ("http://user:pw@example.org/", "user name"),
        ("http://127.0.0.1:5000/healthz", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://example.invalid/", "does not resolve"),
        ("http://example.org:99999/", "cannot be read"),
    ],
)
def test_check_url_refuses_with_a_sentence(url, words):
    """Each refused URL says why, in words a user reads."""
    with pytest.raises(URLNotAllowed, match=words):
        outbound.check_url(url, allow_private=False)


class Redirector(BaseHTTPRequestHandler):
    """Answers /data with a body and anything else with a redirect to /data."""

    def do_GET(self):  # noqa: N802 - the http.server name
        if self.path == "/data":
            body = b"a,b\n1,2\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(302)
            self.send_header("Location", "/data")
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = HTTPServer(("127.0.0.1", 0), Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_session_refuses_the_address_it_connects_to(local_server, monkeypatch):
    """Even a URL that passed no check (or a name that re-resolved) is refused on connecting."""
    monkeypatch.setattr(settings, "FETCH_ALLOW_PRIVATE", False)
    with outbound.session() as http, pytest.raises(Exception) as caught:
        http.get(local_server + "/data", timeout=outbound.TIMEOUT_S)
    assert outbound.refusal(caught.value) is not None


def test_a_session_reaches_private_addresses_when_allowed(local_server, monkeypatch):
    """FETCH_ALLOW_PRIVATE=1 lets a session fetch from the local network, redirects included."""
    monkeypatch.setattr(settings, "FETCH_ALLOW_PRIVATE", True)
    with outbound.session() as http:
        response = http.get(local_server + "/start", timeout=outbound.TIMEOUT_S)
    assert response.status_code == 200 and response.content == b"a,b\n1,2\n"
    assert len(response.history) == 1


def test_a_session_follows_at_most_five_redirects(monkeypatch):
    """A sixth redirect is refused (requests.TooManyRedirects)."""
    monkeypatch.setattr(settings, "FETCH_ALLOW_PRIVATE", True)

    class Loop(Redirector):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", self.path + "x")
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), Loop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with outbound.session() as http, pytest.raises(requests.TooManyRedirects):
            http.get(f"http://127.0.0.1:{server.server_port}/", timeout=outbound.TIMEOUT_S)
    finally:
        server.shutdown()
        server.server_close()
