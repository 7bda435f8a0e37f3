"""``iter_order_items`` against the real server over HTTP: windows, paging, chunks, each once.

The expected sets are computed here from the items the test stored, never by server code.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from client_support import Recorder, make_async_client, make_client
from sqlalchemy.engine import Engine

from conftest import ServerThread
from factories import Tenant, make_item, make_tenant, store_items
from orderitems.client import OrderItem, OrderItemType, to_wire
from orderitems.client.paging import Walk
from orderitems.client.queries import GetAllRequest, Limitation, TimeFilter, add_months
from orderitems.domain.items import OrderItemType as ServerType

START = datetime(2024, 1, 1, tzinfo=UTC)
END = add_months(START, 14)  # 2025-03-01: five windows of at most 3 months
US = timedelta(microseconds=1)


def boundary_instants() -> list[datetime]:
    """The first instant, each window's first instant and the instant before it, the last."""
    window_starts = [add_months(START, 3 * k) for k in range(1, 5)]
    return [START, END - US] + window_starts + [s - US for s in window_starts]


@pytest.fixture(scope="module")
def fourteen_months(engine: Engine) -> Tenant:
    """Items on every window boundary, a few inside, and some just outside the period."""
    tenant = make_tenant(engine)
    inside = boundary_instants() + [START + timedelta(days=40 * k, hours=k) for k in range(11)]
    # Several items share one boundary instant, so the Id tie-break runs across pages.
    inside += [add_months(START, 6)] * 3
    outside = [START - US, END, END + timedelta(days=1), START - timedelta(days=200)]
    store_items(
        engine,
        tenant,
        [make_item(enterprise_id=tenant.enterprise_id, created_utc=t) for t in inside + outside],
    )
    tenant.items = tenant.items[: len(inside)]
    return tenant


def expected_ids(tenant: Tenant) -> list[uuid.UUID]:
    return sorted(item.id for item in tenant.items)


def test_fourteen_months_with_items_on_every_boundary_are_fetched_completely_and_once(
    server: ServerThread, fourteen_months: Tenant
) -> None:
    recorder = Recorder()
    with make_client(server, fourteen_months, recorder=recorder) as client:
        items = list(client.iter_order_items(created_utc=(START, END), page_size=4))
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids)), "no item twice"
    assert sorted(ids) == expected_ids(fourteen_months)
    windows = {
        (body["CreatedUtc"]["StartUtc"], body["CreatedUtc"]["EndUtc"]) for body in recorder.bodies
    }
    assert sorted(windows) == [
        ("2024-01-01T00:00:00Z", "2024-04-01T00:00:00Z"),
        ("2024-04-01T00:00:00Z", "2024-07-01T00:00:00Z"),
        ("2024-07-01T00:00:00Z", "2024-10-01T00:00:00Z"),
        ("2024-10-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z"),
    ]
    assert set(recorder.statuses) == {200}
    assert all(body["Limitation"]["Count"] == 4 for body in recorder.bodies)


