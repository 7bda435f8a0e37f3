"""Paging until the cursor is null yields every match exactly once, newest first
(docs/behaviour.md#order-and-cursor).

The expected set is computed here, in Python, from the items the test stored: not by the
server's query code.
"""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from conftest import ServerThread
from contract import assert_matches_schema
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.domain.items import AccountingState, OrderItem, OrderItemType

GET_ALL = "/api/connector/v1/orderItems/getAll"
STATES = list(AccountingState)
TYPES = [OrderItemType.SPACE_ORDER, OrderItemType.CITY_TAX, OrderItemType.PRODUCT_ORDER]
SPAN_DAYS = 60


class Dataset:
    """The module's items, with the pools of service and bill ids they use."""

    def __init__(self, tenant: Tenant, services: list[uuid.UUID], bills: list[uuid.UUID]) -> None:
        self.tenant, self.services, self.bills = tenant, services, bills

    def __repr__(self) -> str:
        return f"Dataset({len(self.tenant.items)} items)"


@pytest.fixture(scope="module")
def dataset(engine: Engine) -> Dataset:
    """300 items over 60 days; many share a CreatedUtc so the Id tie-break is exercised."""
    rng = random.Random(7)
    tenant = make_tenant(engine)
    services = [uuid.uuid4() for _ in range(3)]
    bills = [uuid.uuid4() for _ in range(4)]
    items = []
    for _ in range(300):
        created = T0 + timedelta(hours=rng.randrange(SPAN_DAYS * 24 // 6) * 6)
        state = rng.choice(STATES)
        item = make_item(
            enterprise_id=tenant.enterprise_id,
            created_utc=created,
            state=state,
            type=rng.choice(TYPES),
            service_id=rng.choice(services),
            consumed_utc=created + timedelta(days=rng.randrange(20)),
        )
        if state is not AccountingState.CLOSED and rng.random() < 0.5:
            item = make_item(**{**_fields(item), "bill_id": rng.choice(bills)})
        elif state is AccountingState.CLOSED:
            item = make_item(**{**_fields(item), "bill_id": rng.choice(bills)})
        items.append(item)
    store_items(engine, tenant, items)
    return Dataset(tenant, services, bills)


def _fields(item: OrderItem) -> dict[str, Any]:
    keep = (
        "id",
        "enterprise_id",
        "created_utc",
        "type",
        "service_id",
        "consumed_utc",
        "closed_utc",
        "canceled_utc",
    )
    return {
        **{name: getattr(item, name) for name in keep},
        "state": item.accounting_state,
    }


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def filter_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A random getAll filter with at least one qualifying property; ids are pool indexes."""
    body: dict[str, Any] = {}
    qualifying = draw(st.sampled_from(["CreatedUtc", "ServiceIds", "BillIds", "UpdatedUtc"]))
    if qualifying in ("CreatedUtc", "UpdatedUtc") or draw(st.booleans()):
        start = T0 + timedelta(days=draw(st.integers(0, SPAN_DAYS)))
        length = timedelta(days=draw(st.integers(0, 40)))
        name = qualifying if qualifying.endswith("Utc") else "CreatedUtc"
        body[name] = {"StartUtc": iso(start), "EndUtc": iso(start + length)}
    if qualifying == "ServiceIds" or draw(st.booleans()):
        body["ServiceIds"] = draw(st.lists(st.integers(0, 2), min_size=1, max_size=3))
    if qualifying == "BillIds":
        body["BillIds"] = draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    if draw(st.booleans()):
        body["AccountingStates"] = draw(
            st.lists(st.sampled_from([s.value for s in STATES]), min_size=1, max_size=4)
        )
    if draw(st.booleans()):
        body["Types"] = draw(
            st.lists(st.sampled_from([t.value for t in TYPES]), min_size=1, max_size=3)
        )
    if draw(st.booleans()):
        start = T0 + timedelta(days=draw(st.integers(0, SPAN_DAYS)))
        body["ConsumedUtc"] = {"StartUtc": iso(start), "EndUtc": iso(start + timedelta(days=30))}
    return body


def resolve(spec: dict[str, Any], data: Dataset) -> dict[str, Any]:
    """Replace pool indexes by the dataset's ids."""
    body = dict(spec)
    if "ServiceIds" in body:
        body["ServiceIds"] = [str(data.services[n]) for n in body["ServiceIds"]]
    if "BillIds" in body:
        body["BillIds"] = [str(data.bills[n]) for n in body["BillIds"]]
    return body


def _in(interval: dict[str, str] | None, moment: datetime | None) -> bool:
    if interval is None:
        return True
    if moment is None:
        return False
    start = datetime.fromisoformat(interval["StartUtc"])
    end = datetime.fromisoformat(interval["EndUtc"])
    return moment == start if start == end else start <= moment < end


def expected_ids(items: list[OrderItem], body: dict[str, Any]) -> list[str]:
    """The filter evaluated independently, in the documented order."""

    def within(values: list[str] | None, value: uuid.UUID | None) -> bool:
        return values is None or (value is not None and str(value) in values)

    matching = [
        i
        for i in items
        if within(body.get("ServiceIds"), i.service_id)
        and within(body.get("BillIds"), i.bill_id)
        and _in(body.get("CreatedUtc"), i.created_utc)
        and _in(body.get("UpdatedUtc"), i.updated_utc)
        and _in(body.get("ConsumedUtc"), i.consumed_utc)
        and (
            body.get("AccountingStates") is None
            or i.accounting_state.value in body["AccountingStates"]
        )
        and (body.get("Types") is None or i.type.value in body["Types"])
    ]
    matching.sort(key=lambda i: (i.created_utc, i.id.bytes), reverse=True)
    return [str(i.id) for i in matching]


def page_through(
    client: httpx.Client,
    tenant: Tenant,
    body: dict[str, Any],
    count: int,
    on_first_page: Any = None,
) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    for page_number in itertools.count():
        limitation: dict[str, Any] = {"Count": count}
        if cursor is not None:
            limitation["Cursor"] = cursor
        response = client.post(GET_ALL, json=tenant.envelope(**body, Limitation=limitation))
        assert response.status_code == 200, response.text
        page = response.json()
        assert_matches_schema(page, "OrderItemResult")
        ids = [item["Id"] for item in page["OrderItems"]]
        assert len(ids) <= count
        if not ids:
            assert page["Cursor"] is None, "an empty page has a null cursor"
            return seen
        assert page["Cursor"] == ids[-1], "the cursor is the last (oldest) item of the page"
        seen.extend(ids)
        cursor = page["Cursor"]
        if page_number == 0 and on_first_page is not None:
            on_first_page()
        assert page_number < 1000, "paging did not end"
    raise AssertionError("unreachable")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=filter_specs(), count=st.integers(1, 40))
def test_paging_until_null_yields_every_match_once_newest_first(
    server: ServerThread, dataset: Dataset, spec: dict[str, Any], count: int
) -> None:
    body = resolve(spec, dataset)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        seen = page_through(client, dataset.tenant, body, count)
    assert len(seen) == len(set(seen)), "no item twice"
    assert seen == expected_ids(dataset.tenant.items, body)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=filter_specs(), count=st.integers(1, 25))
def test_items_inserted_while_paging_change_nothing_in_later_pages(
    server: ServerThread, engine: Engine, dataset: Dataset, spec: dict[str, Any], count: int
) -> None:
    body = resolve(spec, dataset)
    before = list(dataset.tenant.items)
    newest = max(i.created_utc for i in before)

    def insert_newer_matching_items() -> None:
        fresh = [
            make_item(
                enterprise_id=dataset.tenant.enterprise_id,
                created_utc=newest + timedelta(seconds=n + 1),
                service_id=dataset.services[n % 3],
            )
            for n in range(5)
        ]
        store_items(engine, dataset.tenant, fresh)

    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        seen = page_through(client, dataset.tenant, body, count, insert_newer_matching_items)
    expected = expected_ids(before, body)
    assert seen == expected
