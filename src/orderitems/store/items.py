"""Reading and writing order items (BEHAVIOUR.md getAll: keyset order, cursor, scope)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.domain.errors import InvalidInput
from orderitems.domain.items import OrderItem
from orderitems.domain.query import ItemQuery, PageRequest, TimeInterval
from orderitems.store.documents import encode_item, to_micros
from orderitems.store.engine import physical_row_id
from orderitems.store.schema import order_items as t

#: Above this many enterprises a portfolio query is one IN-list scan instead of one
#: index-ordered branch per enterprise merged by the engine.
MAX_MERGED_ENTERPRISES = 64


@dataclass(frozen=True, slots=True)
class Page:
    """Encoded item documents, newest first, and the id of the last (oldest) one."""

    documents: list[bytes]
    cursor: uuid.UUID | None


def item_row(item: OrderItem) -> dict[str, Any]:
    """The indexed columns of an item beside its encoded document."""
    return {
        "enterprise_id": item.enterprise_id,
        "id": item.id,
        "account_id": item.account_id,
        "service_id": item.service_id,
        "service_order_id": item.service_order_id,
        "bill_id": item.bill_id,
        "created_us": to_micros(item.created_utc),
        "updated_us": to_micros(item.updated_utc),
        "consumed_us": to_micros(item.consumed_utc),
        "canceled_us": None if item.canceled_utc is None else to_micros(item.canceled_utc),
        "closed_us": None if item.closed_utc is None else to_micros(item.closed_utc),
        "accounting_state": item.accounting_state.value,
        "type": item.type.value,
        "document": encode_item(item),
    }


def insert_items(connection: Connection, items: Iterable[OrderItem]) -> int:
    """Insert in one statement batch; the caller's transaction makes it all or nothing."""
    rows = [item_row(item) for item in items]
    if rows:
        connection.execute(t.insert(), rows)
    return len(rows)


def _interval(column: sa.ColumnElement[int], interval: TimeInterval) -> sa.ColumnElement[bool]:
    start = to_micros(interval.start)
    if interval.is_instant:
        return column == start
    return sa.and_(column >= start, column < to_micros(interval.end))


def filter_conditions(query: ItemQuery) -> list[sa.ColumnElement[bool]]:
    """AND across properties, OR within one (an IN list)."""
    conditions: list[sa.ColumnElement[bool]] = []
    id_filters = (
        (t.c.id, query.order_item_ids),
        (t.c.account_id, query.account_ids),
        (t.c.service_order_id, query.service_order_ids),
        (t.c.service_id, query.service_ids),
        (t.c.bill_id, query.bill_ids),
    )
    for id_column, ids in id_filters:
        if ids is not None:
            conditions.append(id_column.in_(sorted(ids)))
    intervals = (
        (t.c.created_us, query.created),
        (t.c.updated_us, query.updated),
        (t.c.consumed_us, query.consumed),
        (t.c.canceled_us, query.canceled),
        (t.c.closed_us, query.closed),
    )
    for time_column, interval in intervals:
        if interval is not None:
            conditions.append(_interval(time_column, interval))
    if query.accounting_states is not None:
        conditions.append(t.c.accounting_state.in_(sorted(query.accounting_states)))
    if query.types is not None:
        conditions.append(t.c.type.in_(sorted(query.types)))
    return conditions


def before(position: tuple[int, uuid.UUID]) -> sa.ColumnElement[bool]:
    """Strictly after ``position`` in (created desc, id desc) order; the bound values carry the
    column types, so the id compares as stored (16 bytes on SQLite, not hex text)."""
    created_us, item_id = position
    return sa.tuple_(t.c.created_us, t.c.id) < sa.tuple_(
        sa.literal(created_us, t.c.created_us.type), sa.literal(item_id, t.c.id.type)
    )


