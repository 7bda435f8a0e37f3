"""Prometheus metrics at ``GET /metrics``: requests, latency, limiter rejections, faults.

Served on the API port to the admin token, or without one on ``metrics_address``
(api/metrics_listener.py; docs/behaviour.md#admin-token).

With several worker processes prometheus_client's multiprocess mode is used: ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start (the variable is
read when prometheus_client is first imported), each worker writes its values there, and a
scrape answered by any worker adds up all of them. One process keeps its own registry, so
several apps in one process (the tests) never share or clash.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics import Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import Response

#: Seconds; from a cached page to requests that run into the 30 s deadline.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Every metric of one server process."""

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        registry = None if multiprocess_dir else CollectorRegistry()
        self.registry = registry
        self.requests = Counter(
            "orderitems_requests",
            "Requests answered, by operation and status code.",
            ["operation", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "orderitems_request_duration_seconds",
            "Time from a request's arrival to its answer, by operation.",
            ["operation"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.rejections = Counter(
            "orderitems_rate_limit_rejections",
            "Requests refused with 429 by the rate limiter, by operation.",
            ["operation"],
            registry=registry,
        )
        self.faults = Counter(
            "orderitems_injected_faults",
            "Requests that met an injected sandbox fault, by operation and fault.",
            ["operation", "fault"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "orderitems_database_work_in_progress",
            "Database work running now, including work past its deadline not yet stopped.",
            registry=registry,
            multiprocess_mode="livesum",
        )

    def observe(self, operation: str, status: int, seconds: float) -> None:
        self.requests.labels(operation, str(status)).inc()
        self.latency.labels(operation).observe(seconds)

    def scrape_registry(self) -> CollectorRegistry:
        """What a scrape reads: this process's registry, or every worker's files summed."""
        if self.registry is not None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return registry

    def response(self) -> Response:
        return Response(generate_latest(self.scrape_registry()), media_type=CONTENT_TYPE_LATEST)
