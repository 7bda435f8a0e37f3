"""Keyword factories: each test builds its own enterprise, tokens and items."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from orderitems.access.tokens import create_access_token, new_token
from orderitems.domain.amounts import TaxRate, price_from_gross, scale_amount
from orderitems.domain.conversion import parse_exchange_rate
from orderitems.domain.enterprises import Enterprise, Pricing, ServiceOrder, ServiceOrderKind
from orderitems.domain.items import (
    AccountingState,
    AccountType,
    Options,
    OrderItem,
    OrderItemType,
    RevenueType,
)
from orderitems.store.items import insert_items
from orderitems.store.rates import set_rates
from orderitems.store.reference import insert_service_orders, upsert_enterprises

T0 = datetime(2025, 3, 1, tzinfo=UTC)
VAT = TaxRate("UK-S", Decimal("0.20"))


def make_enterprise(*, currency: str = "GBP", **overrides: Any) -> Enterprise:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": f"Test hotel {uuid.uuid4().hex[:6]}",
        "currency": currency,
        "tax_environment": "UK",
        "pricing": Pricing.GROSS,
        "time_zone": "Europe/London",
    }
    values.update(overrides)
    return Enterprise(**values)


def make_item(
    *,
    enterprise_id: uuid.UUID,
    created_utc: datetime = T0,
    state: AccountingState = AccountingState.OPEN,
    type: OrderItemType = OrderItemType.SPACE_ORDER,
    gross: str = "120.00",
    unit_count: int = 1,
    currency: str = "GBP",
    **overrides: Any,
) -> OrderItem:
    unit = price_from_gross(Decimal(gross), VAT, currency=currency, exponent=2)
    amount = scale_amount(unit, unit_count)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "enterprise_id": enterprise_id,
        "account_id": uuid.uuid4(),
        "account_type": AccountType.CUSTOMER,
        "service_id": uuid.uuid4(),
        "service_order_id": uuid.uuid4(),
        "bill_id": None,
        "unit_count": unit_count,
        "unit_amount": unit,
        "amount": amount,
        "original_amount": amount,
        "revenue_type": RevenueType.SERVICE,
        "creator_profile_id": uuid.uuid4(),
        "updater_profile_id": uuid.uuid4(),
        "created_utc": created_utc,
        "updated_utc": created_utc + timedelta(minutes=5),
        "consumed_utc": created_utc + timedelta(days=3),
        "accounting_state": state,
        "type": type,
        "options": Options(canceled_with_reservation=False),
    }
    if state is AccountingState.CLOSED:
        values["bill_id"] = uuid.uuid4()
        values["closed_utc"] = created_utc + timedelta(days=4)
    if state is AccountingState.CANCELED:
        values["canceled_utc"] = created_utc + timedelta(days=1)
    values.update(overrides)
    return OrderItem(**values)


@dataclass
class Tenant:
    """An enterprise (or several) reachable with its own token pair."""

    enterprise_ids: list[uuid.UUID]
    client_token: str
    access_token: str
    profile_id: uuid.UUID
    items: list[OrderItem] = field(default_factory=list)

    @property
    def enterprise_id(self) -> uuid.UUID:
        return self.enterprise_ids[0]

    def envelope(self, **body: Any) -> dict[str, Any]:
        return {
            "ClientToken": self.client_token,
            "AccessToken": self.access_token,
            "Client": "orderitems tests 1.0",
            **body,
        }


def make_tenant(engine: Engine, *, enterprises: int = 1, currency: str = "GBP") -> Tenant:
    created = [make_enterprise(currency=currency) for _ in range(enterprises)]
    profile_id = uuid.uuid4()
    tenant = Tenant(
        enterprise_ids=[e.id for e in created],
        client_token=new_token(),
        access_token=new_token(),
        profile_id=profile_id,
    )
    with engine.begin() as connection:
        upsert_enterprises(connection, created)
        create_access_token(
            connection,
            client_token=tenant.client_token,
            client_name="tests",
            access_token=tenant.access_token,
            label=f"test-{uuid.uuid4().hex[:8]}",
            enterprise_ids=tenant.enterprise_ids,
            profile_id=profile_id,
        )
    return tenant


def store_items(engine: Engine, tenant: Tenant, items: list[OrderItem]) -> list[OrderItem]:
    with engine.begin() as connection:
        insert_items(connection, items)
    tenant.items.extend(items)
    return items


def store_reservation(
    engine: Engine,
    enterprise_id: uuid.UUID,
    *,
    account_id: uuid.UUID | None = None,
    kind: ServiceOrderKind = ServiceOrderKind.RESERVATION,
) -> uuid.UUID:
    """A service order (by default a reservation) whose id items take as ``ServiceOrderId``."""
    order = ServiceOrder(
        enterprise_id=enterprise_id,
        id=uuid.uuid4(),
        service_id=uuid.uuid4(),
        kind=kind,
        account_id=account_id,
        start_utc=T0,
        end_utc=T0 + timedelta(days=3),
    )
    with engine.begin() as connection:
        insert_service_orders(connection, [order])
    return order.id


def store_rates(engine: Engine, enterprise_id: uuid.UUID, *rates: tuple[str, str, str]) -> None:
    """Exchange rates (source, target, value) of one enterprise."""
    with engine.begin() as connection:
        set_rates(
            connection,
            [parse_exchange_rate(enterprise_id, s, t, v) for s, t, v in rates],
            now_us=0,
        )
