"""Requests Taskboard makes to other servers (URL imports, webhooks), and the addresses they may
reach.

A user-given URL must not become a way into the stack's own network (server-side request
forgery): loopback, private (RFC 1918, RFC 4193), link-local (cloud metadata at 169.254.169.254),
shared, multicast, reserved and unspecified addresses are refused unless the setting
``FETCH_ALLOW_PRIVATE`` is on. The rule is applied twice:

- :func:`check_url` at submission, so that the user gets a 400 ``url_not_allowed`` at once (it
  resolves the name: a public name that points at 127.0.0.1 is refused too);
- on every connection a :func:`session` opens, to the address actually connected to, so that a
  redirect to a private address, or a name that resolves differently a second time (DNS
  rebinding), is refused as well.

    with outbound.session() as http:
        response = http.get(url, timeout=outbound.TIMEOUT_S, stream=True)

A session follows at most :data:`MAX_REDIRECTS` redirects, ignores proxy settings of the
environment (a proxy would hide the address connected to) and sends a Taskboard user agent.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool

from tasks import settings

MAX_REDIRECTS = 5
# Seconds to connect, and between two reads of the answer.
TIMEOUT_S = (5.0, 30.0)
USER_AGENT = "Taskboard"
SCHEMES = ("http", "https")


class URLNotAllowed(ValueError):
    """A URL Taskboard may not fetch; the message says why in one sentence."""

    code = "url_not_allowed"


def allowed_address(address: str, allow_private: bool | None = None) -> bool:
    """Return whether an IP address (text, v4 or v6) may be reached: a global unicast address,
    or any address when private ones are allowed (``FETCH_ALLOW_PRIVATE``)."""
    if allow_private is None:
        allow_private = settings.FETCH_ALLOW_PRIVATE
    if allow_private:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: object, allow_private: bool | None = None) -> str:
    """Return ``url`` when Taskboard may fetch it; raise :class:`URLNotAllowed` otherwise.

    The URL must be ``http`` or ``https`` with a host and no user name or password, and every
    address its host resolves to must be allowed (:func:`allowed_address`). A name that does
    not resolve is refused too.
    """
    if not isinstance(url, str) or not url.strip():
        raise URLNotAllowed("The URL is missing: give an http or https address.")
    url = url.strip()
    if len(url) > 2048:
        raise URLNotAllowed("The URL is longer than 2,048 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise URLNotAllowed(f"The URL cannot be read: {exc}.") from None
    if parts.scheme.lower() not in SCHEMES:
        raise URLNotAllowed("Only http and https URLs can be fetched.")
    if not parts.hostname:
        raise URLNotAllowed("The URL has no host name.")
    if parts.username is not None or parts.password is not None:
        raise URLNotAllowed("URLs with a user name or password are not fetched.")
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise URLNotAllowed(f"The host name {host!r} does not resolve.") from None
    for info in infos:
        address = info[4][0]
        if not allowed_address(address, allow_private):
            raise URLNotAllowed(
                f"{host} is a loopback, private or link-local address ({address}): Taskboard "
                "does not fetch from its own network."
            )
    return url


def _check_peer(connection: HTTPConnection) -> None:
    """Close a connection made to an address that may not be reached, and raise."""
    address = connection.sock.getpeername()[0]
    if not allowed_address(address):
        connection.close()
        raise URLNotAllowed(
            f"{connection.host} is a loopback, private or link-local address ({address}): "
            "Taskboard does not fetch from its own network."
        )


class _CheckedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _check_peer(self)


class _CheckedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _check_peer(self)


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    """A transport whose every connection checks the address it reached."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


def session() -> requests.Session:
    """Return a requests session for user-given URLs: each connection's address checked, at
    most :data:`MAX_REDIRECTS` redirects, no proxies from the environment.

    A refused address raises :class:`URLNotAllowed` from the request (requests may wrap it in
    ``requests.ConnectionError``; :func:`refusal` finds it).
    """
    http = requests.Session()
    http.trust_env = False
    http.max_redirects = MAX_REDIRECTS
    http.headers["User-Agent"] = USER_AGENT
    adapter = _CheckedAdapter(max_retries=0)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def refusal(exc: BaseException) -> URLNotAllowed | None:
    """Return the :class:`URLNotAllowed` behind an exception a session raised, if any."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, URLNotAllowed):
            return current
        stack.extend([current.__cause__, current.__context__])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        stack.append(getattr(current, "reason", None))
    return None
