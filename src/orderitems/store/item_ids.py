"""The registry of order item ids: one id, one item, across every enterprise (issue 12).

The items' key leads with ``enterprise_id`` (for distribution, docs/scaling.md), so on its own
it lets two enterprises hold the same id. ``order_item_ids`` (schema.py) holds each stored id
once; every writer of items adds their ids in the same transaction, and its primary key
refuses an id that is stored anywhere or repeated in the same load. The refusal is raised as
``ItemIdTaken``, naming the id, whichever table's key noticed it first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.domain.items import OrderItem
from orderitems.store.schema import order_item_ids

#: The tables whose keys refuse a repeated item id.
ITEM_TABLES = ("order_item_ids", "order_items")
#: PostgreSQL's detail of a key violation: ``Key (enterprise_id, id)=(..., ...) already exists.``
_KEY_DETAIL = re.compile(r"Key \((?P<columns>[^)]*)\)=\((?P<values>[^)]*)\)")


class ItemIdTaken(Exception):
    """A load wrote an order item id that is stored already or repeated within the load; the
    load was rolled back. ``item_id`` is None only if the database did not say which."""

    def __init__(self, item_id: uuid.UUID | None) -> None:
        super().__init__(f"order item id {item_id} is stored already or repeated")
        self.item_id = item_id


def item_id_taken(error: sa.exc.IntegrityError) -> ItemIdTaken | None:
    """The repeated id of a key violation on an items table, or None for another table's."""
    original = error.orig
    if isinstance(original, psycopg.Error):
        diagnostic = original.diag
        if diagnostic.table_name not in ITEM_TABLES:
            return None
        found = _KEY_DETAIL.search(diagnostic.message_detail or "")
        if found is None:
            return ItemIdTaken(None)
        values = dict(zip(found["columns"].split(", "), found["values"].split(", "), strict=False))
        return ItemIdTaken(uuid.UUID(values["id"]) if "id" in values else None)
    message = str(original)  # SQLite: "UNIQUE constraint failed: order_items.enterprise_id, ..."
    if any(f" {table}." in message for table in ITEM_TABLES):
        return ItemIdTaken(None)
    return None


def register_items(connection: Connection, items: Sequence[OrderItem]) -> None:
    """Add the items' ids to the registry (for writers other than the bulk ones)."""
    if items:
        rows = [{"id": item.id, "enterprise_id": item.enterprise_id} for item in items]
        connection.execute(order_item_ids.insert(), rows)


def enterprise_of_item(connection: Connection, item_id: uuid.UUID) -> uuid.UUID | None:
    """The enterprise whose stored item has this id, if any."""
    return connection.execute(
        sa.select(order_item_ids.c.enterprise_id).where(order_item_ids.c.id == item_id)
    ).scalar_one_or_none()
