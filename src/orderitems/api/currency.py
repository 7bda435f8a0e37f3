"""The request ``Currency``: converting stored item documents (docs/behaviour.md#currency).

Pages still stream from stored bytes: a document is decoded only when a ``Currency`` was asked
for and its ``Amount`` or ``UnitAmount`` is in another one; the check reads just those two
currency codes, without building the item.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec
from sqlalchemy.engine import Connection

from orderitems.domain.conversion import Converter, build_converter
from orderitems.domain.items import OrderItem
from orderitems.store.documents import decode_item, encode_item
from orderitems.store.rates import rates_into
from orderitems.store.reference import enterprise_currencies


class _Currency(msgspec.Struct, rename="pascal"):
    currency: str


class _AmountCurrencies(msgspec.Struct, rename="pascal"):
    """Only the two currencies of a stored document; every other property is skipped."""

    unit_amount: _Currency
    amount: _Currency


_probe = msgspec.json.Decoder(_AmountCurrencies)


def load_converter(
    connection: Connection, currency: str | None, scope: Sequence[uuid.UUID]
) -> Converter | None:
    """None when no ``Currency`` was asked for; 400 ``Invalid Currency`` for an unknown code or
    an enterprise in scope without a rate from its currency into it."""
    if currency is None:
        return None
    target = currency.upper()
    return build_converter(
        target, enterprise_currencies(connection, scope), rates_into(connection, scope, target)
    )


def convert_document(document: bytes, converter: Converter) -> bytes:
    """The document itself when it is already in the target currency, else re-encoded."""
    found = _probe.decode(document)
    if not converter.needs_conversion([found.amount.currency, found.unit_amount.currency]):
        return document
    return encode_item(converter.convert_item(decode_item(document)))


def convert_documents(documents: Sequence[bytes], converter: Converter | None) -> list[bytes]:
    if converter is None:
        return list(documents)
    return [convert_document(d, converter) for d in documents]


def convert_item(item: OrderItem, converter: Converter | None) -> OrderItem:
    return item if converter is None else converter.convert_item(item)
