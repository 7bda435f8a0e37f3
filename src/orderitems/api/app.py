"""The ASGI application: ``create_app(settings)``; nothing is opened at import time."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from orderitems.api.call import Call
from orderitems.api.errors import domain_error_response, server_error_response
from orderitems.api.routes import find_operation
from orderitems.domain.errors import DomainError, NotFound, PayloadTooLarge
from orderitems.settings import Settings
from orderitems.store.engine import connect

log = logging.getLogger(__name__)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it passes ``limit`` without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def prefers_minimal(request: Request) -> bool:
    """``Prefer: return=minimal`` asks for 204 on an empty page or an empty answer."""
    prefer = request.headers.get("prefer", "")
    return any(
        part.strip().lower() == "return=minimal" for part in prefer.replace(";", ",").split(",")
    )


class Dispatcher:
    """Every path and method lands here, so every answer has the error body and Request-Id."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        response = await self.respond(request, request_id)
        response.headers["Request-Id"] = request_id
        await response(scope, receive, send)
        log.info(
            "%s %s -> %d in %.1f ms rid=%s",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            request_id,
        )

    async def respond(self, request: Request, request_id: str) -> Response:
        development = self.settings.development
        try:
            found = find_operation(request.url.path, strict=self.settings.strict_paths)
            if found is None or request.method != "POST":
                raise NotFound(f"No operation {request.method} {request.url.path}.")
            _, operation = found
            assert self.engine is not None, "the lifespan opens the engine"
            call = Call(
                settings=self.settings,
                engine=self.engine,
                body=await read_body(request, self.settings.max_body_bytes),
                request_id=request_id,
                prefer_minimal=prefers_minimal(request),
            )
            return await operation(call)
        except DomainError as exc:
            return domain_error_response(exc, request_id, development=development)
        except Exception as exc:
            return server_error_response(exc, request_id, development=development)


def create_app(settings: Settings, *, engine: Engine | None = None) -> Starlette:
    """The server for these settings; the engine is opened on startup unless one is given."""
    dispatcher = Dispatcher(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        owned = engine is None
        dispatcher.engine = engine or connect(
            settings.database_url, pool_size=settings.db_pool_size
        )
        try:
            yield
        finally:
            if owned:
                dispatcher.engine.dispose()

    return Starlette(routes=[Mount("/", app=dispatcher)], lifespan=lifespan)


def create_app_from_environ() -> Starlette:
    """Factory for server worker processes: settings come from ``ORDERITEMS_*`` variables."""
    return create_app(Settings.from_env(os.environ))
