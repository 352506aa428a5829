"""Prometheus metrics of a web process, at ``GET /metrics``.

Everything is counted on the web side, nothing in the workers (whose prefork children would
need the client's multiprocess mode, a shared directory and an HTTP port of their own):

- per process: jobs submitted and upload bytes (where the upload was taken), Socket.IO
  connections, relayed updates and relay lag (what this process's relay does);
- once for the whole cluster: jobs finished and their durations. Every web process's relay sees
  every job end; the first to record the end in Redis counts it (``jobstore.note_finished``),
  so ``sum()`` over the web processes is the cluster's count;
- read at scrape time from the broker: queue lengths and the age of their oldest messages, the
  same on every process (take ``max()`` across processes, not ``sum()``).
"""

from __future__ import annotations

import logging
import math
import time

import prometheus_client
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import PlatformCollector
from prometheus_client import ProcessCollector
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from tasks import jobstore
from webapp.extensions import socketio
from webapp.live import relay
from webapp.ops import overview

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
# Counters without their *_created series, which nobody here queries.
prometheus_client.disable_created_metrics()
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

JOBS_SUBMITTED = Counter(
    "taskboard_jobs_submitted", "Jobs created through the API.", ["processor"], registry=REGISTRY
)
UPLOAD_BYTES = Counter(
    "taskboard_upload_bytes", "Bytes of files taken as jobs.", ["processor"], registry=REGISTRY
)
UPLOADS_REFUSED = Counter(
    "taskboard_uploads_refused",
    "Uploads the API refused, by error code.",
    ["code"],
    registry=REGISTRY,
)
JOBS_FINISHED = Counter(
    "taskboard_jobs_finished",
    "Jobs that ended, by final state; each job is counted by one web process only.",
    ["processor", "state"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "taskboard_job_duration_seconds",
    "How long jobs ran, from start to end (jobs cancelled before starting are left out).",
    ["processor", "state"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800, 21600),
    registry=REGISTRY,
)
RELAY_LAG = Histogram(
    "taskboard_relay_lag_seconds",
    "From a worker storing a progress update (its clock) to this relay building its snapshot.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)


def job_created(snapshot: dict) -> None:
    """Count a job the API created, and its file's bytes."""
    processor = str(snapshot.get("processor") or "unknown")
    JOBS_SUBMITTED.labels(processor).inc()
    UPLOAD_BYTES.labels(processor).inc(max(0, int(snapshot.get("size") or 0)))


def upload_refused(code: str) -> None:
    """Count an upload the API refused."""
    UPLOADS_REFUSED.labels(code or "unknown").inc()


def snapshot_relayed(snapshot: dict) -> None:
    """Measure how late a progress update reached the relay."""
    ts = (snapshot.get("progress") or {}).get("ts")
    if snapshot.get("state") == "PROGRESS" and isinstance(ts, int | float):
        RELAY_LAG.observe(max(0.0, time.time() - ts))


def job_finished(snapshot: dict) -> None:
    """Count a job's end and how long it ran."""
    processor = str(snapshot.get("processor") or "unknown")
    state = snapshot["state"]
    JOBS_FINISHED.labels(processor, state).inc()
    started = jobstore.timestamp(snapshot.get("started_at"))
    finished = jobstore.timestamp(snapshot.get("finished_at"))
    if started is not None and finished is not None and finished >= started:
        JOB_DURATION.labels(processor, state).observe(finished - started)


class ScrapeTimeCollector:
    """The values read when Prometheus scrapes: connections, the relay's counts, the queues."""

    def collect(self):
        """Yield the metric families read now."""
        rooms = socketio.server.manager.rooms.get("/", {}) if socketio.server else {}
        # A copy: in threading mode connections come and go while this counts.
        connections = sum(1 for sid in list(rooms.get(None, {}).values()) if sid is not None)
        yield GaugeMetricFamily(
            "taskboard_socketio_connections", "Socket.IO connections to this process.", connections
        )
        yield CounterMetricFamily(
            "taskboard_relayed_updates", "Job events this relay pushed to tabs.", relay.relayed
        )
        yield GaugeMetricFamily(
            "taskboard_relay_connected",
            "1 while this relay listens to Redis.",
            int(relay.connected),
        )
        yield from self.queue_families()

    def queue_families(self):
        """Yield each queue's length and its oldest message's age (NaN when unknown)."""
        try:
            found = overview.queues(current_app._get_current_object())
        except Exception as exc:  # a broker that does not answer leaves these out
            log.warning("metrics: queues not read: %s", exc)
            return
        length = GaugeMetricFamily(
            "taskboard_queue_length", "Messages waiting in a queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "taskboard_queue_oldest_age_seconds",
            "How long the oldest message of a queue has waited (0 when empty).",
            labels=["queue"],
        )
        for queue in found:
            if queue["length"] is not None:
                length.add_metric([queue["name"]], queue["length"])
            oldest = queue["oldest_age_s"]
            age.add_metric([queue["name"]], math.nan if oldest is None else oldest)
        yield length
        yield age


REGISTRY.register(ScrapeTimeCollector())


@bp.get("/metrics")
def metrics():
    """Answer the metrics in Prometheus's text format (or OpenMetrics, when asked for)."""
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(REGISTRY), content_type=content_type)
