"""Paging flows: follow one request's cursor to the end; walk many requests, each item once."""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import msgspec

from orderitems.client.errors import InvalidResponse
from orderitems.client.flow import GET_ALL, Core, Flow, TooHeavy, parse
from orderitems.client.models import OrderItem, OrderItemPage
from orderitems.client.queries import GetAllRequest, Limitation

log = logging.getLogger(__name__)


def parse_page(raw: Any) -> OrderItemPage:
    """A getAll answer; a 204 (``Prefer: return=minimal``) is the empty last page."""
    if raw is None:
        return OrderItemPage(order_items=[], cursor=None)
    return parse(GET_ALL, OrderItemPage, raw)


def _with_limitation(request: GetAllRequest, count: int, cursor: uuid.UUID | None) -> GetAllRequest:
    return msgspec.structs.replace(request, limitation=Limitation(count=count, cursor=cursor))


class Pager:
    """Follows the cursor of one getAll request until the API says there is no more.

    The end is a null ``Cursor`` in the body (or an empty page); the next request carries the
    previous answer's cursor in ``Limitation.Cursor``. After a 408 the page size is halved
    (floor 1) and stays smaller for the rest of this request.
    """

    def __init__(self, core: Core, request: GetAllRequest) -> None:
        self.core = core
        self.request = request
        self.finished = False
        self.pages = 0

    def next_page(self) -> Flow[OrderItemPage]:
        while True:
            count, cursor = self.request.limitation.count, self.request.limitation.cursor
            try:
                raw = yield from self.core.exchange(GET_ALL, self.request, shrinkable=count > 1)
            except TooHeavy as heavy:
                smaller = max(1, count // 2)
                log.warning(
                    "%s: 408 rid=%s; asking again with Count %d instead of %d",
                    GET_ALL,
                    heavy.error.request_id,
                    smaller,
                    count,
                )
                self.request = _with_limitation(self.request, smaller, cursor)
                continue
            page = parse_page(raw)
            self.pages += 1
            if page.cursor is None or not page.order_items:
                self.finished = True
            elif page.cursor == cursor:
                raise InvalidResponse(f"{GET_ALL}: the cursor did not move ({cursor})")
            else:
                self.request = _with_limitation(self.request, count, page.cursor)
            return page


class Walk:
    """Every item of a list of getAll requests, each item once (first answer wins)."""

    def __init__(
        self, core: Core, requests: Sequence[GetAllRequest], *, deduplicate: bool = True
    ) -> None:
        self.core = core
        self.pending = deque(requests)
        self.pager: Pager | None = None
        self.deduplicate = deduplicate
        self.seen: set[uuid.UUID] = set()

    @property
    def finished(self) -> bool:
        return not self.pending and (self.pager is None or self.pager.finished)

    def next_items(self) -> Flow[list[OrderItem]]:
        """The next page's items not seen before (possibly none)."""
        if self.pager is None or self.pager.finished:
            self.pager = Pager(self.core, self.pending.popleft())
        page = yield from self.pager.next_page()
        if not self.deduplicate:
            return page.order_items
        fresh = [item for item in page.order_items if item.id not in self.seen]
        self.seen.update(item.id for item in fresh)
        return fresh
