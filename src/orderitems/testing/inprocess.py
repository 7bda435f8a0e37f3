"""The real app in the test's own process: an httpx transport, no socket, no port.

``transport()`` runs ``create_app`` (the same app ``serve`` runs, with its lifespan) on an
anyio event loop in a thread of its own (a blocking portal), so a synchronous ``httpx.Client``
can use it; ``await transport.handle_async_request`` serves an ``httpx.AsyncClient``. Its demo
data and state files are those a served test server would have (testing/snapshot.py), and
``transport.sandbox`` is the same handle.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx

from orderitems.api.app import create_app
from orderitems.testing.handle import TOKENS, Sandbox, TokenPair
from orderitems.testing.server import test_settings
from orderitems.testing.snapshot import DemoCopy, make_pristine

BASE_URL = "http://orderitems.test"
DEFAULT_ITEMS = 2000


class InProcessTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Requests go to the app's ASGI callable; the lifespan runs while the transport is open."""

    tokens: Mapping[str, TokenPair] = TOKENS
    base_url = BASE_URL

    def __init__(self, copy: DemoCopy, overrides: Mapping[str, Any]) -> None:
        self.copy = copy
        self.settings = test_settings(copy.database_url, 0, overrides)
        #: A directory of the transport's own, removed on close.
        self.directory: Path | None = None
        self._stack = contextlib.ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        app = create_app(self.settings)
        lifespan = app.router.lifespan_context(app)
        self._stack.enter_context(self._portal.wrap_async_context_manager(lifespan))
        self._asgi = httpx.ASGITransport(app=app)
        self.sandbox = Sandbox(BASE_URL, transport=self, restore=copy.restore)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._portal.call(self._answer, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return await anyio.to_thread.run_sync(self._portal.call, self._answer, request)

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def close(self) -> None:
        """What ``httpx.Client`` calls when it closes: the app keeps serving other clients."""

    async def aclose(self) -> None:
        """As ``close``, for ``httpx.AsyncClient``."""

    def shutdown(self) -> None:
        """Stop the app (its lifespan's end) and remove files of its own."""
        self.sandbox.close()
        self._stack.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def transport(
    *, copy: DemoCopy | None = None, items: int = DEFAULT_ITEMS, seed: int = 1, **settings: Any
) -> InProcessTransport:
    """An in-process transport on its own demo data (``items`` of ``seed``), or on ``copy``;
    ``settings`` are ``Settings`` fields (``strict_json=True``, ``rate_limit_requests=5``).
    ``shutdown()`` it when done (closing a client of it does not); without ``copy`` its files
    are removed then."""
    if copy is not None:
        return InProcessTransport(copy, settings)
    directory = Path(tempfile.mkdtemp(prefix="orderitems-"))
    pristine = make_pristine(directory / "pristine.db", items=items, seed=seed)
    opened = InProcessTransport(DemoCopy.create(pristine, directory / "demo.db"), settings)
    opened.directory = directory
    return opened