def test_paging_stops_only_on_a_null_cursor_and_sends_it_inside_limitation(
    server: ServerThread, fourteen_months: Tenant
) -> None:
    recorder = Recorder()
    window = (add_months(START, 6), add_months(START, 9))
    with make_client(server, fourteen_months, recorder=recorder) as client:
        items = list(client.iter_order_items(created_utc=window, page_size=2))
    expected = [i for i in fourteen_months.items if window[0] <= i.created_utc < window[1]]
    assert sorted(i.id for i in items) == sorted(i.id for i in expected)
    cursors = [body["Limitation"].get("Cursor") for body in recorder.bodies]
    assert cursors[0] is None
    assert all(cursor is not None for cursor in cursors[1:])
    assert "Cursor" not in recorder.bodies[0], "the cursor belongs in Limitation"
    # Only an empty page has a null cursor, so the loop asks once more after the last items.
    assert len(recorder.bodies) == -(-len(expected) // 2) + 1


def test_the_async_client_gives_exactly_what_the_sync_client_gives(
    server: ServerThread, fourteen_months: Tenant
) -> None:
    with make_client(server, fourteen_months) as client:
        sync_items = list(client.iter_order_items(created_utc=(START, END), page_size=3))

    async def fetch() -> list[OrderItem]:
        async with make_async_client(server, fourteen_months) as client:
            return [
                item
                async for item in client.iter_order_items(created_utc=(START, END), page_size=3)
            ]

    async_items = anyio.run(fetch)
    assert async_items == sync_items
    assert [to_wire(i) for i in async_items] == [to_wire(i) for i in sync_items]


def test_long_id_lists_are_chunked_to_the_api_limits_and_answered_completely(
    server: ServerThread, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    accounts = [uuid.uuid4() for _ in range(3)]
    stored = store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, account_id=accounts[k % 3])
            for k in range(9)
        ],
    )
    unknown = [uuid.uuid4() for _ in range(2400)]
    # The real ids sit in different chunks; one is repeated across the list.
    order_item_ids = [*unknown[:700], stored[0].id, *unknown[700:1900], stored[1].id]
    order_item_ids += [*unknown[1900:], stored[2].id, stored[0].id]
    recorder = Recorder()
    with make_client(server, tenant, recorder=recorder) as client:
        by_id = list(client.iter_order_items(order_item_ids=order_item_ids))
        by_account = list(
            client.iter_order_items(account_ids=[uuid.uuid4() for _ in range(230)] + accounts)
        )
    assert sorted(i.id for i in by_id) == sorted(i.id for i in stored[:3])
    assert sorted(i.id for i in by_account) == sorted(i.id for i in stored)
    id_bodies = [b for b in recorder.bodies if "OrderItemIds" in b]
    account_bodies = [b for b in recorder.bodies if "AccountIds" in b]
    assert {len(b["OrderItemIds"]) for b in id_bodies} <= {1000, 403}
    assert (
        sum(len(set(b["OrderItemIds"])) for b in id_bodies if "Cursor" not in b["Limitation"])
        == 2403
    )
    assert max(len(b["AccountIds"]) for b in account_bodies) == 100
    assert len({tuple(b["AccountIds"]) for b in account_bodies}) == 3


def test_items_answered_by_two_overlapping_requests_are_yielded_once(
    server: ServerThread, fourteen_months: Tenant
) -> None:
    window = TimeFilter(start_utc=START, end_utc=add_months(START, 3))
    overlapping = TimeFilter(start_utc=add_months(START, 1), end_utc=add_months(START, 4))
    requests = [
        GetAllRequest(limitation=Limitation(count=5), created_utc=window),
        GetAllRequest(limitation=Limitation(count=5), created_utc=overlapping),
    ]
    with make_client(server, fourteen_months) as client:
        walk = Walk(client.core, requests)
        items: list[OrderItem] = []
        while not walk.finished:
            items.extend(client.drive(walk.next_items()))
    ids = [i.id for i in items]
    expected = [
        i.id for i in fourteen_months.items if START <= i.created_utc < add_months(START, 4)
    ]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected)


def test_filters_are_sent_as_given_and_only_matching_items_come_back(
    server: ServerThread, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    service = uuid.uuid4()
    created = datetime(2023, 5, 5, tzinfo=UTC)
    store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, created_utc=created, service_id=service),
            make_item(
                enterprise_id=tenant.enterprise_id,
                created_utc=created,
                service_id=service,
                type=ServerType.CITY_TAX,
            ),
            make_item(enterprise_id=tenant.enterprise_id, created_utc=created),
        ],
    )
    with make_client(server, tenant) as client:
        items = list(
            client.iter_order_items(
                service_ids=[service],
                types=[OrderItemType.CITY_TAX],
                accounting_states=["Open"],
                enterprise_ids=[tenant.enterprise_id],
            )
        )
    assert [i.type for i in items] == ["CityTax"]
    assert items[0].service_id == service
