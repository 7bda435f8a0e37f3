"""The admin API's operations for the console beyond the CLI's: what runs, one logged request,
the rate-limit windows, and the data browser (enterprises, items, one item, cancel).

They live under ``/_sandbox/`` beside the others (api/admin.py), so the console has no second
path to the data: a cancel here runs the store's cancel, with its rules and the sandbox clock.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio.to_thread
import msgspec
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url
from starlette.requests import Request
from starlette.responses import Response

import orderitems
from orderitems.api.get_all import encode_page
from orderitems.api.request_detail import RequestDetail, read_detail
from orderitems.api.sandbox import clock_for
from orderitems.api.wire import TimeFilterInterval, Wire, decode_request
from orderitems.domain.cancellation import CancelPlan
from orderitems.domain.errors import InvalidInput, NotFound
from orderitems.domain.filters import IntervalLimit
from orderitems.domain.items import AccountingState, OrderItemType
from orderitems.domain.query import (
    PageRequest,
    TimeInterval,
    build_item_query,
    parse_time_interval,
)
from orderitems.fixtures.demo import DEMO_TOKENS
from orderitems.settings import Settings
from orderitems.state.records import LoggedRequest
from orderitems.state.sandbox import SandboxState
from orderitems.state.windows import SlidingWindow
from orderitems.store.cancel import cancel_items
from orderitems.store.items import Page, count_items_by_enterprise, select_page
from orderitems.store.reference import list_enterprises
from orderitems.store.tokens import token_labels

#: The updater of items canceled from the console (``UpdaterProfileId``).
CONSOLE_PROFILE_ID = uuid.uuid5(uuid.NAMESPACE_URL, "orderitems:console")
#: Settings never shown, even as "changed"; URLs are shown without their passwords.
SECRET_SETTINGS = frozenset({"admin_token"})

T = TypeVar("T")
Route = Callable[[Request], Awaitable[Response]]
TailRoute = Callable[[Request, str], Awaitable[Response]]
_encoder = msgspec.json.Encoder()


def _json(value: object, status: int = 200) -> Response:
    return Response(_encoder.encode(value), status_code=status, media_type="application/json")


def without_password(url: str) -> str:
    """A database or Redis URL as it may be shown: any password replaced by ``***``."""
    if url.startswith(("postgresql", "sqlite")):
        return make_url(url).render_as_string(hide_password=True)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def changed_settings(settings: Settings) -> dict[str, object]:
    """The settings that differ from the defaults, as they may be shown."""
    defaults = Settings()
    changed: dict[str, object] = {}
    for name in settings.__struct_fields__:
        value = getattr(settings, name)
        if value == getattr(defaults, name):
            continue
        if name in SECRET_SETTINGS:
            value = "(set)"
        elif name.endswith("_url") and isinstance(value, str):
            value = without_password(value)
        changed[name] = value
    return changed


class ItemSearch(Wire, frozen=True):
    """``POST /_sandbox/items``: getAll's filters on one enterprise, no token needed."""

    enterprise_id: uuid.UUID
    count: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50
    cursor: uuid.UUID | None = None
    created_utc: TimeFilterInterval | None = None
    updated_utc: TimeFilterInterval | None = None
    consumed_utc: TimeFilterInterval | None = None
    canceled_utc: TimeFilterInterval | None = None
    closed_utc: TimeFilterInterval | None = None
    accounting_states: list[AccountingState] | None = None
    types: list[OrderItemType] | None = None
    service_order_ids: list[uuid.UUID] | None = None


class CancelSpec(Wire, frozen=True):
    """``POST /_sandbox/cancel``: as ``orderItems/cancel``, the enterprise named outright."""

    enterprise_id: uuid.UUID
    order_item_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=1000)]


class LoggedDetailView(Wire, frozen=True):
    request_id: str
    at_utc_us: int
    operation: str | None
    token_label: str | None
    status: int
    message: str | None
    fault_id: int | None
    detail: RequestDetail | None


def _interval(
    name: str, value: TimeFilterInterval | None, limit: IntervalLimit
) -> TimeInterval | None:
    if value is None:
        return None
    return parse_time_interval(name, value.start_utc, value.end_utc, limit=limit)


