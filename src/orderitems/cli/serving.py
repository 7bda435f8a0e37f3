"""Running ``serve``: uvicorn with the guarded protocol and a graceful drain on every process.

On SIGTERM or SIGINT a server process (docs/behaviour.md#health-and-shutdown):

1. begins to drain: ``/readyz`` answers 503 and every answer closes its connection;
2. keeps accepting for ``drain_delay_seconds``, so that a balancer probing ``/readyz`` stops
   sending before connections are refused;
3. stops accepting, closes idle connections, lets the requests in flight finish within
   ``shutdown_grace_seconds`` (uvicorn's graceful shutdown), and exits 0.

A second SIGINT (Ctrl-C twice) stops at once. With ``--workers N`` uvicorn's supervisor
forwards the signal to every worker as SIGTERM; here it also closes its own copy of the
listening socket first, so that once the workers stop accepting a new connection is refused
(a client retries elsewhere) rather than queued behind a listener nobody serves and then reset.
uvicorn's ``Server`` re-raises the signal after its shutdown, which ends the process by SIGTERM
(exit 143); a drain that completed is a success, so ``DrainingServer`` exits 0.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from uvicorn.supervisors import multiprocess

from orderitems.api.health import DRAIN_STATE, Drain
from orderitems.settings import Settings

log = logging.getLogger("orderitems.cli.serving")

#: uvicorn's exit status for a server that could not start.
STARTUP_FAILURE = 3
APP = "orderitems.cli.server:create_app_from_environ"
PROTOCOL = "orderitems.cli.protocol:GuardedHttpToolsProtocol"


class DrainingServer(uvicorn.Server):
    """One server process: drains on the first SIGTERM or SIGINT, exits 0 when done."""

    def __init__(self, config: uvicorn.Config, *, drain_delay: float) -> None:
        super().__init__(config)
        self.drain = Drain()
        self.drain_delay = drain_delay
        self.signal_name: str | None = None
        self.stop_at: float | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # Every request's scope["state"] is a copy of the lifespan state: the app sees the drain.
        self.lifespan.state[DRAIN_STATE] = self.drain
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Runs in the signal handler: flags only (no logging, no loop calls here)."""
        if self.drain.started:
            if sig == signal.SIGINT:
                self.force_exit = self.should_exit = True
            return
        self.drain.begin()
        self.signal_name = signal.Signals(sig).name
        self.stop_at = time.monotonic() + self.drain_delay

    async def on_tick(self, counter: int) -> bool:
        if self.stop_at is not None and not self.should_exit:
            if self.signal_name is not None:
                log.info(
                    "%s: draining; /readyz answers 503; the listener closes in %g s, then"
                    " requests in flight get up to %g s",
                    self.signal_name,
                    self.drain_delay,
                    self.config.timeout_graceful_shutdown,
                )
                self.signal_name = None
            if time.monotonic() >= self.stop_at:
                self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        if self.drain.since is not None:
            log.info("drained in %.1f s after the signal", time.monotonic() - self.drain.since)


class DrainingProcess(multiprocess.Process):
    """A worker of ``--workers N``: its server drains like a single process's. Built in the
    worker, from the ``ORDERITEMS_*`` environment ``serve`` hands every worker."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            delay = Settings.from_env(os.environ).drain_delay_seconds
            self._server = DrainingServer(self.config, drain_delay=delay)
        return self._server


class DrainingSupervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor, whose workers drain and whose own listener closes first."""

    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()  # the workers hold their own copies until their drain ends
        super().terminate_all()


@contextmanager
def _draining_workers() -> Iterator[None]:
    """uvicorn's supervisor makes its workers from ``multiprocess.Process`` at every
    (re)start, with no hook: it is rebound in this (parent) process while it supervises."""
    original = multiprocess.Process
    multiprocess.Process = DrainingProcess  # type: ignore[misc]
    try:
        yield
    finally:
        multiprocess.Process = original  # type: ignore[misc]


#: How long a worker may stay silent before uvicorn's supervisor replaces it.
WORKER_HEALTHCHECK_SECONDS = 30


def run(settings: Settings, *, log_config: dict[str, object]) -> bool:
    """Serve until signalled; False when the server could not start."""
    if settings.shutdown_grace_seconds < settings.deadline_seconds:
        log.warning(
            "the shutdown grace period (%g s) is shorter than the deadline (%g s): a request"
            " in flight at a shutdown may be cut without an answer",
            settings.shutdown_grace_seconds,
            settings.deadline_seconds,
        )
    config = uvicorn.Config(
        APP,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=PROTOCOL,
        log_config=log_config,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        # uvicorn replaces a worker that misses a health check for this long; its default of
        # 5 s kills workers that are merely slow to start on a busy machine.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    if settings.workers > 1:
        sock = config.bind_socket()
        with _draining_workers():
            DrainingSupervisor(config, sockets=[sock]).run()
        return True
    server = DrainingServer(config, drain_delay=settings.drain_delay_seconds)
    server.run()
    return server.started
