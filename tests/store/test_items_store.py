"""The item store on both databases: keyset pages, scope, cursor, export order."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from factories import T0, make_item, make_tenant, store_items
from orderitems.domain.errors import InvalidInput
from orderitems.domain.query import ItemQuery, PageRequest, TimeInterval
from orderitems.store.documents import decode_item, from_micros, to_micros
from orderitems.store.items import MAX_MERGED_ENTERPRISES, iter_documents, select_page

EVERYTHING = ItemQuery(created=TimeInterval(T0 - timedelta(days=1), T0 + timedelta(days=60)))


def page_ids(engine: Engine, scope: list[uuid.UUID], page: PageRequest) -> list[uuid.UUID]:
    with engine.connect() as connection:
        result = select_page(connection, enterprise_ids=scope, query=EVERYTHING, page=page)
    return [decode_item(d).id for d in result.documents]


def test_a_portfolio_page_merges_enterprises_newest_first(engine: Engine) -> None:
    tenant = make_tenant(engine, enterprises=3)
    items = [
        make_item(enterprise_id=tenant.enterprise_ids[n % 3], created_utc=T0 + timedelta(hours=n))
        for n in range(12)
    ]
    store_items(engine, tenant, items)
    expected = [i.id for i in sorted(items, key=lambda i: i.created_utc, reverse=True)]
    assert page_ids(engine, tenant.enterprise_ids, PageRequest(count=5)) == expected[:5]
    assert page_ids(engine, tenant.enterprise_ids, PageRequest(5, expected[4])) == expected[5:10]


def test_the_same_page_comes_from_the_merge_and_from_the_in_list(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant(engine, enterprises=2)
    items = [
        make_item(
            enterprise_id=tenant.enterprise_ids[n % 2], created_utc=T0 + timedelta(hours=n // 2)
        )
        for n in range(10)
    ]
    store_items(engine, tenant, items)
    merged = page_ids(engine, tenant.enterprise_ids, PageRequest(count=7))
    monkeypatch.setattr("orderitems.store.items.MAX_MERGED_ENTERPRISES", 1)
    assert MAX_MERGED_ENTERPRISES > 1
    assert page_ids(engine, tenant.enterprise_ids, PageRequest(count=7)) == merged


def test_items_of_one_instant_are_ordered_by_id_descending(engine: Engine) -> None:
    tenant = make_tenant(engine)
    items = [make_item(enterprise_id=tenant.enterprise_id, created_utc=T0) for _ in range(6)]
    store_items(engine, tenant, items)
    expected = sorted((i.id for i in items), key=lambda u: u.bytes, reverse=True)
    first = page_ids(engine, tenant.enterprise_ids, PageRequest(count=3))
    rest = page_ids(engine, tenant.enterprise_ids, PageRequest(count=3, cursor=first[-1]))
    assert first + rest == expected


def test_a_cursor_from_another_enterprise_is_refused_like_an_unknown_one(engine: Engine) -> None:
    mine, theirs = make_tenant(engine), make_tenant(engine)
    (their_item,) = store_items(engine, theirs, [make_item(enterprise_id=theirs.enterprise_id)])
    with pytest.raises(InvalidInput, match="Cursor"):
        page_ids(engine, mine.enterprise_ids, PageRequest(count=3, cursor=their_item.id))


def test_stored_documents_round_trip_to_the_same_item(engine: Engine) -> None:
    tenant = make_tenant(engine)
    (item,) = store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id)])
    with engine.connect() as connection:
        (document,) = list(iter_documents(connection, enterprise_ids=[tenant.enterprise_id]))
    assert decode_item(document) == item


def test_export_walks_every_item_of_each_enterprise_in_batches(engine: Engine) -> None:
    tenant = make_tenant(engine, enterprises=2)
    items = [
        make_item(enterprise_id=tenant.enterprise_ids[n % 2], created_utc=T0 + timedelta(minutes=n))
        for n in range(23)
    ]
    store_items(engine, tenant, items)
    with engine.connect() as connection:
        documents = list(
            iter_documents(connection, enterprise_ids=tenant.enterprise_ids, batch_size=4)
        )
    assert sorted(decode_item(d).id for d in documents) == sorted(i.id for i in items)


def test_timestamps_are_stored_as_exact_microseconds() -> None:
    moment = T0 + timedelta(microseconds=123_456)
    assert from_micros(to_micros(moment)) == moment
