"""``orderItems/getAll``: decode, authenticate, page through the store, encode."""

from __future__ import annotations

from sqlalchemy.engine import Connection
from starlette.responses import Response

from orderitems.access.tokens import Principal, authenticate, resolve_scope
from orderitems.api.call import Call
from orderitems.api.currency import convert_documents, load_converter
from orderitems.api.wire import GetAllRequest, TimeFilterInterval, decode_request
from orderitems.domain.query import (
    QUALIFYING_FILTERS,
    ItemQuery,
    PageRequest,
    TimeInterval,
    build_item_query,
    parse_time_interval,
)
from orderitems.settings import Settings
from orderitems.store.items import Page, select_page


def _interval(name: str, value: TimeFilterInterval | None) -> TimeInterval | None:
    return None if value is None else parse_time_interval(name, value.start_utc, value.end_utc)


def item_query(request: GetAllRequest, settings: Settings) -> ItemQuery:
    qualifying = tuple(
        f for f in QUALIFYING_FILTERS if settings.account_ids_qualify or f != "AccountIds"
    )
    return build_item_query(
        order_item_ids=request.order_item_ids,
        account_ids=request.account_ids,
        service_order_ids=request.service_order_ids,
        service_ids=request.service_ids,
        bill_ids=request.bill_ids,
        created=_interval("CreatedUtc", request.created_utc),
        updated=_interval("UpdatedUtc", request.updated_utc),
        consumed=_interval("ConsumedUtc", request.consumed_utc),
        canceled=_interval("CanceledUtc", request.canceled_utc),
        closed=_interval("ClosedUtc", request.closed_utc),
        accounting_states=request.accounting_states,
        types=request.types,
        qualifying=qualifying,
    )


def _authenticate(connection: Connection, call: Call, client: str, access: str) -> Principal:
    return authenticate(
        connection, client_token=client, access_token=access, allow_demo=call.settings.demo
    )


def encode_page(page: Page) -> bytes:
    """Join already-encoded item documents; no Python object is built per item.

    One ``join`` makes the whole body: the envelope goes onto the first and last documents,
    so a megabyte page is allocated and copied once, not once per concatenation.
    """
    cursor = b"null" if page.cursor is None else b'"' + str(page.cursor).encode() + b'"'
    head, tail = b'{"OrderItems":[', b'],"Cursor":' + cursor + b"}"
    parts = list(page.documents)
    if not parts:
        return head + tail
    parts[0] = head + parts[0]
    parts[-1] = parts[-1] + tail
    return b",".join(parts)


async def get_all_order_items(call: Call) -> Response:
    """``orderItems/getAll`` (docs/behaviour.md#filters)."""
    request = decode_request(call.body, GetAllRequest, strict=call.settings.strict_json)

    def work(connection: Connection) -> Page:
        principal = _authenticate(connection, call, request.client_token, request.access_token)
        scope = resolve_scope(principal, request.enterprise_ids)
        query = item_query(request, call.settings)
        converter = load_converter(connection, request.currency, scope)
        page = select_page(
            connection,
            enterprise_ids=scope,
            query=query,
            page=PageRequest(request.limitation.count, request.limitation.cursor),
            visible_enterprise_ids=principal.enterprise_ids,
        )
        return Page(convert_documents(page.documents, converter), page.cursor)

    page = await call.run(work)
    if not page.documents and call.prefer_minimal:
        return Response(status_code=204)
    return Response(encode_page(page), media_type="application/json")
