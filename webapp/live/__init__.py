"""The live path: the relay that pushes what the Redis backend publishes to the owners' tabs
(:mod:`.relay`) and the Socket.IO handlers (:mod:`.events`); the one snapshot shape is
:mod:`tasks.snapshot`, which the workers use too."""

from webapp.live import batches  # noqa: F401 - batch events follow the relay's job snapshots
from webapp.live.events import canonical_id
from webapp.live.events import snapshot_of
from webapp.live.relay import relay
from webapp.live.rooms import push
from webapp.live.rooms import room_of

__all__ = ["canonical_id", "push", "relay", "room_of", "snapshot_of"]
