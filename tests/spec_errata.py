"""Where the official OpenAPI spec contradicts what Mews sends, recorded once; tests/contract.py
applies these corrections and nothing else, and a test proves each one is still needed.

semantics.md section 14, row 13: ``OrderItemOld`` types its timestamps ``format: date``, but
the values are date-times (the rendered reference and every example show
``2016-03-10T13:00:00Z``), as on the new ``OrderItem``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Erratum:
    schema: str
    property: str
    correction: dict[str, Any]
    reason: str


_LEGACY_DATE_TIME = "legacy timestamps are date-times although the spec says format: date"

ERRATA: tuple[Erratum, ...] = tuple(
    Erratum("OrderItemOld", name, {"format": "date-time"}, _LEGACY_DATE_TIME)
    for name in ("CreatedUtc", "UpdatedUtc", "ConsumedUtc", "CanceledUtc", "ClosedUtc", "StartUtc")
)
