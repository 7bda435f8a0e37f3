"""The migration path off reservations/getAllItems: for every reservation of generated demo
data, getAllItems and orderItems/getAll with ``ServiceOrderIds`` return the same items
(docs/legacy-mapping.md#which-items)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from contract import assert_matches_schema
from factories import Tenant, make_enterprise, make_tenant
from orderitems.domain.enterprises import ServiceOrderKind
from orderitems.domain.items import OrderItemType
from orderitems.domain.legacy import LEGACY_TYPES
from orderitems.fixtures.generator import demo_services, generate
from orderitems.fixtures.rates import demo_rates
from orderitems.store.loading import Batch, load
from orderitems.store.rates import set_rates

GET_ALL = "/api/connector/v1/orderItems/getAll"
GET_ALL_ITEMS = "/api/connector/v1/reservations/getAllItems"
ALL_STATES = ["Open", "Closed", "Inactive", "Canceled"]
AMOUNT = ("Currency", "NetValue", "GrossValue", "TaxValues", "Breakdown")
SHARED = (
    "Id",
    "BillId",
    "AccountingCategoryId",
    "UnitCount",
    "UnitAmount",
    "RevenueType",
    "CreatorProfileId",
    "UpdaterProfileId",
    "CreatedUtc",
    "UpdatedUtc",
    "ConsumedUtc",
    "CanceledUtc",
    "ClosedUtc",
    "StartUtc",
    "AccountingState",
)


class World:
    """A generated London-like hotel of its own: stays, outlet orders, rates."""

    def __init__(self, engine: Engine) -> None:
        self.tenant: Tenant = make_tenant(engine)
        enterprise = make_enterprise(id=self.tenant.enterprise_id)
        bundles = list(generate(seed=11, count=600, enterprises=[enterprise]))
        load(
            engine,
            [
                Batch(
                    items=[i for b in bundles for i in b.items],
                    service_orders=[b.service_order for b in bundles],
                    enterprises=[enterprise],
                    services=demo_services([enterprise]),
                )
            ],
        )
        with engine.begin() as connection:
            set_rates(connection, demo_rates([enterprise.id]), now_us=0)
        self.reservations = [
            b.service_order.id
            for b in bundles
            if b.service_order.kind is ServiceOrderKind.RESERVATION
        ]
        self.types = {i.type for b in bundles for i in b.items}


@pytest.fixture(scope="module")
def world(engine: Engine) -> World:
    return World(engine)


def legacy(http: httpx.Client, world: World, **body: Any) -> dict[str, list[dict[str, Any]]]:
    response = http.post(
        GET_ALL_ITEMS,
        json=world.tenant.envelope(ReservationIds=[str(r) for r in world.reservations], **body),
    )
    assert response.status_code == 200, response.text
    assert_matches_schema(response.json(), "ReservationItemResult")
    entries = response.json(parse_float=Decimal)["Reservations"]
    assert [e["ReservationId"] for e in entries] == [str(r) for r in world.reservations]
    return {e["ReservationId"]: e["OrderItems"] for e in entries}


def current(
    http: httpx.Client, world: World, reservation: uuid.UUID, **body: Any
) -> list[dict[str, Any]]:
    response = http.post(
        GET_ALL,
        json=world.tenant.envelope(
            ServiceOrderIds=[str(reservation)], Limitation={"Count": 1000}, **body
        ),
    )
    assert response.status_code == 200, response.text
    assert response.json()["Cursor"] is None or len(response.json()["OrderItems"]) < 1000
    items: list[dict[str, Any]] = response.json(parse_float=Decimal)["OrderItems"]
    return items


def assert_same_items(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    assert [i["Id"] for i in old] == [i["Id"] for i in new]
    for before, after in zip(old, new, strict=True):
        assert before["OrderId"] == after["ServiceOrderId"]
        assert {k: before[k] for k in SHARED} == {k: after[k] for k in SHARED}
        for name in ("Amount", "OriginalAmount"):
            assert {k: before[name][k] for k in AMOUNT} == after[name]
            assert before[name]["Value"] == after[name]["GrossValue"]
            assert before[name]["Net"] == after[name]["NetValue"]
        if after["AccountId"] is not None:
            assert before["AccountId"] == after["AccountId"]
        discriminator = LEGACY_TYPES[OrderItemType(after["Type"])].value
        assert before["Data"]["Discriminator"] == discriminator


def test_the_world_has_reservations_with_many_item_types(world: World) -> None:
    assert len(world.reservations) >= 20
    assert len(world.types) >= 12


@pytest.mark.parametrize("currency", [None, "EUR", "JPY"])
def test_every_reservation_has_the_same_items_in_both_operations(
    http: httpx.Client, world: World, currency: str | None
) -> None:
    extra = {} if currency is None else {"Currency": currency}
    old = legacy(http, world, AccountingStates=ALL_STATES, **extra)
    total = 0
    for reservation in world.reservations:
        new = current(http, world, reservation, **extra)
        assert_same_items(old[str(reservation)], new)
        total += len(new)
    assert total > 0


def test_the_default_states_match_get_all_filtered_to_open_and_closed(
    http: httpx.Client, world: World
) -> None:
    old = legacy(http, world)
    for reservation in world.reservations:
        new = current(http, world, reservation, AccountingStates=["Open", "Closed"])
        assert_same_items(old[str(reservation)], new)
