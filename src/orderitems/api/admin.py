"""The sandbox admin API under ``/_sandbox/``: faults, clock, drill, request log, limits, reset.

It exists only when the server runs in sandbox or demo mode, or read-only for ``--console``
(otherwise every path under it is an ordinary 404), and answers only a request with
``Authorization: Bearer <admin token>`` (or the console's session, api/console/).
Bodies and answers use the Connector API's PascalCase; errors use its error body.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated

import anyio
import anyio.to_thread
import msgspec
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import Response

from orderitems.access.admin_token import DEMO_ADMIN_TOKEN as DEMO_ADMIN_TOKEN
from orderitems.access.admin_token import (
    accepted_admin_token,
    authorise_admin,
    check_admin_token,
)
from orderitems.access.tokens import hash_token
from orderitems.api.admin_console import ConsoleQueries
from orderitems.api.admin_drills import DrillRoutes
from orderitems.api.request_detail import read_detail
from orderitems.api.routes import OPERATIONS, find_operation
from orderitems.api.sandbox import (
    INJECTABLE_STATUSES,
    RETRY_AFTER_STATUSES,
    from_micros,
    now_micros,
)
from orderitems.api.wire import Wire, decode_request
from orderitems.domain.errors import Forbidden, InvalidInput, NotFound
from orderitems.domain.items import UtcDateTime
from orderitems.settings import Settings
from orderitems.state.records import ClockSetting, FaultRule, LoggedRequest
from orderitems.state.sandbox import SandboxState
from orderitems.state.windows import SlidingWindow
from orderitems.store.items import count_items
from orderitems.store.migrate import clear_all_tables

PREFIX = "/_sandbox"
API_PREFIX = "/api/connector/v1/"

Millis = Annotated[int, msgspec.Meta(ge=0, le=600_000)]
RebuildDemo = Callable[[Engine], object]
#: What a read-only admin API (``--console`` outside sandbox mode) still answers besides GETs.
READ_ONLY_POSTS = frozenset({"/items"})


class FaultSpec(Wire, frozen=True):
    """``POST /_sandbox/faults``: what to inject, into which requests, how often."""

    status: int | None = None
    retry_after: Annotated[int, msgspec.Meta(ge=0, le=86_400)] | None = None
    delay_ms: Millis = 0
    database_delay_ms: Millis = 0
    count: Annotated[int, msgspec.Meta(ge=1)] | None = None
    percent: Annotated[float, msgspec.Meta(gt=0, le=100)] = 100.0
    operation: str | None = None
    access_token: str | None = None
    message: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None


class FaultView(Wire, frozen=True):
    id: int
    status: int | None
    retry_after: int | None
    delay_ms: int
    database_delay_ms: int
    remaining: int | None
    percent: float
    operation: str | None
    access_token_sha256: str | None
    message: str | None


class ClockSpec(Wire, frozen=True):
    """``PUT /_sandbox/clock``: freeze at (or run on from) ``NowUtc``, default the current now."""

    now_utc: UtcDateTime | None = None
    frozen: bool = True


class ClockView(Wire, frozen=True):
    now_utc: str
    frozen: bool
    offset_seconds: float


class LoggedView(Wire, frozen=True):
    at_utc: str
    request_id: str
    method: str
    path: str
    operation: str | None
    token_label: str | None
    status: int
    latency_ms: float
    message: str | None
    fault_id: int | None
    items: int | None = None
    #: A 429's ``Retry-After``: the limiter's, or the injected fault's (None: no header).
    retry_after: int | None = None


_encoder = msgspec.json.Encoder()


def _json(value: object, status: int = 200) -> Response:
    return Response(_encoder.encode(value), status_code=status, media_type="application/json")


def _utc(micros: int) -> str:
    return from_micros(micros).isoformat().replace("+00:00", "Z")


def _micros(value: datetime) -> int:
    return (value - from_micros(0)) // timedelta(microseconds=1)


def operation_key(name: str) -> str:
    """``orderItems/getAll`` (any casing, or its whole path) to the stored lower-case key."""
    path = name if name.startswith("/") else API_PREFIX + name.lstrip("/")
    found = find_operation(path, strict=False)
    if found is None:
        known = ", ".join(route.path.removeprefix(API_PREFIX) for route in OPERATIONS.values())
        raise InvalidInput(f"Invalid Operation: {name!r} is none of {known}.", field="Operation")
    return found[0].removeprefix(API_PREFIX).lower()


def operation_name(key: str | None) -> str | None:
    if key is None:
        return None
    found = find_operation(API_PREFIX + key, strict=False)
    return key if found is None else found[0].removeprefix(API_PREFIX)


def fault_rule(spec: FaultSpec) -> FaultRule:
    if spec.status is not None and spec.status not in INJECTABLE_STATUSES:
        raise InvalidInput(
            f"Invalid Status: {spec.status} is none of {', '.join(map(str, INJECTABLE_STATUSES))}.",
            field="Status",
        )
    if spec.status is None and not (spec.delay_ms or spec.database_delay_ms):
        raise InvalidInput(
            "Invalid Status: give a Status, a DelayMs or a DatabaseDelayMs.", field="Status"
        )
    if spec.retry_after is not None and spec.status not in RETRY_AFTER_STATUSES:
        raise InvalidInput("Invalid RetryAfter: only a 429 or 503 has it.", field="RetryAfter")
    return FaultRule(
        status=spec.status,
        retry_after=spec.retry_after,
        delay_ms=spec.delay_ms,
        database_delay_ms=spec.database_delay_ms,
        remaining=spec.count,
        percent=spec.percent,
        operation=None if spec.operation is None else operation_key(spec.operation),
        token_hash=None if spec.access_token is None else hash_token(spec.access_token),
        message=spec.message,
    )


def fault_view(rule: FaultRule) -> FaultView:
    return FaultView(
        id=rule.id,
        status=rule.status,
        retry_after=rule.retry_after,
        delay_ms=rule.delay_ms,
        database_delay_ms=rule.database_delay_ms,
        remaining=rule.remaining,
        percent=rule.percent,
        operation=operation_name(rule.operation),
        access_token_sha256=None if rule.token_hash is None else rule.token_hash.hex(),
        message=rule.message,
    )


def logged_view(entry: LoggedRequest, fault_waits: dict[int, int | None]) -> LoggedView:
    detail = read_detail(entry.detail)
    retry_after = None
    if entry.status == 429 and entry.fault_id is not None:
        retry_after = fault_waits.get(entry.fault_id)
    elif entry.status == 429 and detail is not None and detail.window is not None:
        retry_after = detail.window.oldest_leaves_in_seconds
    return LoggedView(
        at_utc=_utc(entry.at_us),
        request_id=entry.request_id,
        method=entry.method,
        path=entry.path,
        operation=operation_name(entry.operation),
        token_label=entry.token_label,
        status=entry.status,
        latency_ms=round(entry.latency_ms, 3),
        message=entry.message,
        fault_id=entry.fault_id,
        items=None if detail is None else detail.items,
        retry_after=retry_after,
    )


class Admin:
    """The admin API of one server process; all its state is in the shared stores."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine,
        sandbox: SandboxState,
        window: SlidingWindow,
        rebuild_demo: RebuildDemo | None,
    ) -> None:
        self.settings = settings
        self.token = accepted_admin_token(settings)
        self.engine = engine
        self.sandbox = sandbox
        self.window = window
        self.rebuild_demo = rebuild_demo
        self.reset_lock = anyio.Lock()
        self.read_only = not (settings.sandbox or settings.demo)
        #: Who may call: the bearer token; the console widens it to its session (api/console/).
        self.gate: Callable[[Request], None] = self.authorise
        Route = Callable[[Request], Awaitable[Response]]
        self.routes: dict[tuple[str, str], Route] = {
            ("GET", "/faults"): self.list_faults,
            ("POST", "/faults"): self.add_fault,
            ("DELETE", "/faults"): self.clear_faults,
            ("GET", "/clock"): self.show_clock,
            ("PUT", "/clock"): self.set_clock,
            ("DELETE", "/clock"): self.release_clock,
            ("GET", "/requests"): self.list_requests,
            ("DELETE", "/requests"): self.clear_requests,
            ("DELETE", "/limits"): self.clear_limits,
            ("POST", "/reset"): self.reset,
        }
        drills = DrillRoutes(sandbox, operation_key=operation_key, operation_name=operation_name)
        self.routes.update(drills.routes)
        queries = ConsoleQueries(settings, engine=engine, sandbox=sandbox, window=window)
        self.routes.update(queries.routes)
        self.tail_routes = queries.tail_routes

    def authorise(self, request: Request) -> None:
        authorise_admin(request.headers.get("authorization"), self.token)

    def check_token(self, given: str | None) -> None:
        """The one admin-token check (the bearer header, or the console's session cookie)."""
        check_admin_token(given, self.token)

    async def respond(self, request: Request) -> Response:
        self.gate(request)
        path = request.url.path.removeprefix(PREFIX).rstrip("/")
        if self.read_only and request.method != "GET" and path not in READ_ONLY_POSTS:
            raise Forbidden(
                "The admin API is read-only: only a server started with --sandbox or --demo"
                " changes faults, the clock, drills, limits or data."
            )
        route = self.routes.get((request.method, path))
        if route is not None:
            return await route(request)
        head, _, tail = path.rpartition("/")
        tail_route = self.tail_routes.get((request.method, head))
        if tail_route is not None and tail:
            return await tail_route(request, tail)
        fault_id = tail
        if head == "/faults" and request.method == "DELETE" and fault_id.isdigit():
            if not await self.sandbox.remove_fault(int(fault_id)):
                raise NotFound(f"No fault {fault_id}.")
            return Response(status_code=204)
        raise NotFound(f"No sandbox operation {request.method} {request.url.path}.")

    async def list_faults(self, _request: Request) -> Response:
        return _json([fault_view(rule) for rule in await self.sandbox.faults()])

    async def add_fault(self, request: Request) -> Response:
        spec = decode_request(await request.body(), FaultSpec, strict=False)
        added = await self.sandbox.add_fault(fault_rule(spec))
        return _json(fault_view(added), 201)

    async def clear_faults(self, _request: Request) -> Response:
        await self.sandbox.clear_faults()
        return Response(status_code=204)

    async def _clock_view(self) -> Response:
        setting = await self.sandbox.clock()
        return _json(
            ClockView(
                now_utc=_utc(setting.now_us(now_micros())),
                frozen=setting.frozen_us is not None,
                offset_seconds=setting.offset_us / 1_000_000,
            )
        )

    async def show_clock(self, _request: Request) -> Response:
        return await self._clock_view()

    async def set_clock(self, request: Request) -> Response:
        spec = decode_request(await request.body() or b"{}", ClockSpec, strict=False)
        system = now_micros()
        current = (await self.sandbox.clock()).now_us(system)
        at = current if spec.now_utc is None else _micros(spec.now_utc)
        setting = ClockSetting(frozen_us=at) if spec.frozen else ClockSetting(offset_us=at - system)
        await self.sandbox.set_clock(setting)
        return await self._clock_view()

    async def release_clock(self, _request: Request) -> Response:
        await self.sandbox.set_clock(None)
        return await self._clock_view()

    async def list_requests(self, request: Request) -> Response:
        raw = request.query_params.get("limit", "50")
        if not raw.isdigit() or int(raw) < 1:
            raise InvalidInput("Invalid limit: a positive whole number.", field="limit")
        limit = min(int(raw), self.settings.request_log_size)
        entries = await self.sandbox.requests(limit)
        waits: dict[int, int | None] = {}
        if any(entry.status == 429 and entry.fault_id is not None for entry in entries):
            waits = {rule.id: rule.retry_after for rule in await self.sandbox.faults()}
        return _json([logged_view(entry, waits) for entry in entries])

    async def clear_requests(self, _request: Request) -> Response:
        await self.sandbox.clear_requests()
        return Response(status_code=204)

    async def clear_limits(self, _request: Request) -> Response:
        await self.window.clear()
        return Response(status_code=204)

    async def reset(self, _request: Request) -> Response:
        """Empty every table and regenerate the demo data from its seed; forget sandbox state."""
        rebuild = self.rebuild_demo
        if rebuild is None:
            raise InvalidInput("Only a demo server (serve --demo) has demo data to reset to.")
        started = time.perf_counter()
        async with self.reset_lock:
            await self.sandbox.clear()
            await self.window.clear()

            def work() -> int:
                with self.engine.begin() as connection:
                    clear_all_tables(connection)
                rebuild(self.engine)
                with self.engine.connect() as connection:
                    return count_items(connection)

            items = await anyio.to_thread.run_sync(work)
        return _json(
            {"Items": items, "Seconds": round(time.perf_counter() - started, 3)},
        )
