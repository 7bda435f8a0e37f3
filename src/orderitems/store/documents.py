"""Order items as stored documents: exactly the API's JSON shape, encoded once on write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from orderitems.domain.items import OrderItem

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(OrderItem)


def encode_item(item: OrderItem) -> bytes:
    return _encoder.encode(item)


def decode_item(document: bytes) -> OrderItem:
    """Raises ``msgspec.ValidationError`` or ``msgspec.DecodeError`` on a malformed document."""
    return _decoder.decode(document)


def to_micros(moment: datetime) -> int:
    """Exact integer microseconds since the epoch, the stored form of every timestamp."""
    return (moment - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)
