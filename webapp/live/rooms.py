"""Socket.IO rooms: one per user, holding every connection of theirs on every web process."""

from __future__ import annotations

from collections.abc import Callable

from webapp.extensions import socketio

ROOM_PREFIX = "user:"
# Called after a connection joined its user's room (presence.py greets it with the workers).
connect_hooks: list[Callable[[], None]] = []


def room_of(user: str) -> str:
    """Return the room that holds every connection of one user."""
    return ROOM_PREFIX + user


def connected_users() -> list[str]:
    """Return the users with a connection to this process."""
    rooms = socketio.server.manager.rooms.get("/", {})
    return [
        room[len(ROOM_PREFIX) :]
        for room, members in rooms.items()
        if isinstance(room, str) and room.startswith(ROOM_PREFIX) and members
    ]


def push(owner: str, payload: dict) -> None:
    """Push a job event this process made to the owner's connections on every web process."""
    socketio.emit("job", payload, to=room_of(owner))
