"""``orderItems/getAll``: decode, authenticate, page through the store, encode."""

from __future__ import annotations

from sqlalchemy.engine import Connection
from starlette.responses import Response

from orderitems.access.tokens import Principal, authenticate, resolve_scope
from orderitems.api.call import Call
from orderitems.api.currency import convert_documents, load_converter
from orderitems.api.wire import GET_ALL_REQUEST, GetAllRequest
from orderitems.domain.filters import (
    GET_ALL_FILTERS,
    FilterKind,
    IntervalLimit,
    qualifying_filters,
)
from orderitems.domain.query import (
    FilterValue,
    ItemQuery,
    PageRequest,
    build_item_query,
    parse_time_interval,
)
from orderitems.settings import Settings
from orderitems.store.items import Page, select_page


def item_query(request: GetAllRequest, settings: Settings) -> ItemQuery:
    """Each declared filter's value (domain/filters.py), intervals checked as they are read."""
    given: dict[str, FilterValue] = {}
    limit = IntervalLimit.parse(settings.interval_limit)
    for spec in GET_ALL_FILTERS:
        value = request.filter_value(spec)
        if value is not None and spec.kind is FilterKind.INTERVAL:
            assert spec.max_months is not None
            value = parse_time_interval(
                spec.wire,
                value.start_utc,
                value.end_utc,
                max_months=spec.max_months,
                limit=limit,
            )
        given[spec.field] = value
    qualifying = qualifying_filters(account_ids_qualify=settings.account_ids_qualify)
    return build_item_query(qualifying=qualifying, **given)


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
    request = call.decoded.request(GET_ALL_REQUEST)

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
