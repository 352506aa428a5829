"""The Redis broker's message of a worker that is gone, put back in its queue once: a message
taken and not acknowledged goes back to the head of its queue; one already back is left."""

from __future__ import annotations

import uuid

from celery import Celery

from tasks.worker import unacked


def test_a_message_held_unacknowledged_goes_back_once(redis_server):
    """Taken by a consumer that never acknowledges it (a killed worker): take_back finds it in
    ``unacked`` and puts it back in its queue; asked again, it says the message is not held."""
    app = Celery(broker=redis_server.url.rsplit("/", 1)[0] + "/5")
    queue = f"q-{uuid.uuid4().hex}"
    task_id = str(uuid.uuid4())
    try:
        app.send_task("tasks.checksum.checksum", task_id=task_id, queue=queue)
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            client = channel.client
            # What a worker's prefetch does: the message leaves the queue for ``unacked``.
            message = channel.basic_get(queue, no_ack=False)
            assert message is not None and client.llen(queue) == 0
            assert client.hlen(channel.unacked_key) == 1
            assert unacked.take_back(task_id, app) is True
            assert client.llen(queue) == 1 and client.hlen(channel.unacked_key) == 0
            assert unacked.take_back(task_id, app) is False
            assert unacked.take_back(str(uuid.uuid4()), app) is False
            client.delete(queue)
    finally:
        app.close()
