"""Rows of a bulk load in each engine's wire form, made without a connection.

Pure functions over domain values (no SQLAlchemy, no driver), so that an import can run them
in worker processes that start quickly, and what crosses back is plain bytes and tuples,
cheap to pickle. PostgreSQL rows are packed in ``COPY``'s binary format here rather than by
psycopg from tuples (less work per item); SQLite rows are tuples for ``executemany``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orderitems.domain.enterprises import ServiceOrder
from orderitems.domain.items import AccountingState, OrderItem, OrderItemType
from orderitems.store.documents import encode_item, to_micros

#: The written columns of an item, in the order of the values the writers produce.
ITEM_COLUMNS: tuple[str, ...] = (
    "enterprise_id",
    "id",
    "account_id",
    "service_id",
    "service_order_id",
    "bill_id",
    "created_us",
    "updated_us",
    "consumed_us",
    "canceled_us",
    "closed_us",
    "accounting_state",
    "type",
    "document",
)
SERVICE_ORDER_COLUMNS: tuple[str, ...] = (
    "enterprise_id",
    "id",
    "service_id",
    "kind",
    "account_id",
    "start_us",
    "end_us",
)

#: The registry of item ids (schema.py ``order_item_ids``), written beside every item.
ITEM_ID_COLUMNS: tuple[str, ...] = ("id", "enterprise_id")

Row = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class EncodedItems:
    """Items, their ids for the registry and service orders in their writer's wire form:
    binary ``COPY`` rows (bytes per row) for PostgreSQL, insert tuples for SQLite."""

    count: int
    rows: bytes | list[Row]  # the items' rows, joined into one buffer for COPY
    service_orders: list[bytes] | list[Row]
    ids: bytes | list[Row]  # (id, enterprise_id) of each item, in the items' order


#: Makes the wire form for one engine; module-level functions, so they pickle by name.
ItemEncoder = Callable[[Sequence[OrderItem], Sequence[ServiceOrder]], EncodedItems]


def order_key(order: ServiceOrder) -> bytes:
    """A service order's primary key as bytes, to leave out orders already written."""
    return order.enterprise_id.bytes + order.id.bytes


# SQLite: tuples, uuids as 16 raw bytes.


def item_insert_row(item: OrderItem) -> Row:
    """An item in ``ITEM_COLUMNS`` order as SQLite stores it (uuids as 16 raw bytes)."""
    account = item.account_id
    bill = item.bill_id
    canceled = item.canceled_utc
    closed = item.closed_utc
    return (
        item.enterprise_id.bytes,
        item.id.bytes,
        None if account is None else account.bytes,
        item.service_id.bytes,
        item.service_order_id.bytes,
        None if bill is None else bill.bytes,
        to_micros(item.created_utc),
        to_micros(item.updated_utc),
        to_micros(item.consumed_utc),
        None if canceled is None else to_micros(canceled),
        None if closed is None else to_micros(closed),
        item.accounting_state.value,
        item.type.value,
        encode_item(item),
    )


def service_order_insert_row(order: ServiceOrder) -> Row:
    return (
        order.enterprise_id.bytes,
        order.id.bytes,
        order.service_id.bytes,
        order.kind.value,
        None if order.account_id is None else order.account_id.bytes,
        None if order.start_utc is None else to_micros(order.start_utc),
        None if order.end_utc is None else to_micros(order.end_utc),
    )


def sqlite_rows(items: Sequence[OrderItem], orders: Sequence[ServiceOrder]) -> EncodedItems:
    return EncodedItems(
        count=len(items),
        rows=[item_insert_row(item) for item in items],
        service_orders=[service_order_insert_row(order) for order in orders],
        ids=[(item.id.bytes, item.enterprise_id.bytes) for item in items],
    )


# PostgreSQL: binary COPY, each field its int32 length (-1 for NULL) and its bytes.

#: The stream's header (signature, no flags, no extension) and trailer.
COPY_HEADER = b"PGCOPY\n\xff\r\n\0" + bytes(8)
COPY_TRAILER = b"\xff\xff"
_NULL = b"\xff\xff\xff\xff"
_UUID = b"\x00\x00\x00\x10"  # a field of 16 bytes follows
_ITEM_FIELDS = struct.pack("!h", len(ITEM_COLUMNS))
_ORDER_FIELDS = struct.pack("!h", len(SERVICE_ORDER_COLUMNS))
_ID_FIELDS = struct.pack("!h", len(ITEM_ID_COLUMNS))
_int8 = struct.Struct("!iq").pack
_length = struct.Struct("!i").pack


def _text(value: str) -> bytes:
    data = value.encode()
    return _length(len(data)) + data


_STATES = {state: _text(state.value) for state in AccountingState}
_TYPES = {kind: _text(kind.value) for kind in OrderItemType}


def item_copy_bytes(item: OrderItem) -> bytes:
    """An item as one binary ``COPY`` row, in ``ITEM_COLUMNS`` order."""
    account = item.account_id
    bill = item.bill_id
    canceled = item.canceled_utc
    closed = item.closed_utc
    document = encode_item(item)
    return b"".join(
        (
            _ITEM_FIELDS,
            _UUID,
            item.enterprise_id.bytes,
            _UUID,
            item.id.bytes,
            _NULL if account is None else _UUID + account.bytes,
            _UUID,
            item.service_id.bytes,
            _UUID,
            item.service_order_id.bytes,
            _NULL if bill is None else _UUID + bill.bytes,
            _int8(8, to_micros(item.created_utc)),
            _int8(8, to_micros(item.updated_utc)),
            _int8(8, to_micros(item.consumed_utc)),
            _NULL if canceled is None else _int8(8, to_micros(canceled)),
            _NULL if closed is None else _int8(8, to_micros(closed)),
            _STATES[item.accounting_state],
            _TYPES[item.type],
            _length(len(document)),
            document,
        )
    )


def service_order_copy_bytes(order: ServiceOrder) -> bytes:
    account = order.account_id
    start = order.start_utc
    end = order.end_utc
    return b"".join(
        (
            _ORDER_FIELDS,
            _UUID,
            order.enterprise_id.bytes,
            _UUID,
            order.id.bytes,
            _UUID,
            order.service_id.bytes,
            _text(order.kind.value),
            _NULL if account is None else _UUID + account.bytes,
            _NULL if start is None else _int8(8, to_micros(start)),
            _NULL if end is None else _int8(8, to_micros(end)),
        )
    )


def item_id_copy_bytes(items: Sequence[OrderItem]) -> bytes:
    """The items' registry rows (``ITEM_ID_COLUMNS``), 42 bytes each, in one buffer."""
    head = _ID_FIELDS + _UUID
    return b"".join([head + item.id.bytes + _UUID + item.enterprise_id.bytes for item in items])


def copy_rows(items: Sequence[OrderItem], orders: Sequence[ServiceOrder]) -> EncodedItems:
    return EncodedItems(
        count=len(items),
        rows=b"".join([item_copy_bytes(item) for item in items]),
        service_orders=[service_order_copy_bytes(order) for order in orders],
        ids=item_id_copy_bytes(items),
    )
