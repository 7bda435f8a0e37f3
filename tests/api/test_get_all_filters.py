"""orderItems/getAll filters, alone and together, over real HTTP (docs/behaviour.md#filters)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from answers import ids_of
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.domain.items import AccountingState, OrderItemType

GET_ALL = "/api/connector/v1/orderItems/getAll"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def window(start: Any, end: Any) -> dict[str, str]:
    return {"StartUtc": iso(start), "EndUtc": iso(end)}


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


WIDE = {"CreatedUtc": window(T0 - timedelta(days=1), T0 + timedelta(days=30))}


def query(http: httpx.Client, tenant: Tenant, **filters: Any) -> list[str]:
    body = tenant.envelope(**filters, Limitation={"Count": 1000})
    return ids_of(http.post(GET_ALL, json=body))


def newest_first(items: list[Any]) -> list[str]:
    return [str(i.id) for i in sorted(items, key=lambda i: i.created_utc, reverse=True)]


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("OrderItemIds", "id"),
        ("AccountIds", "account_id"),
        ("ServiceOrderIds", "service_order_id"),
        ("ServiceIds", "service_id"),
    ],
)
def test_each_id_filter_alone_selects_exactly_the_named_items(
    http: httpx.Client, tenant: Tenant, name: str, attribute: str
) -> None:
    chosen = [tenant.items[1], tenant.items[4]]
    values = [str(getattr(i, attribute)) for i in chosen]
    assert query(http, tenant, **{name: values}) == newest_first(chosen)


def test_bill_ids_select_the_items_on_those_bills(http: httpx.Client, tenant: Tenant) -> None:
    closed = [i for i in tenant.items if i.bill_id is not None]
    assert len(closed) == 2
    assert query(http, tenant, BillIds=[str(closed[0].bill_id)]) == [str(closed[0].id)]


@pytest.mark.parametrize(
    ("name", "attribute"),
    [("UpdatedUtc", "updated_utc"), ("ClosedUtc", "closed_utc")],
)
def test_each_time_filter_alone_is_half_open(
    http: httpx.Client, tenant: Tenant, name: str, attribute: str
) -> None:
    stamped = [i for i in tenant.items if getattr(i, attribute) is not None]
    first, last = stamped[0], stamped[-1]
    start, end = getattr(first, attribute), getattr(last, attribute)
    inside = [i for i in stamped if start <= getattr(i, attribute) < end]
    assert last not in inside
    assert query(http, tenant, **{name: window(start, end)}) == newest_first(inside)


def test_consumed_and_canceled_narrow_a_qualifying_filter(
    http: httpx.Client, tenant: Tenant
) -> None:
    canceled = [i for i in tenant.items if i.canceled_utc is not None]
    assert canceled
    assert query(
        http, tenant, **WIDE, CanceledUtc=window(T0, T0 + timedelta(days=30))
    ) == newest_first(canceled)
    third = tenant.items[2]
    assert query(
        http, tenant, **WIDE, ConsumedUtc=window(third.consumed_utc, third.consumed_utc)
    ) == [str(third.id)]


def test_accounting_states_and_types_combine_with_and_across_or_within(
    http: httpx.Client, tenant: Tenant
) -> None:
    expected = [
        i
        for i in tenant.items
        if i.accounting_state in (AccountingState.OPEN, AccountingState.CLOSED)
        and i.type is OrderItemType.SPACE_ORDER
    ]
    assert len(expected) == 2
    found = query(http, tenant, **WIDE, AccountingStates=["Open", "Closed"], Types=["SpaceOrder"])
    assert found == newest_first(expected)


def test_omitted_accounting_states_return_all_four_states(
    http: httpx.Client, tenant: Tenant
) -> None:
    assert len(query(http, tenant, **WIDE)) == 6


def test_a_filter_combination_with_no_match_returns_an_empty_page_with_a_null_cursor(
    http: httpx.Client, tenant: Tenant
) -> None:
    body = tenant.envelope(
        OrderItemIds=[str(tenant.items[0].id)], Types=["Deposit"], Limitation={"Count": 10}
    )
    response = http.post(GET_ALL, json=body)
    assert response.json() == {"OrderItems": [], "Cursor": None}


def test_another_tenants_items_are_never_returned(
    http: httpx.Client, engine: Engine, tenant: Tenant
) -> None:
    other = make_tenant(engine)
    store_items(engine, other, [make_item(enterprise_id=other.enterprise_id)])
    assert query(http, other, OrderItemIds=[str(i.id) for i in tenant.items]) == []


def test_a_portfolio_token_sees_every_enterprise_and_enterprise_ids_narrow_it(
    http: httpx.Client, engine: Engine
) -> None:
    portfolio = make_tenant(engine, enterprises=2)
    items = store_items(
        engine,
        portfolio,
        [
            make_item(enterprise_id=e, created_utc=T0 + timedelta(hours=n))
            for n, e in enumerate(portfolio.enterprise_ids * 2)
        ],
    )
    assert query(http, portfolio, **WIDE) == newest_first(items)
    second = portfolio.enterprise_ids[1]
    narrowed = query(http, portfolio, **WIDE, EnterpriseIds=[str(second)])
    assert narrowed == newest_first([i for i in items if i.enterprise_id == second])


def test_items_carry_every_property_of_the_schema_with_nulls(
    http: httpx.Client, tenant: Tenant
) -> None:
    body = tenant.envelope(OrderItemIds=[str(tenant.items[0].id)], Limitation={"Count": 1})
    (item,) = http.post(GET_ALL, json=body).json()["OrderItems"]
    from contract import official_spec

    properties = official_spec()["components"]["schemas"]["OrderItem"]["properties"]
    assert list(item) == list(properties)
    assert item["Data"] is None
    assert item["CanceledUtc"] is None
    assert isinstance(item["Amount"]["GrossValue"], float | int)