class ConsoleQueries:
    """Admin routes the console needs; ``routes`` and ``tail_routes`` join the Admin's."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine,
        sandbox: SandboxState,
        window: SlidingWindow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sandbox = sandbox
        self.window = window
        self.routes: dict[tuple[str, str], Route] = {
            ("GET", "/status"): self.status,
            ("GET", "/windows"): self.windows,
            ("GET", "/enterprises"): self.enterprises,
            ("POST", "/items"): self.items,
            ("POST", "/cancel"): self.cancel,
        }
        #: ``/requests/<RequestId>`` and ``/items/<OrderItemId>``.
        self.tail_routes: dict[tuple[str, str], TailRoute] = {
            ("GET", "/requests"): self.request,
            ("GET", "/items"): self.item,
        }

    async def _read(self, work: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self.engine.connect() as connection:
                return work(connection)

        return await anyio.to_thread.run_sync(run)

    async def status(self, request: Request) -> Response:
        settings = self.settings

        def work(connection: Connection) -> list[dict[str, object]]:
            counts = count_items_by_enterprise(connection)
            return [
                {
                    "Id": str(e.id),
                    "Name": e.name,
                    "Currency": e.currency,
                    "Items": counts.get(e.id, 0),
                }
                for e in list_enterprises(connection)
            ]

        enterprises = await self._read(work)
        sandboxed = settings.sandbox or settings.demo
        demo_tokens = [
            {"Label": t.label, "ClientToken": t.client_token, "AccessToken": t.access_token}
            for t in DEMO_TOKENS
        ]
        return _json(
            {
                "Version": orderitems.__version__,
                "Mode": "demo" if settings.demo else "sandbox" if sandboxed else "read-only",
                "ReadOnly": not sandboxed,
                "BaseUrl": str(request.base_url).rstrip("/"),
                "Database": without_password(settings.database_url),
                "SharedState": "Redis" if settings.redis_url else "the database",
                "RateLimit": {
                    "Enabled": settings.rate_limit,
                    "Requests": settings.rate_limit_requests,
                    "WindowSeconds": settings.rate_limit_window_seconds,
                },
                "Enterprises": enterprises,
                "ChangedSettings": changed_settings(settings),
                "DemoTokens": demo_tokens if settings.demo else [],
            }
        )

    async def _find(self, request_id: str) -> LoggedRequest:
        for entry in await self.sandbox.requests(self.settings.request_log_size):
            if entry.request_id == request_id:
                return entry
        raise NotFound(f"No request {request_id} in the request log.")

    async def request(self, _request: Request, request_id: str) -> Response:
        """One logged request with its detail (the body's tokens were masked when stored)."""
        from orderitems.api.admin import operation_name

        entry = await self._find(request_id)
        return _json(
            LoggedDetailView(
                request_id=entry.request_id,
                at_utc_us=entry.at_us,
                operation=operation_name(entry.operation),
                token_label=entry.token_label,
                status=entry.status,
                message=entry.message,
                fault_id=entry.fault_id,
                detail=read_detail(entry.detail),
            )
        )

    async def windows(self, _request: Request) -> Response:
        """Each token's window now: used of the limit, and when its oldest request leaves."""
        window_us = int(self.settings.rate_limit_window_seconds * 1_000_000)
        now_us = time.time_ns() // 1000
        usage = await self.window.usage(now_us=now_us, window_us=window_us)
        labels = await self._read(lambda connection: token_labels(connection, usage))
        return _json(
            [
                {
                    "TokenLabel": labels.get(key),
                    "TokenSha256": key.hex()[:12],
                    "Used": used,
                    "Limit": self.settings.rate_limit_requests,
                    "OldestLeavesInSeconds": round(max(oldest + window_us - now_us, 0) / 1e6, 1),
                }
                for key, (used, oldest) in sorted(usage.items(), key=lambda kv: -kv[1][0])
            ]
        )

    async def enterprises(self, _request: Request) -> Response:
        def work(connection: Connection) -> list[dict[str, object]]:
            counts = count_items_by_enterprise(connection)
            return [
                {
                    "Id": str(e.id),
                    "Name": e.name,
                    "Currency": e.currency,
                    "Pricing": e.pricing.value,
                    "Items": counts.get(e.id, 0),
                }
                for e in list_enterprises(connection)
            ]

        return _json(await self._read(work))

    async def items(self, request: Request) -> Response:
        """A page of one enterprise's items, in getAll's order and with its filters' rules."""
        search = decode_request(await request.body(), ItemSearch, strict=False)
        limit = IntervalLimit.parse(self.settings.interval_limit)
        query = build_item_query(
            created=_interval("CreatedUtc", search.created_utc, limit),
            updated=_interval("UpdatedUtc", search.updated_utc, limit),
            consumed=_interval("ConsumedUtc", search.consumed_utc, limit),
            canceled=_interval("CanceledUtc", search.canceled_utc, limit),
            closed=_interval("ClosedUtc", search.closed_utc, limit),
            accounting_states=search.accounting_states,
            types=search.types,
            service_order_ids=search.service_order_ids,
            qualifying=(),
        )
        page: Page = await self._read(
            lambda connection: select_page(
                connection,
                enterprise_ids=[search.enterprise_id],
                query=query,
                page=PageRequest(search.count, search.cursor),
            )
        )
        return Response(encode_page(page), media_type="application/json")

    async def item(self, _request: Request, raw_id: str) -> Response:
        """One item's stored document, whichever enterprise holds it."""
        try:
            item_id = uuid.UUID(raw_id)
        except ValueError:
            raise InvalidInput(f"Invalid OrderItemId: {raw_id!r} is not a uuid.") from None

        def work(connection: Connection) -> bytes | None:
            enterprise_ids = [e.id for e in list_enterprises(connection)]
            if not enterprise_ids:
                return None
            page = select_page(
                connection,
                enterprise_ids=enterprise_ids,
                query=build_item_query(order_item_ids=[item_id]),
                page=PageRequest(1, None),
            )
            return page.documents[0] if page.documents else None

        document = await self._read(work)
        if document is None:
            raise NotFound(f"No order item {item_id}.")
        return Response(document, media_type="application/json")

    async def cancel(self, request: Request) -> Response:
        """``orderItems/cancel``'s rules and the sandbox clock; a Closed item is its 400."""
        spec = decode_request(await request.body(), CancelSpec, strict=False)
        clock = clock_for(await self.sandbox.clock())

        def work(connection: Connection) -> CancelPlan:
            return cancel_items(
                connection,
                enterprise_id=spec.enterprise_id,
                item_ids=spec.order_item_ids,
                profile_id=CONSOLE_PROFILE_ID,
                clock=clock,
            )

        plan = await self._read(work)
        return _json({"Canceled": [str(item_id) for item_id in plan.to_cancel]})
