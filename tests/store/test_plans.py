"""The page statement's plans on a table large enough for the planners to care (200,000 items).

Every filter shape must be driven by an index, never a scan of the items table, and find its
keys in keyset order where an index can give that order: creation windows, an update, close or
cancel window (walked down the creation-order index), one service, a portfolio. Where the order
cannot come from an index (a list of ids, a consumption window) only keys are sorted, never
documents, and only the keys the filter's own index finds. Documents are then fetched by row;
PostgreSQL reads them during an ordered walk instead, one heap fetch per item.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from conftest import new_database
from orderitems.domain.query import ItemQuery, PageRequest, TimeInterval
from orderitems.fixtures.demo import DEMO_ENTERPRISES
from orderitems.fixtures.generator import demo_services, generate
from orderitems.store.engine import connect, dialect_of
from orderitems.store.items import select_page
from orderitems.store.loading import Batch, load
from orderitems.store.migrate import upgrade
from orderitems.store.page_plan import plan_page
from orderitems.store.page_sql import Statement
from orderitems.store.schema import order_items as t

pytestmark = pytest.mark.slow

ITEMS = 200_000
QUARTER = TimeInterval(datetime(2025, 7, 1, tzinfo=UTC), datetime(2025, 10, 1, tzinfo=UTC))
LONDON = DEMO_ENTERPRISES[0].id
STAYS, F_AND_B = (service.id for service in demo_services(DEMO_ENTERPRISES[:1])[:2])


def batches() -> Iterator[Batch]:
    yield Batch(items=(), enterprises=DEMO_ENTERPRISES, services=demo_services(DEMO_ENTERPRISES))
    bundles = generate(seed=2, count=ITEMS, enterprises=DEMO_ENTERPRISES)
    while chunk := list(itertools.islice(bundles, 250)):
        yield Batch(
            items=[i for b in chunk for i in b.items],
            service_orders=[b.service_order for b in chunk],
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def planned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """200,000 generated items, bulk-loaded (so with fresh statistics), in a database of their
    own: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    with new_database(request.param, request, tmp_path_factory.mktemp("plans")) as url:
        engine = connect(url)
        upgrade(engine)
        load(engine, batches())
        yield engine
        engine.dispose()


def some_ids(engine: Engine, column: sa.Column[Any], how_many: int) -> frozenset[uuid.UUID]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(column)
            .where(t.c.enterprise_id == LONDON, column.is_not(None))
            .group_by(column)
            .order_by(column)
            .limit(how_many)
        )
        return frozenset(row[0] for row in rows)


@dataclass(frozen=True)
class Shape:
    query: ItemQuery
    #: The index that finds the keys (or either of two the planner may weigh).
    index: str | tuple[str, str]
    #: The index gives the keyset order: no sort at all, and the walk stops after Count keys.
    ordered: bool
    portfolio: bool = False


def shapes(engine: Engine) -> dict[str, Shape]:
    return {
        "CreatedUtc": Shape(ItemQuery(created=QUARTER), "ix_order_items_created", True),
        "UpdatedUtc": Shape(ItemQuery(updated=QUARTER), "ix_order_items_created", True),
        "ClosedUtc": Shape(ItemQuery(closed=QUARTER), "ix_order_items_created", True),
        # Few items are canceled: a planner may rather sort the few keys of the window.
        "CanceledUtc": Shape(
            ItemQuery(canceled=QUARTER),
            ("ix_order_items_created", "ix_order_items_canceled"),
            False,
        ),
        "ServiceIds": Shape(
            ItemQuery(service_ids=frozenset({STAYS})), "ix_order_items_service", True
        ),
        "portfolio UpdatedUtc": Shape(
            ItemQuery(updated=QUARTER), "ix_order_items_created", True, portfolio=True
        ),
        # Each consumption span of the window is walked in keyset order (migration 0005).
        "ServiceIds + ConsumedUtc": Shape(
            ItemQuery(service_ids=frozenset({STAYS}), consumed=QUARTER),
            "ix_order_items_service_consumed_span",
            True,
        ),
        # Several services: the window is one range of the same index, its keys sorted.
        "two ServiceIds + ConsumedUtc": Shape(
            ItemQuery(service_ids=frozenset({STAYS, F_AND_B}), consumed=QUARTER),
            "ix_order_items_service_consumed_span",
            False,
        ),
        "BillIds": Shape(
            ItemQuery(bill_ids=some_ids(engine, t.c.bill_id, 50)), "ix_order_items_bill", False
        ),
        "ServiceOrderIds": Shape(
            ItemQuery(service_order_ids=some_ids(engine, t.c.service_order_id, 50)),
            "ix_order_items_service_order",
            False,
        ),
        "AccountIds": Shape(
            ItemQuery(account_ids=some_ids(engine, t.c.account_id, 20)),
            "ix_order_items_account",
            False,
        ),
        "OrderItemIds": Shape(
            ItemQuery(order_item_ids=some_ids(engine, t.c.id, 100)), "pk_order_items", False
        ),
    }


