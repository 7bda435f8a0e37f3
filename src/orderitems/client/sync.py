"""``Client``: the blocking client. Its methods only carry out the steps of ``flow``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import TypeVar

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

LOCALHOST = "http://127.0.0.1:8000"
MEWS_DEMO = "https://api.mews-demo.com"
MEWS_PRODUCTION = "https://api.mews.com"
CLIENT_NAME = "orderitems-python 0.1.0"

T = TypeVar("T")


class Client:
    """A Connector API client for the order-items operations, over one ``httpx.Client``.

    Use it as a context manager, or call ``close()``::

        with Client(client_token=..., access_token=..., base_url=MEWS_DEMO) as api:
            for item in api.iter_order_items(created_utc=(start, end)):
                ...
    """

    def __init__(
        self,
        *,
        client_token: str,
        access_token: str,
        base_url: str = LOCALHOST,
        client_name: str = CLIENT_NAME,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        interval_limit: str = "calendar",
    ) -> None:
        """Configure where and as whom; nothing is sent until a method is called.

        Args:
            client_token: the integration's ``ClientToken``.
            access_token: the enterprise's (or portfolio's) ``AccessToken``.
            base_url: ``LOCALHOST``, ``MEWS_DEMO``, ``MEWS_PRODUCTION`` or any server's
                address, without the ``/api/connector/v1`` part.
            client_name: sent as ``Client``: your application's name and version.
            retry: when and how long to retry; see ``RetryPolicy``.
            timeout: seconds to wait for an answer before treating it as a connection failure.
            transport: an httpx transport to send through (tests, proxies, ``MockTransport``).
            sleep: how to wait between retries; tests pass a recorder instead of sleeping.
            interval_limit: how the server bounds a time filter: ``calendar`` (3 calendar
                months, as Mews documents) or ``days:N`` for an orderitems server started
                with ``ORDERITEMS_INTERVAL_LIMIT=days:N``; long periods are split to fit.
        """
        self.core = Core(
            base_url=base_url,
            client_token=client_token,
            access_token=access_token,
            client_name=client_name,
            policy=retry or RetryPolicy(),
        )
        self.http = httpx.Client(timeout=timeout, transport=transport)
        self.sleep = sleep
        interval_days(interval_limit)  # refuse a typo now, not at the first fetch
        self.interval_limit = interval_limit

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def drive(self, flow: Flow[T]) -> T:
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
                    reply = self.http.send(step.request)
                except httpx.TransportError as exc:
                    reply = exc
            else:
                self.sleep(step.seconds)
                reply = None

    def get_order_items_page(self, request: GetAllRequest) -> OrderItemPage:
        """One ``orderItems/getAll`` call, with retries; no paging, splitting or chunking.

        Args:
            request: the body, within the API's limits (see ``plan_requests``).

        Returns:
            The page; pass its ``cursor`` in the next request's ``Limitation`` for more.
        """
        return parse_page(self.drive(self.core.exchange(GET_ALL, request)))

    def iter_pages(self, request: GetAllRequest) -> Iterator[OrderItemPage]:
        """Every page of one request, following the cursor until it is null.

        Args:
            request: one body within the API's limits, usually from ``plan_requests``.
        """
        pager = Pager(self.core, request)
        while not pager.finished:
            yield self.drive(pager.next_page())

    def iter_order_items(
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
    ) -> Iterator[OrderItem]:
        """Every order item that matches, across pages, windows and id chunks, each once.

        Filters combine with AND; the values within one list with OR. At least one of the
        ids lists or ``created_utc``, ``updated_utc``, ``closed_utc`` must be given (the API's
        rule; otherwise ``BadRequest``). Periods longer than 3 months are split into
        consecutive half-open calendar-month windows (of ``interval_limit`` days, if set); id
        lists longer than the API takes
        (1000, ``account_ids`` 100) into chunks.

        Args:
            enterprise_ids: only these enterprises (portfolio tokens); default all in scope.
            order_item_ids: only these items.
            account_ids: only items of these customer or company accounts.
            service_order_ids: only items of these reservations or service orders.
            service_ids: only items of these services.
            bill_ids: only items on these bills.
            created_utc: ``(start, end)``, timezone-aware: ``start <= CreatedUtc < end``; a
                single instant when ``start == end``. Any length.
            updated_utc: likewise for ``UpdatedUtc`` (incremental synchronisation).
            consumed_utc: likewise for ``ConsumedUtc`` (does not qualify alone).
            canceled_utc: likewise for ``CanceledUtc`` (does not qualify alone).
            closed_utc: likewise for ``ClosedUtc``.
            currency: ISO-4217 code to convert ``Amount`` and ``UnitAmount`` into.
            accounting_states: only these states (``AccountingState`` constants).
            types: only these types (``OrderItemType`` constants).
            page_size: ``Limitation.Count``, 1..1000; halved for a request that times out.
            deduplicate: skip an item already yielded (windows can overlap when an item
                changes while it is fetched).

        Yields:
            Order items, newest first within each window, windows in chronological order.

        Raises:
            ValueError: a naive datetime, a period ending before it starts, an empty list.
            ApiError: what the API refused, or what still failed after the retries.
            ConnectionFailed: no answer after the retries.
        """
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
            yield from self.drive(walk.next_items())

    def cancel(
        self, order_item_ids: Sequence[uuid.UUID], *, enterprise_id: uuid.UUID | None = None
    ) -> CancelResult:
        """Cancel order items (``orderItems/cancel``, beta), 10 per request.

        Each request is all or nothing; a refused one (400, 403) is reported in ``failed``
        with the API's reason and the other batches go ahead. Already canceled items count
        as canceled.

        Args:
            order_item_ids: the items to cancel; duplicates are sent once.
            enterprise_id: the items' enterprise; required with a portfolio token.

        Returns:
            ``canceled`` ids and ``failed`` batches.

        Raises:
            ApiError: any error other than 400 or 403, after the retries (earlier batches
                stay canceled).
        """
        return self.drive(cancel_flow(self.core, order_item_ids, enterprise_id))

    def get_all_items(
        self,
        reservation_ids: Sequence[uuid.UUID],
        *,
        currency: str | None = None,
        accounting_states: Sequence[str] | None = None,
    ) -> list[ReservationItems]:
        """Items of reservations, in the legacy shapes (``reservations/getAllItems``).

        Deprecated by Mews in favour of ``iter_order_items(service_order_ids=...)``; kept
        for integrations that still read the old shape. Sent 1000 reservations per request.

        Args:
            reservation_ids: the reservations; duplicates are sent once.
            currency: ISO-4217 code to convert amounts into.
            accounting_states: only these states; the API's default is Open and Closed.

        Returns:
            One entry per reservation with its ``order_items`` and ``items``.
        """
        return self.drive(
            get_all_items_flow(self.core, reservation_ids, currency, accounting_states)
        )
