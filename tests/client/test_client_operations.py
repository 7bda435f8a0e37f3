"""``cancel`` and ``get_all_items`` against the real server: batches within the API's limits,
refusals reported per batch, legacy shapes parsed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import anyio
import pytest
from client_support import Recorder, error, make_async_client, make_client
from sqlalchemy.engine import Engine

from conftest import ServerThread
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.client import AccountingState, BadRequest, ReservationItems, to_wire
from orderitems.domain.enterprises import ServiceOrder, ServiceOrderKind
from orderitems.domain.items import AccountingState as ServerState
from orderitems.domain.items import OrderItemType
from orderitems.store.reference import insert_service_orders


def states(server: ServerThread, tenant: Tenant, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    with make_client(server, tenant) as client:
        return {i.id: i.accounting_state for i in client.iter_order_items(order_item_ids=ids)}


def test_cancel_sends_ten_ids_at_a_time_and_reports_the_refused_batch(
    server: ServerThread, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    open_items = store_items(
        engine, tenant, [make_item(enterprise_id=tenant.enterprise_id) for _ in range(23)]
    )
    closed = store_items(
        engine, tenant, [make_item(enterprise_id=tenant.enterprise_id, state=ServerState.CLOSED)]
    )[0]
    ids = [i.id for i in open_items]
    ids = [*ids[:15], closed.id, *ids[15:], ids[0]]  # the closed one lands in the second batch
    recorder = Recorder()
    with make_client(server, tenant, recorder=recorder) as client:
        result = client.cancel(ids)
    assert [len(b["OrderItemIds"]) for b in recorder.bodies] == [10, 10, 4]
    assert not result.ok
    [failure] = result.failed
    assert closed.id in failure.order_item_ids
    assert isinstance(failure.error, BadRequest)
    assert failure.error.request_id
    refused = set(failure.order_item_ids)
    assert set(result.canceled) == set(ids) - refused
    after = states(server, tenant, [*ids, closed.id])
    assert {i for i, s in after.items() if s == AccountingState.CANCELED} == set(result.canceled)
    assert after[closed.id] == AccountingState.CLOSED


def test_cancel_splits_a_batch_that_times_out_and_is_idempotent(
    server: ServerThread, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    items = store_items(
        engine, tenant, [make_item(enterprise_id=tenant.enterprise_id) for _ in range(10)]
    )
    ids = [i.id for i in items]
    recorder = Recorder()
    with make_client(server, tenant, recorder=recorder, faults=[error(408)]) as client:
        first = client.cancel(ids)
        again = client.cancel(ids)
    assert [len(b["OrderItemIds"]) for b in recorder.bodies] == [10, 5, 5, 10]
    assert first.ok
    assert again.ok
    assert sorted(first.canceled) == sorted(ids) == sorted(again.canceled)
    assert set(states(server, tenant, ids).values()) == {"Canceled"}


@pytest.fixture(scope="module")
def reservations(engine: Engine) -> tuple[Tenant, list[uuid.UUID]]:
    """1005 reservations, so the id list needs two requests; items on the first and the last."""
    tenant = make_tenant(engine)
    orders = [
        ServiceOrder(
            enterprise_id=tenant.enterprise_id,
            id=uuid.uuid4(),
            service_id=uuid.uuid4(),
            kind=ServiceOrderKind.RESERVATION,
            account_id=None,
            start_utc=T0,
            end_utc=T0 + timedelta(days=2),
        )
        for _ in range(1005)
    ]
    with engine.begin() as connection:
        insert_service_orders(connection, orders)
    ids = [o.id for o in orders]
    store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, service_order_id=ids[0]),
            make_item(
                enterprise_id=tenant.enterprise_id,
                service_order_id=ids[0],
                type=OrderItemType.CITY_TAX,
                state=ServerState.CLOSED,
            ),
            make_item(
                enterprise_id=tenant.enterprise_id,
                service_order_id=ids[-1],
                state=ServerState.CANCELED,
            ),
        ],
    )
    return tenant, ids


def test_get_all_items_chunks_a_thousand_reservations_and_parses_the_legacy_shape(
    server: ServerThread, reservations: tuple[Tenant, list[uuid.UUID]]
) -> None:
    tenant, ids = reservations
    recorder = Recorder()
    with make_client(server, tenant, recorder=recorder) as client:
        answer = client.get_all_items(ids)
        with_canceled = client.get_all_items([ids[-1]], accounting_states=["Canceled"])
    assert [len(b["ReservationIds"]) for b in recorder.bodies[:2]] == [1000, 5]
    by_id = {r.reservation_id: r for r in answer}
    first = by_id[ids[0]]
    assert {i.order_id for i in first.order_items} == {ids[0]}
    assert {i.accounting_state for i in first.order_items} == {"Open", "Closed"}
    assert all(i.amount.currency == "GBP" for i in first.order_items)
    assert by_id[ids[-1]].order_items == [], "Canceled is not in the default Open and Closed"
    assert [i.accounting_state for i in with_canceled[0].order_items] == ["Canceled"]
    discriminators = {i.data.discriminator for i in first.order_items if i.data is not None}
    assert discriminators <= {"SpaceOrder", "Other", "ProductOrder"}
    assert to_wire(first)["ReservationId"] == str(ids[0])
    legacy = [*first.order_items, *first.items]
    assert [m.extra for m in legacy] == [{}] * len(legacy), "the models know every property"


def test_get_all_items_raises_on_unknown_reservations(
    server: ServerThread, reservations: tuple[Tenant, list[uuid.UUID]]
) -> None:
    tenant, ids = reservations
    with make_client(server, tenant) as client, pytest.raises(BadRequest) as raised:
        client.get_all_items([ids[0], uuid.uuid4()])
    assert "ReservationIds" in raised.value.message


def test_async_cancel_and_get_all_items_match_the_sync_ones(
    server: ServerThread, engine: Engine, reservations: tuple[Tenant, list[uuid.UUID]]
) -> None:
    tenant, ids = reservations

    async def run() -> list[ReservationItems]:
        async with make_async_client(server, tenant) as client:
            return await client.get_all_items(ids[:3])

    with make_client(server, tenant) as client:
        assert anyio.run(run) == client.get_all_items(ids[:3])

    other = make_tenant(engine)
    item = store_items(engine, other, [make_item(enterprise_id=other.enterprise_id)])[0]

    async def cancel() -> list[uuid.UUID]:
        async with make_async_client(server, other) as client:
            return (await client.cancel([item.id])).canceled

    assert anyio.run(cancel) == [item.id]
