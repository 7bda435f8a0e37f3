"""Exchange rates per enterprise and direction, in the ``exchangeRates/getAll`` shape."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.domain.conversion import ExchangeRate
from orderitems.store.schema import exchange_rates as t


def _key(rate: ExchangeRate) -> sa.ColumnElement[bool]:
    return sa.and_(
        t.c.enterprise_id == rate.enterprise_id,
        t.c.source_currency == rate.source,
        t.c.target_currency == rate.target,
    )


def set_rates(connection: Connection, rates: Iterable[ExchangeRate], *, now_us: int) -> int:
    """Insert or replace each rate; the caller's transaction makes a batch all or nothing."""
    count = 0
    for rate in rates:
        updated = connection.execute(
            t.update().where(_key(rate)).values(value=rate.value, updated_us=now_us)
        )
        if updated.rowcount == 0:
            connection.execute(
                t.insert().values(
                    enterprise_id=rate.enterprise_id,
                    source_currency=rate.source,
                    target_currency=rate.target,
                    value=rate.value,
                    updated_us=now_us,
                )
            )
        count += 1
    return count


def add_missing_rates(connection: Connection, rates: Iterable[ExchangeRate], *, now_us: int) -> int:
    """Insert only the pairs not stored yet, so seeding never overwrites a rate someone set."""
    wanted = list(rates)
    enterprise_ids = sorted({r.enterprise_id for r in wanted})
    stored = {
        (row.enterprise_id, row.source_currency, row.target_currency)
        for row in connection.execute(
            sa.select(t.c.enterprise_id, t.c.source_currency, t.c.target_currency).where(
                t.c.enterprise_id.in_(enterprise_ids)
            )
        )
    }
    rows = [
        {
            "enterprise_id": r.enterprise_id,
            "source_currency": r.source,
            "target_currency": r.target,
            "value": r.value,
            "updated_us": now_us,
        }
        for r in wanted
        if (r.enterprise_id, r.source, r.target) not in stored
    ]
    if rows:
        connection.execute(t.insert(), rows)
    return len(rows)


def list_rates(
    connection: Connection, enterprise_ids: Sequence[uuid.UUID] | None = None
) -> list[ExchangeRate]:
    statement = sa.select(t.c.enterprise_id, t.c.source_currency, t.c.target_currency, t.c.value)
    if enterprise_ids is not None:
        statement = statement.where(t.c.enterprise_id.in_(enterprise_ids))
    rows = connection.execute(
        statement.order_by(t.c.enterprise_id, t.c.source_currency, t.c.target_currency)
    )
    return [
        ExchangeRate(row.enterprise_id, row.source_currency, row.target_currency, _exact(row.value))
        for row in rows
    ]


def rates_into(
    connection: Connection, enterprise_ids: Sequence[uuid.UUID], target: str
) -> dict[tuple[uuid.UUID, str], Decimal]:
    """Every rate into ``target`` of these enterprises: (enterprise, source) -> value."""
    rows = connection.execute(
        sa.select(t.c.enterprise_id, t.c.source_currency, t.c.value).where(
            t.c.enterprise_id.in_(enterprise_ids), t.c.target_currency == target
        )
    )
    return {(row.enterprise_id, row.source_currency): _exact(row.value) for row in rows}


def _exact(value: Decimal) -> Decimal:
    """Drop the column's trailing zeros (1.175731700000 -> 1.1757317); SQLite hands back a
    float rendered to 12 decimals, which is exact for the values ``parse_exchange_rate`` admits
    up to 15 significant digits."""
    normal = Decimal(value).normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal
