"""``GET /metrics`` on an address of its own (``metrics_address``), without a token.

The usual Prometheus practice: the scrape port is bound where only the scraper reaches it
(e.g. ``127.0.0.1:9100``), apart from the API. Every worker process binds the same address
with ``SO_REUSEPORT``, so whichever the kernel hands a scrape to answers it, and with several
workers each answer already sums them all (prometheus_client's multiprocess directory).
"""

from __future__ import annotations

import socket
import socketserver
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from orderitems.api.metrics import Metrics


def metrics_bind(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9100`` for IPv6) as a host and a port; ``ValueError`` else."""
    host, colon, port = address.strip().rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"ORDERITEMS_METRICS_ADDRESS {address!r} is not host:port, e.g. 127.0.0.1:9100."
        )
    return host, int(port)


class _ScrapeServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    allow_reuse_port = True  # every worker of one server binds it


class _ScrapeServer6(_ScrapeServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """No line per scrape on stderr: the access log is the API's."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def check_metrics_address(address: str) -> None:
    """Bind it once, as a worker will, so that a taken address stops ``serve`` at start."""
    host, port = metrics_bind(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ValueError(
                f"ORDERITEMS_METRICS_ADDRESS {address}: cannot listen there ({exc.strerror})."
            ) from None


class MetricsListener:
    """The scrape listener of one server process, on a thread of its own."""

    def __init__(self, metrics: Metrics, address: str) -> None:
        self.metrics = metrics
        self.address = address
        self.server: WSGIServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        host, port = metrics_bind(self.address)
        self.server = make_server(
            host,
            port,
            make_wsgi_app(self.metrics.scrape_registry()),
            server_class=_ScrapeServer6 if ":" in host else _ScrapeServer,
            handler_class=_QuietHandler,
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="orderitems-metrics", daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.thread is not None:
            self.thread.join(timeout=5)
            self.thread = None
