"""getAll ``Currency`` over real HTTP: amounts converted with each enterprise's own exchange
rates (docs/behaviour.md#currency)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from contract import assert_matches_schema
from factories import (
    T0,
    Tenant,
    make_enterprise,
    make_item,
    make_tenant,
    store_items,
    store_rates,
)
from orderitems.store.reference import upsert_enterprises

GET_ALL = "/api/connector/v1/orderItems/getAll"
WINDOW = {"StartUtc": "2025-02-01T00:00:00Z", "EndUtc": "2025-05-01T00:00:00Z"}
GBP_EUR = "1.1757317"


def get_all(http: httpx.Client, tenant: Tenant, **body: Any) -> httpx.Response:
    return http.post(
        GET_ALL, json=tenant.envelope(CreatedUtc=WINDOW, Limitation={"Count": 100}, **body)
    )


def items_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json(parse_float=Decimal)
    assert_matches_schema(response.json(), "OrderItemResult")
    items: list[dict[str, Any]] = body["OrderItems"]
    return items


def assert_amount_invariants(amount: dict[str, Any], exponent: int) -> None:
    taxes = sum((t["Value"] for t in amount["TaxValues"]), Decimal(0))
    assert amount["GrossValue"] == amount["NetValue"] + taxes
    breakdown = amount["Breakdown"]["Items"]
    assert sum((b["NetValue"] for b in breakdown), Decimal(0)) == amount["NetValue"]
    assert sum((b["TaxValue"] for b in breakdown), Decimal(0)) == taxes
    for value in (
        amount["NetValue"],
        amount["GrossValue"],
        *(t["Value"] for t in amount["TaxValues"]),
    ):
        digits = Decimal(value).as_tuple().exponent
        assert isinstance(digits, int), f"{value} is finite"
        assert digits >= -exponent


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    """A GBP hotel with items of assorted prices and counts, and a GBP->EUR rate."""
    tenant = make_tenant(engine)
    prices = ["120.00", "0.01", "19.99", "-45.50", "1234.57", "0.00"]
    store_items(
        engine,
        tenant,
        [
            make_item(
                enterprise_id=tenant.enterprise_id,
                created_utc=T0 + timedelta(hours=n),
                gross=price,
                unit_count=n % 3 + 1,
            )
            for n, price in enumerate(prices)
        ],
    )
    store_rates(engine, tenant.enterprise_id, ("GBP", "EUR", GBP_EUR), ("GBP", "JPY", "190.91"))
    return tenant


def test_amounts_are_converted_net_and_taxes_rounded_gross_their_sum(
    http: httpx.Client, tenant: Tenant
) -> None:
    original = {i["Id"]: i for i in items_of(get_all(http, tenant))}
    converted = items_of(get_all(http, tenant, Currency="EUR"))
    rate = Decimal(GBP_EUR)

    assert len(converted) == len(tenant.items)
    for item in converted:
        before = original[item["Id"]]
        for name in ("Amount", "UnitAmount"):
            amount, source = item[name], before[name]
            assert amount["Currency"] == "EUR"
            assert amount["NetValue"] == (source["NetValue"] * rate).quantize(Decimal("0.01"))
            assert [t["Value"] for t in amount["TaxValues"]] == [
                (t["Value"] * rate).quantize(Decimal("0.01")) for t in source["TaxValues"]
            ]
            assert_amount_invariants(amount, 2)
        assert item["OriginalAmount"] == before["OriginalAmount"]
        assert item["OriginalAmount"]["Currency"] == "GBP"
        rest = {k: v for k, v in item.items() if k not in ("Amount", "UnitAmount")}
        assert rest == {k: v for k, v in before.items() if k not in ("Amount", "UnitAmount")}


def test_a_currency_without_minor_units_rounds_to_whole_units(
    http: httpx.Client, tenant: Tenant
) -> None:
    for item in items_of(get_all(http, tenant, Currency="JPY")):
        assert item["Amount"]["Currency"] == "JPY"
        assert_amount_invariants(item["Amount"], 0)
        assert_amount_invariants(item["UnitAmount"], 0)


def test_the_currency_code_is_matched_in_any_letter_case(
    http: httpx.Client, tenant: Tenant
) -> None:
    lower = items_of(get_all(http, tenant, Currency="eur"))
    upper = items_of(get_all(http, tenant, Currency="EUR"))
    assert lower == upper


def test_the_items_own_currency_returns_the_stored_documents_unchanged(
    http: httpx.Client, tenant: Tenant
) -> None:
    plain = get_all(http, tenant)
    same = get_all(http, tenant, Currency="GBP")
    assert same.status_code == plain.status_code == 200
    assert same.content == plain.content


@pytest.mark.parametrize("currency", ["CHF", "USD", "XYZ", "XAU"])
def test_a_currency_without_a_rate_or_not_in_iso_4217_is_invalid(
    http: httpx.Client, tenant: Tenant, currency: str
) -> None:
    response = get_all(http, tenant, Currency=currency)
    assert response.status_code == 400, response.text
    assert response.json()["Message"].startswith("Invalid Currency")
    assert_matches_schema(response.json(), "ConnectorApiExceptionResult")


def test_rates_belong_to_their_enterprise(http: httpx.Client, engine: Engine) -> None:
    with_rate, without_rate = make_tenant(engine), make_tenant(engine)
    for tenant in (with_rate, without_rate):
        store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id)])
    store_rates(engine, with_rate.enterprise_id, ("GBP", "CHF", "1.11"))

    assert items_of(get_all(http, with_rate, Currency="CHF"))[0]["Amount"]["Currency"] == "CHF"
    refused = get_all(http, without_rate, Currency="CHF")
    assert refused.status_code == 400
    assert str(without_rate.enterprise_id) in refused.json()["Message"]


def test_a_reverse_rate_is_not_used_for_the_other_direction(
    http: httpx.Client, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id)])
    store_rates(engine, tenant.enterprise_id, ("EUR", "GBP", "0.8505342"))
    assert get_all(http, tenant, Currency="EUR").status_code == 400


def test_a_portfolio_converts_each_enterprise_with_its_own_rate(
    http: httpx.Client, engine: Engine
) -> None:
    portfolio = make_tenant(engine, enterprises=2)
    london, washington = portfolio.enterprise_ids
    with engine.begin() as connection:
        upsert_enterprises(connection, [make_enterprise(id=washington, currency="USD")])
    store_items(
        engine,
        portfolio,
        [
            make_item(enterprise_id=london, gross="100.00", currency="GBP"),
            make_item(
                enterprise_id=washington,
                gross="100.00",
                currency="USD",
                created_utc=T0 + timedelta(1),
            ),
        ],
    )
    store_rates(engine, london, ("GBP", "EUR", "1.2"))
    missing = get_all(http, portfolio, Currency="EUR")
    assert missing.status_code == 400
    assert str(washington) in missing.json()["Message"]

    store_rates(engine, washington, ("USD", "EUR", "0.9"))
    by_enterprise = {
        i["EnterpriseId"]: i for i in items_of(get_all(http, portfolio, Currency="EUR"))
    }
    assert by_enterprise[str(london)]["Amount"]["GrossValue"] == Decimal("120.00")
    assert by_enterprise[str(washington)]["Amount"]["GrossValue"] == Decimal("90.00")
    # Narrowed to one enterprise, the other one's missing rate no longer matters.
    store_rates(engine, washington, ("USD", "SEK", "10.5"))
    narrowed = get_all(http, portfolio, Currency="SEK", EnterpriseIds=[str(washington)])
    assert [i["Amount"]["Currency"] for i in items_of(narrowed)] == ["SEK"]


def test_an_item_in_a_foreign_currency_is_converted_from_its_own_currency(
    http: httpx.Client, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id, currency="USD")])
    refused = get_all(http, tenant, Currency="GBP")
    assert refused.status_code == 400
    assert "from USD to GBP" in refused.json()["Message"]

    store_rates(engine, tenant.enterprise_id, ("USD", "GBP", "0.8"))
    (converted,) = items_of(get_all(http, tenant, Currency="GBP"))
    assert converted["Amount"]["Currency"] == "GBP"
    assert converted["Amount"]["GrossValue"] == Decimal("96.00")
    assert converted["OriginalAmount"]["Currency"] == "USD"


def test_an_empty_converted_page_still_answers_204_under_return_minimal(
    http: httpx.Client, tenant: Tenant
) -> None:
    response = http.post(
        GET_ALL,
        json=tenant.envelope(
            CreatedUtc={"StartUtc": "2020-01-01T00:00:00Z", "EndUtc": "2020-02-01T00:00:00Z"},
            Currency="EUR",
            Limitation={"Count": 10},
        ),
        headers={"Prefer": "return=minimal"},
    )
    assert response.status_code == 204