def indexes(shape: Shape) -> tuple[str, ...]:
    return (shape.index,) if isinstance(shape.index, str) else shape.index


def statement(engine: Engine, shape: Shape) -> Statement:
    plan = plan_page(
        enterprise_ids=[e.id for e in DEMO_ENTERPRISES] if shape.portfolio else [LONDON],
        query=shape.query,
        count=1000,
        position=None,
        merge_limit=64,
    )
    return dialect_of(engine).pages.page(plan)


def postgres_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from postgres_nodes(child)


def check_postgres(engine: Engine, shape: Shape) -> None:
    sql = statement(engine, shape)
    with engine.connect() as connection:
        answer = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql.text, tuple(sql.values))
        raw = answer.scalar_one()
    nodes = list(postgres_nodes((raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]))
    on_items = [n for n in nodes if n.get("Relation Name") == "order_items"]
    assert on_items
    assert all(n["Node Type"] in {"Index Scan", "Index Only Scan"} for n in on_items), on_items
    used = {n.get("Index Name") for n in on_items}
    assert used & set(indexes(shape)), used
    sorts = [n for n in nodes if n["Node Type"] in {"Sort", "Incremental Sort"}]
    if shape.ordered:
        assert sorts == [], "the index gives the keyset order"
    if " JOIN order_items AS o " not in sql.text:
        assert shape.ordered, "only a walk in page order reads documents as it goes"
        assert "pk_order_items" not in used, "a walk reads each document as it reaches its row"
    else:
        assert "pk_order_items" in used, "documents are fetched by primary key"
        keys = set(indexes(shape)) - {"pk_order_items"}
        finds = [n for n in on_items if n.get("Index Name") in keys]
        assert all(n["Node Type"] == "Index Only Scan" for n in finds), "keys come from the index"
    assert all(n["Plan Width"] < 100 for n in sorts), "only keys are sorted, never documents"


def check_sqlite(engine: Engine, shape: Shape) -> None:
    sql = statement(engine, shape)
    with engine.connect() as connection:
        answer = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql.text, tuple(sql.values))
        rows = [(int(r[0]), int(r[1]), str(r[3])) for r in answer]
    details = [detail for _, _, detail in rows]
    assert not any(d.startswith("SCAN order_items") for d in details), details
    names = [
        "sqlite_autoindex_order_items_1" if name == "pk_order_items" else name
        for name in indexes(shape)
    ]
    keys = [
        (i, p)
        for i, p, d in rows
        if d.startswith("SEARCH order_items") and any(f"INDEX {name} " in d for name in names)
    ]
    assert keys, details
    assert any(d.startswith("SEARCH o USING INTEGER PRIMARY KEY") for d in details), details
    if shape.ordered:
        for _, parent in keys:
            siblings = [d for _, p, d in rows if p == parent]
            assert not any("TEMP B-TREE" in d for d in siblings), (siblings, details)


@pytest.mark.parametrize(
    "name",
    [
        "CreatedUtc",
        "UpdatedUtc",
        "ClosedUtc",
        "CanceledUtc",
        "ServiceIds",
        "portfolio UpdatedUtc",
        "ServiceIds + ConsumedUtc",
        "two ServiceIds + ConsumedUtc",
        "BillIds",
        "ServiceOrderIds",
        "AccountIds",
        "OrderItemIds",
    ],
)
def test_every_filter_shape_is_driven_by_its_index(planned: Engine, name: str) -> None:
    shape = shapes(planned)[name]
    if planned.dialect.name == "sqlite":
        check_sqlite(planned, shape)
    else:
        check_postgres(planned, shape)


def test_the_plans_ran_on_a_table_the_planner_cares_about(planned: Engine) -> None:
    with planned.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() == ITEMS


def prepared_texts(connection: sa.Connection) -> list[str]:
    return list(
        connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars()
    )


def test_update_windows_are_planned_for_their_own_values_and_id_lists_are_prepared(
    planned: Engine,
) -> None:
    """PostgreSQL's plan for a prepared text is made without values: it would sort a busy
    update window from the window's own index (20-30 ms for 1000 items) instead of walking."""
    if planned.dialect.name == "sqlite":
        # SQLite keeps no plan across values; instead each branch names the index it walks.
        text = statement(planned, Shape(ItemQuery(updated=QUARTER), "", True)).text
        assert "INDEXED BY ix_order_items_created " in text, text
        assert "INDEXED BY ix_order_items_updated_before_created " in text, text
        return
    bills = ItemQuery(bill_ids=some_ids(planned, t.c.bill_id, 50))
    with planned.connect() as connection:
        for _ in range(8):  # psycopg prepares a text from its fifth run on a connection
            for query in (ItemQuery(updated=QUARTER), bills):
                select_page(
                    connection, enterprise_ids=[LONDON], query=query, page=PageRequest(1000)
                )
        texts = prepared_texts(connection)
    assert any("bill_id" in text for text in texts), texts
    assert not any("updated_us >=" in text for text in texts), texts
