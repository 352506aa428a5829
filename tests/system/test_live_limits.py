"""Live connections per user are capped per web process, with a reason the client can show."""

from __future__ import annotations

import socketio

from tests.parts import User
from tests.parts import wait_for

CAP = 20  # MAX_CONNECTIONS_PER_USER's default


def open_socket(user: User) -> socketio.Client:
    """Open one more Socket.IO connection with the user's session cookie."""
    sio = socketio.Client(reconnection=False)
    cookie = "; ".join(f"{k}={v}" for k, v in user.http.cookies.items())
    sio.connect(user.url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    return sio


def test_connection_past_the_cap_is_refused_with_a_reason_and_freed_on_close(stack):
    """Refuse one user's connection past the cap, say why, and take it once one closes."""
    user = User(stack.url)
    other = User(stack.url)
    sockets = [open_socket(user) for _ in range(CAP)]
    try:
        refused = socketio.Client(reconnection=False)
        reasons = []
        refused.on("connect_error", reasons.append)
        cookie = "; ".join(f"{k}={v}" for k, v in user.http.cookies.items())
        try:
            refused.connect(
                user.url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10
            )
            raise AssertionError("a connection past the cap was accepted")
        except socketio.exceptions.ConnectionError:
            assert "too_many_connections" in str(reasons[0])
        # Another user is not affected by this one's connections.
        open_socket(other).disconnect()
        sockets.pop().disconnect()
        wait_for(lambda: try_connect(user), 10)
    finally:
        for sio in sockets:
            sio.disconnect()


def try_connect(user: User) -> bool:
    """Tell whether one more connection of the user is accepted (and close it)."""
    try:
        sio = open_socket(user)
    except socketio.exceptions.ConnectionError:
        return False
    sio.disconnect()
    return True
