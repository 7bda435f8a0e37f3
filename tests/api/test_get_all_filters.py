"""orderItems/getAll filters, alone and together, over real HTTP (BEHAVIOUR.md getAll)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from contract import assert_matches_schema
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.domain.items import AccountingState, OrderItemType

GET_ALL = "/api/connector/v1/orderItems/getAll"


def iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def window(start: Any, end: Any) -> dict[str, str]:
    return {"StartUtc": iso(start), "EndUtc": iso(end)}


def ids_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert_matches_schema(body, "OrderItemResult")
    return [item["Id"] for item in body["OrderItems"]]


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    """Six items a day apart, newest last, with distinct ids, bills, states and types."""
    tenant = make_tenant(engine)
    states = [
        AccountingState.OPEN,
        AccountingState.CLOSED,
        AccountingState.CANCELED,
        AccountingState.INACTIVE,
        AccountingState.OPEN,
        AccountingState.CLOSED,
    ]
    types = [
        OrderItemType.SPACE_ORDER,
        OrderItemType.CITY_TAX,
        OrderItemType.PRODUCT_ORDER,
        OrderItemType.SPACE_ORDER,
        OrderItemType.DEPOSIT,
        OrderItemType.SPACE_ORDER,
    ]
    items = [
        make_item(
            enterprise_id=tenant.enterprise_id,
            created_utc=T0 + timedelta(days=n),
            state=states[n],
            type=types[n],
        )
        for n in range(6)
    ]
    store_items(engine, tenant, items)
    return tenant


def test_created_interval_returns_items_newest_first(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post(
        GET_ALL,
        json=tenant.envelope(
            CreatedUtc=window(T0, T0 + timedelta(days=30)), Limitation={"Count": 100}
        ),
    )
    assert ids_of(response) == [str(i.id) for i in reversed(tenant.items)]
    assert response.headers["request-id"]
