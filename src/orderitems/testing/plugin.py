"""The pytest plugin (the ``pytest11`` entry point): a demo server for a client's tests.

Fixtures: ``orderitems_server`` (session: a live ``serve --demo``), ``orderitems_sandbox``
(per test: its handle, the data and sandbox state reset first), ``orderitems_transport`` (per
test: the app in this process, reset likewise). ``@pytest.mark.orderitems(strict_json=True,
rate_limit_requests=5, demo_items=500)`` gives a test a server with those ``Settings``; one
server per distinct set of settings, kept for the session. Under pytest-xdist each worker has
its own servers and files (its own temporary directory). This is the only module that imports
pytest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from orderitems.testing.handle import Sandbox
from orderitems.testing.inprocess import InProcessTransport
from orderitems.testing.server import DemoServer
from orderitems.testing.snapshot import DemoCopy, make_pristine

MARKER = "orderitems"
DEFAULT_ITEMS = 2000
DEFAULT_SEED = 1


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "orderitems_demo_items", f"demo items of the test servers (default {DEFAULT_ITEMS})"
    )
    parser.addini("orderitems_demo_seed", f"seed of their demo data (default {DEFAULT_SEED})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): run the test against an orderitems server with these Settings"
        " fields (strict_json=True, rate_limit_requests=5, demo_items=500, ...)",
    )


class ServerPool:
    """One pristine file per data size and seed; one server or transport per settings."""

    def __init__(self, directory: Path, *, items: int, seed: int) -> None:
        self.directory = directory
        self.items = items
        self.seed = seed
        self.pristine: dict[tuple[int, int], Path] = {}
        self.servers: dict[tuple[tuple[str, Any], ...], DemoServer] = {}
        self.transports: dict[tuple[tuple[str, Any], ...], InProcessTransport] = {}

    def _copy(self, overrides: Mapping[str, Any], kind: str, number: int) -> DemoCopy:
        items = int(overrides.get("demo_items", self.items))
        seed = int(overrides.get("demo_seed", self.seed))
        pristine = self.pristine.get((items, seed))
        if pristine is None:
            pristine = make_pristine(
                self.directory / f"pristine-{items}-{seed}.db", items=items, seed=seed
            )
            self.pristine[(items, seed)] = pristine
        return DemoCopy.create(pristine, self.directory / f"{kind}-{number}.db")

    def server(self, overrides: Mapping[str, Any]) -> DemoServer:
        key = _key(overrides)
        found = self.servers.get(key)
        if found is None:
            number = len(self.servers)
            copy = self._copy(overrides, "server", number)
            log = self.directory / f"server-{number}.log"
            found = self.servers[key] = DemoServer(copy, overrides, log)
        return found

    def transport(self, overrides: Mapping[str, Any]) -> InProcessTransport:
        key = _key(overrides)
        found = self.transports.get(key)
        if found is None:
            copy = self._copy(overrides, "inprocess", len(self.transports))
            found = self.transports[key] = InProcessTransport(copy, overrides)
        return found

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        for transport in self.transports.values():
            transport.shutdown()


def _key(overrides: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((name, repr(value)) for name, value in overrides.items()))


def _ini_int(config: pytest.Config, name: str, default: int) -> int:
    value = config.getini(name)
    return int(value) if value else default


def marker_settings(node: pytest.Item) -> dict[str, Any]:
    """The ``orderitems`` markers' settings, the closest (function over class over module)
    winning."""
    settings: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes settings by name only")
        settings.update(marker.kwargs)
    return settings


@pytest.fixture(scope="session")
def _orderitems_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerPool]:
    pool = ServerPool(
        tmp_path_factory.mktemp("orderitems"),
        items=_ini_int(request.config, "orderitems_demo_items", DEFAULT_ITEMS),
        seed=_ini_int(request.config, "orderitems_demo_seed", DEFAULT_SEED),
    )
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def orderitems_server(_orderitems_pool: ServerPool) -> DemoServer:
    """A live ``serve --demo`` with the default settings: ``base_url``, ``tokens``,
    ``sandbox``. Not reset between tests: ask for ``orderitems_sandbox`` for that."""
    return _orderitems_pool.server({})


@pytest.fixture
def orderitems_sandbox(request: pytest.FixtureRequest, _orderitems_pool: ServerPool) -> Sandbox:
    """The handle of the server for this test's settings, back to the pristine demo state."""
    server = _orderitems_pool.server(marker_settings(request.node))
    server.sandbox.restore()
    return server.sandbox


@pytest.fixture
def orderitems_transport(
    request: pytest.FixtureRequest, _orderitems_pool: ServerPool
) -> InProcessTransport:
    """The app in this process for this test's settings (``transport.sandbox``), reset."""
    transport = _orderitems_pool.transport(marker_settings(request.node))
    transport.sandbox.restore()
    return transport
