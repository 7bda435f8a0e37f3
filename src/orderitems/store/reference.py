"""Enterprises, services and service orders: the reference data items point at."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.domain.enterprises import Enterprise, Pricing, Service, ServiceOrder
from orderitems.store.documents import to_micros
from orderitems.store.schema import enterprises, service_orders, services


def upsert_enterprises(connection: Connection, rows: Iterable[Enterprise]) -> None:
    for enterprise in rows:
        values = {
            "name": enterprise.name,
            "currency": enterprise.currency,
            "tax_environment": enterprise.tax_environment,
            "pricing": enterprise.pricing.value,
            "time_zone": enterprise.time_zone,
        }
        updated = connection.execute(
            enterprises.update().where(enterprises.c.id == enterprise.id).values(**values)
        )
        if updated.rowcount == 0:
            connection.execute(enterprises.insert().values(id=enterprise.id, **values))


def list_enterprises(connection: Connection) -> list[Enterprise]:
    rows = connection.execute(sa.select(enterprises).order_by(enterprises.c.name)).all()
    return [
        Enterprise(
            id=row.id,
            name=row.name,
            currency=row.currency,
            tax_environment=row.tax_environment,
            pricing=Pricing(row.pricing),
            time_zone=row.time_zone,
        )
        for row in rows
    ]


def existing_enterprise_ids(
    connection: Connection, candidates: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    rows = connection.execute(sa.select(enterprises.c.id).where(enterprises.c.id.in_(candidates)))
    return {row.id for row in rows}


def insert_services(connection: Connection, rows: Iterable[Service]) -> None:
    """Insert the services not stored yet (loading the same catalogue twice is harmless)."""
    existing = {
        (row.enterprise_id, row.id)
        for row in connection.execute(sa.select(services.c.enterprise_id, services.c.id))
    }
    values = [
        {"enterprise_id": s.enterprise_id, "id": s.id, "name": s.name, "kind": s.kind}
        for s in rows
        if (s.enterprise_id, s.id) not in existing
    ]
    if values:
        connection.execute(services.insert(), values)


def insert_service_orders(connection: Connection, rows: Iterable[ServiceOrder]) -> None:
    values = [
        {
            "enterprise_id": o.enterprise_id,
            "id": o.id,
            "service_id": o.service_id,
            "kind": o.kind.value,
            "account_id": o.account_id,
            "start_us": None if o.start_utc is None else to_micros(o.start_utc),
            "end_us": None if o.end_utc is None else to_micros(o.end_utc),
        }
        for o in rows
    ]
    if values:
        connection.execute(service_orders.insert(), values)


def enterprise_currencies(
    connection: Connection, enterprise_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = connection.execute(
        sa.select(enterprises.c.id, enterprises.c.currency).where(
            enterprises.c.id.in_(enterprise_ids)
        )
    )
    return {row.id: row.currency for row in rows}