def find_position(
    connection: Connection, enterprise_ids: Sequence[uuid.UUID], item_id: uuid.UUID
) -> tuple[int, uuid.UUID] | None:
    """The keyset position of an item visible in this scope, or None."""
    row = connection.execute(
        sa.select(t.c.created_us, t.c.id).where(
            t.c.enterprise_id.in_(enterprise_ids), t.c.id == item_id
        )
    ).first()
    return None if row is None else (row.created_us, row.id)


def select_page(
    connection: Connection,
    *,
    enterprise_ids: Sequence[uuid.UUID],
    query: ItemQuery,
    page: PageRequest,
) -> Page:
    """One page in (CreatedUtc desc, Id desc) order, strictly after the cursor item."""
    conditions = filter_conditions(query)
    if page.cursor is not None:
        position = find_position(connection, enterprise_ids, page.cursor)
        if position is None:
            raise InvalidInput(
                f"Invalid Cursor: no order item {page.cursor} is available.", field="Cursor"
            )
        conditions.append(before(position))
    order = (t.c.created_us.desc(), t.c.id.desc())
    rowid = physical_row_id(connection)
    locator: list[sa.ColumnElement[Any]] = (
        [sa.literal_column(rowid).label("row")] if rowid else [t.c.enterprise_id]
    )

    def page_keys(scope: sa.ColumnElement[bool]) -> sa.Select[Any]:
        return (
            sa.select(*locator, t.c.id, t.c.created_us)
            .where(scope, *conditions)
            .order_by(*order)
            .limit(page.count)
        )

    # Two phases: the keys of the page come from the indexes alone; only then are the page's
    # documents fetched by row, so no document passes through a sort. Each key carries its
    # place on the page, and the documents are put in place here rather than sorted by SQL.
    if 1 < len(enterprise_ids) <= MAX_MERGED_ENTERPRISES:
        branches = [page_keys(t.c.enterprise_id == e).subquery().select() for e in enterprise_ids]
        merged = sa.union_all(*branches).subquery()
        keys = (
            sa.select(merged)
            .order_by(merged.c.created_us.desc(), merged.c.id.desc())
            .limit(page.count)
            .subquery()
        )
    else:
        keys = page_keys(t.c.enterprise_id.in_(enterprise_ids)).subquery()
    place = sa.func.row_number().over(order_by=(keys.c.created_us.desc(), keys.c.id.desc()))
    placed = sa.select(keys, place.label("place")).subquery()
    if rowid:
        found = sa.literal_column(f"{t.name}.{rowid}") == placed.c.row
    else:
        found = sa.and_(t.c.enterprise_id == placed.c.enterprise_id, t.c.id == placed.c.id)
    statement = sa.select(placed.c.place, t.c.id, t.c.document).join_from(placed, t, found)
    rows = connection.execute(statement).all()
    if not rows:
        return Page(documents=[], cursor=None)
    documents: list[bytes] = [b""] * len(rows)
    cursor = None
    for place_on_page, item_id, document in rows:
        documents[place_on_page - 1] = document
        if place_on_page == len(rows):
            cursor = item_id
    return Page(documents=documents, cursor=cursor)


def iter_documents(
    connection: Connection, *, enterprise_ids: Sequence[uuid.UUID], batch_size: int = 5000
) -> Iterator[bytes]:
    """Every stored document of these enterprises, one enterprise after another, each newest
    first, in keyset batches along the enterprise's index (for export)."""
    for enterprise_id in enterprise_ids:
        position: tuple[int, uuid.UUID] | None = None
        while True:
            statement = sa.select(t.c.created_us, t.c.id, t.c.document).where(
                t.c.enterprise_id == enterprise_id
            )
            if position is not None:
                statement = statement.where(before(position))
            rows = connection.execute(
                statement.order_by(t.c.created_us.desc(), t.c.id.desc()).limit(batch_size)
            ).all()
            if not rows:
                break
            for row in rows:
                yield row.document
            position = (rows[-1].created_us, rows[-1].id)


def count_items(connection: Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
