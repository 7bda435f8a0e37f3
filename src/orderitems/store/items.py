"""Reading and writing order items (docs/behaviour.md#order-and-cursor, #tokens-and-scope)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.domain.errors import InvalidInput
from orderitems.domain.items import OrderItem
from orderitems.domain.query import ItemQuery, PageRequest
from orderitems.store.dialect import Dialect
from orderitems.store.documents import encode_item, to_micros
from orderitems.store.engine import dialect_of
from orderitems.store.item_ids import register_items
from orderitems.store.page_plan import CursorItem, Position, plan_page
from orderitems.store.page_sql import Statement
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
    """Insert in one statement batch, ids registered first (item_ids.py); the caller's
    transaction makes it all or nothing."""
    listed = list(items)
    register_items(connection, listed)
    rows = [item_row(item) for item in listed]
    if rows:
        connection.execute(t.insert(), rows)
    return len(rows)


def before(position: tuple[int, uuid.UUID]) -> sa.ColumnElement[bool]:
    """Strictly after ``position`` in (created desc, id desc) order; the bound values carry the
    column types, so the id compares as stored (16 bytes on SQLite, not hex text)."""
    created_us, item_id = position
    return sa.tuple_(t.c.created_us, t.c.id) < sa.tuple_(
        sa.literal(created_us, t.c.created_us.type), sa.literal(item_id, t.c.id.type)
    )


def _run(connection: Connection, dialect: Dialect, statement: Statement) -> list[Any]:
    return dialect.fetch_rows(
        connection, statement.text, statement.values, prepare=not statement.plan_each_time
    )


def find_position(
    connection: Connection, enterprise_ids: Sequence[uuid.UUID], item_id: uuid.UUID
) -> tuple[int, uuid.UUID] | None:
    """The keyset position of an item visible in this scope, or None."""
    dialect = dialect_of(connection)
    rows = _run(connection, dialect, dialect.pages.position(enterprise_ids, item_id))
    return None if not rows else (int(rows[0][0]), item_id)


def _position_or_error(
    connection: Connection, visible: Sequence[uuid.UUID], cursor: uuid.UUID
) -> tuple[int, uuid.UUID]:
    position = find_position(connection, visible, cursor)
    if position is None:
        raise InvalidInput(f"Invalid Cursor: no order item {cursor} is available.", field="Cursor")
    return position


def select_page(
    connection: Connection,
    *,
    enterprise_ids: Sequence[uuid.UUID],
    query: ItemQuery,
    page: PageRequest,
    visible_enterprise_ids: Sequence[uuid.UUID] | None = None,
) -> Page:
    """One page in (CreatedUtc desc, Id desc) order, strictly after the cursor item.

    The cursor may be any item visible to the token (``visible_enterprise_ids``, by default
    the searched enterprises), whether or not it matches the filter
    (docs/behaviour.md#order-and-cursor).

    Two phases in one statement (store/page_plan.py, store/page_sql.py): the keys of the
    page come from the indexes alone, each numbered with its place on the page; only then
    are the page's documents fetched by row, so no document passes through a sort, and they
    are put in place here. A portfolio merges one index-ordered branch per enterprise. (On
    PostgreSQL a walk already in page order reads each document as it goes; page_sql.py.)
    """
    dialect = dialect_of(connection)
    visible = enterprise_ids if visible_enterprise_ids is None else visible_enterprise_ids
    position: Position | None = None
    if page.cursor is not None:
        if dialect.cursor_in_page:
            position = CursorItem(visible, page.cursor)
        else:
            position = _position_or_error(connection, visible, page.cursor)
    plan = plan_page(
        enterprise_ids=enterprise_ids,
        query=query,
        count=page.count,
        position=position,
        merge_limit=MAX_MERGED_ENTERPRISES,
    )
    rows = _run(connection, dialect, dialect.pages.page(plan))
    if not rows:
        if isinstance(position, CursorItem):
            _position_or_error(connection, visible, position.item_id)
        return Page(documents=[], cursor=None)
    documents: list[bytes] = [b""] * len(rows)
    last: Any = None
    for place_on_page, item_id, document in rows:
        documents[place_on_page - 1] = bytes(document)
        if place_on_page == len(rows):
            last = item_id
    return Page(documents=documents, cursor=dialect.read_uuid(last))


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


def count_items_by_enterprise(connection: Connection) -> dict[uuid.UUID, int]:
    """Items per enterprise (the console's start page)."""
    rows = connection.execute(
        sa.select(t.c.enterprise_id, sa.func.count()).group_by(t.c.enterprise_id)
    )
    return {
        key if isinstance(key, uuid.UUID) else uuid.UUID(bytes=bytes(key)): int(count)
        for key, count in rows
    }
