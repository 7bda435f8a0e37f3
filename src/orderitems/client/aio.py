"""``AsyncClient``: the same client for asyncio and trio, awaiting where ``Client`` blocks.

Every method has the same parameters, results and errors as its ``Client`` namesake; both
carry out the very same flows (``orderitems.client.flow``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import TypeVar

import anyio
import httpx

from orderitems.client.batches import CancelResult, cancel_flow, get_all_items_flow
from orderitems.client.flow import GET_ALL, Core, Flow, Reply, Send
from orderitems.client.models import OrderItem, OrderItemPage, ReservationItems
from orderitems.client.paging import Pager, Walk, parse_page
from orderitems.client.queries import (
    GetAllRequest,
    OrderItemFilter,
    Period,
    interval_days,
    plan_requests,
)
from orderitems.client.retry import RetryPolicy
from orderitems.client.sync import CLIENT_NAME, LOCALHOST

T = TypeVar("T")


class AsyncClient:
    """The asynchronous ``Client``; use ``async with`` or ``await close()``."""

    def __init__(
        self,
        *,
        client_token: str,
        access_token: str,
        base_url: str = LOCALHOST,
        client_name: str = CLIENT_NAME,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        interval_limit: str = "calendar",
    ) -> None:
        """As ``Client.__init__``; ``transport`` is an async transport, ``sleep`` awaitable."""
        self.core = Core(
            base_url=base_url,
            client_token=client_token,
            access_token=access_token,
            client_name=client_name,
            policy=retry or RetryPolicy(),
        )
        self.http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self.sleep = sleep
        interval_days(interval_limit)  # refuse a typo now, not at the first fetch
        self.interval_limit = interval_limit

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def drive(self, flow: Flow[T]) -> T:
        """Carry out a flow's steps: send its requests, sleep its waits, return its result."""
        reply: Reply = None
        while True:
            try:
                step = flow.send(reply)
            except StopIteration as done:
                result: T = done.value
                return result
            if isinstance(step, Send):
                try:
                    reply = await self.http.send(step.request)
                except httpx.TransportError as exc:
                    reply = exc
            else:
                await self.sleep(step.seconds)
                reply = None

    async def get_order_items_page(self, request: GetAllRequest) -> OrderItemPage:
        """One ``orderItems/getAll`` call, with retries (see ``Client.get_order_items_page``)."""
        raw = await self.drive(self.core.exchange(GET_ALL, request))
        return parse_page(raw)

    async def iter_pages(self, request: GetAllRequest) -> AsyncIterator[OrderItemPage]:
        """Every page of one request (see ``Client.iter_pages``)."""
        pager = Pager(self.core, request)
        while not pager.finished:
            yield await self.drive(pager.next_page())

    async def iter_order_items(
        self,
        *,
        enterprise_ids: Sequence[uuid.UUID] | None = None,
        order_item_ids: Sequence[uuid.UUID] | None = None,
        account_ids: Sequence[uuid.UUID] | None = None,
        service_order_ids: Sequence[uuid.UUID] | None = None,
        service_ids: Sequence[uuid.UUID] | None = None,
        bill_ids: Sequence[uuid.UUID] | None = None,
        created_utc: Period | None = None,
        updated_utc: Period | None = None,
        consumed_utc: Period | None = None,
        canceled_utc: Period | None = None,
        closed_utc: Period | None = None,
        currency: str | None = None,
        accounting_states: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        page_size: int = 1000,
        deduplicate: bool = True,
    ) -> AsyncIterator[OrderItem]:
        """Every matching order item, each once (parameters: ``Client.iter_order_items``)."""
        query = OrderItemFilter(
            enterprise_ids=enterprise_ids,
            order_item_ids=order_item_ids,
            account_ids=account_ids,
            service_order_ids=service_order_ids,
            service_ids=service_ids,
            bill_ids=bill_ids,
            created_utc=created_utc,
            updated_utc=updated_utc,
            consumed_utc=consumed_utc,
            canceled_utc=canceled_utc,
            closed_utc=closed_utc,
            currency=currency,
            accounting_states=accounting_states,
            types=types,
        )
        walk = Walk(
            self.core,
            plan_requests(query, page_size=page_size, interval_limit=self.interval_limit),
            deduplicate=deduplicate,
        )
        while not walk.finished:
            for item in await self.drive(walk.next_items()):
                yield item

    async def cancel(
        self, order_item_ids: Sequence[uuid.UUID], *, enterprise_id: uuid.UUID | None = None
    ) -> CancelResult:
        """Cancel order items, 10 per request (see ``Client.cancel``)."""
        return await self.drive(cancel_flow(self.core, order_item_ids, enterprise_id))

    async def get_all_items(
        self,
        reservation_ids: Sequence[uuid.UUID],
        *,
        currency: str | None = None,
        accounting_states: Sequence[str] | None = None,
    ) -> list[ReservationItems]:
        """Items of reservations in the legacy shapes (see ``Client.get_all_items``)."""
        return await self.drive(
            get_all_items_flow(self.core, reservation_ids, currency, accounting_states)
        )
