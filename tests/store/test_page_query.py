"""The page statement finds exactly the matching items in keyset order, whatever the stored
times: a window on an update, close or cancel time walks down the creation-order index from
the window's end, so items whose event precedes their creation (imported data) take a branch
of their own and must still appear, in place."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from factories import T0, make_item, make_tenant, store_items
from orderitems.domain.items import OrderItem
from orderitems.domain.query import ItemQuery, PageRequest, TimeInterval
from orderitems.store.documents import decode_item, from_micros, to_micros
from orderitems.store.items import select_page
from orderitems.store.schema import CONSUMED_SPAN_BITS

FIELDS = {
    "created": "created_utc",
    "updated": "updated_utc",
    "closed": "closed_utc",
    "canceled": "canceled_utc",
}


def window(start_days: int, days: int) -> TimeInterval:
    start = T0 + timedelta(days=start_days)
    return TimeInterval(start, start + timedelta(days=days))


def matches(item: OrderItem, query: ItemQuery) -> bool:
    for name, field in FIELDS.items():
        interval = getattr(query, name)
        if interval is not None and not interval.contains(getattr(item, field)):
            return False
    return True


def all_pages(engine: Engine, scope: list[uuid.UUID], query: ItemQuery) -> list[uuid.UUID]:
    found: list[uuid.UUID] = []
    cursor = None
    with engine.connect() as connection:
        while True:
            page = select_page(
                connection, enterprise_ids=scope, query=query, page=PageRequest(7, cursor)
            )
            if not page.documents:
                return found
            found.extend(decode_item(d).id for d in page.documents)
            cursor = page.cursor


@pytest.fixture(scope="module")
def mixed_times(engine: Engine) -> tuple[list[uuid.UUID], list[OrderItem]]:
    """Items over 60 days; a third of their events come before their creation."""
    tenant = make_tenant(engine, enterprises=2)
    rng = random.Random(11)
    items = []
    for n in range(90):
        created = T0 + timedelta(hours=rng.randrange(24 * 60))
        events = [created + timedelta(hours=rng.randrange(-24 * 15, 24 * 30)) for _ in range(3)]
        items.append(
            make_item(
                enterprise_id=tenant.enterprise_ids[n % 2],
                created_utc=created,
                updated_utc=events[0],
                closed_utc=events[1] if n % 3 else None,
                canceled_utc=events[2] if n % 4 == 0 else None,
            )
        )
    store_items(engine, tenant, items)
    return tenant.enterprise_ids, items


QUERIES = {
    "updated": ItemQuery(updated=window(10, 20)),
    "closed": ItemQuery(closed=window(25, 30)),
    "canceled": ItemQuery(canceled=window(0, 40)),
    "updated and closed": ItemQuery(updated=window(5, 40), closed=window(20, 25)),
    "updated and created": ItemQuery(updated=window(15, 30), created=window(0, 31)),
}


@pytest.mark.parametrize("name", QUERIES)
@pytest.mark.parametrize("portfolio", [False, True], ids=["one", "portfolio"])
def test_an_event_window_pages_through_exactly_its_items_in_keyset_order(
    engine: Engine,
    mixed_times: tuple[list[uuid.UUID], list[OrderItem]],
    name: str,
    portfolio: bool,
) -> None:
    enterprise_ids, items = mixed_times
    scope = enterprise_ids if portfolio else enterprise_ids[:1]
    query = QUERIES[name]
    expected = sorted(
        (i for i in items if i.enterprise_id in scope and matches(i, query)),
        key=lambda i: (i.created_utc, i.id.bytes),
        reverse=True,
    )
    early = [i for i in expected if i.updated_utc < i.created_utc]
    assert expected
    assert early or name != "updated", "the data must hold items updated before creation"
    assert all_pages(engine, scope, query) == [i.id for i in expected]


def test_an_instant_update_window_finds_the_item_updated_at_that_instant(
    engine: Engine, mixed_times: tuple[list[uuid.UUID], list[OrderItem]]
) -> None:
    enterprise_ids, items = mixed_times
    for item in items[:6]:
        instant = ItemQuery(updated=TimeInterval(item.updated_utc, item.updated_utc))
        assert item.id in all_pages(engine, enterprise_ids, instant)


SPAN = timedelta(microseconds=2**CONSUMED_SPAN_BITS)


@pytest.fixture(scope="module")
def consumed_spread(engine: Engine) -> tuple[list[uuid.UUID], list[uuid.UUID], list[OrderItem]]:
    """Two services' items consumed up to 40 days before or after creation, a few of them
    exactly on a consumption span's first or last microsecond."""
    tenant = make_tenant(engine, enterprises=2)
    services = [uuid.uuid4(), uuid.uuid4()]
    rng = random.Random(29)
    boundary = datetime_of_span(T0 + timedelta(days=20))
    items = []
    for n in range(150):
        created = T0 + timedelta(hours=rng.randrange(24 * 60))
        consumed = created + timedelta(hours=rng.randrange(-24 * 40, 24 * 40))
        if n % 10 == 0:
            consumed = boundary + SPAN * (n // 10 % 4) - timedelta(microseconds=n // 10 % 2)
        items.append(
            make_item(
                enterprise_id=tenant.enterprise_ids[n % 2],
                service_id=services[n % 3 % 2],
                created_utc=created,
                consumed_utc=consumed,
            )
        )
    store_items(engine, tenant, items)
    return tenant.enterprise_ids, services, items


def datetime_of_span(moment: datetime) -> datetime:
    """The first microsecond of the consumption span holding ``moment``."""
    micros = to_micros(moment) >> CONSUMED_SPAN_BITS << CONSUMED_SPAN_BITS
    return from_micros(micros)


@pytest.mark.parametrize(("start_days", "days"), [(0, 60), (18, 11), (20, 0), (-30, 20), (55, 40)])
@pytest.mark.parametrize("portfolio", [False, True], ids=["one", "portfolio"])
@pytest.mark.parametrize("services", [1, 2])
def test_a_consumption_window_of_a_service_pages_through_exactly_its_items(
    engine: Engine,
    consumed_spread: tuple[list[uuid.UUID], list[uuid.UUID], list[OrderItem]],
    start_days: int,
    days: int,
    portfolio: bool,
    services: int,
) -> None:
    """One service walks each consumption span in keyset order; two collect the window."""
    enterprise_ids, service_ids, items = consumed_spread
    scope = enterprise_ids if portfolio else enterprise_ids[:1]
    chosen = frozenset(service_ids[:services])
    interval = window(start_days, days)
    if days == 0:
        interval = TimeInterval(datetime_of_span(interval.start), datetime_of_span(interval.start))
    query = ItemQuery(service_ids=chosen, consumed=interval)
    expected = sorted(
        (
            i
            for i in items
            if i.enterprise_id in scope
            and i.service_id in chosen
            and interval.contains(i.consumed_utc)
        ),
        key=lambda i: (i.created_utc, i.id.bytes),
        reverse=True,
    )
    assert expected or days == 0 or start_days < 0
    assert all_pages(engine, scope, query) == [i.id for i in expected]
