"""Every page statement is the one the store wrote before the planner and renderers existed.

The plan decides which indexes a page walks, and so its speed (tests/store/test_plans.py checks
the plans themselves on a large table). ``page_statements.json`` holds a digest of the text,
values and ``plan_each_time`` of each statement of this matrix as the single f-string builder
wrote them, on both databases; a refactoring of the planner or a renderer must leave them
unchanged. A deliberate change of plan updates the file (``python tests/store/
test_page_statements.py`` rewrites it) and says why in its commit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orderitems.domain.items import AccountingState, OrderItemType
from orderitems.domain.query import ItemQuery, TimeInterval
from orderitems.store.dialect import POSTGRESQL, SQLITE, Dialect
from orderitems.store.page_plan import CursorItem, Position, plan_page
from orderitems.store.page_sql import Statement

DIGESTS = Path(__file__).with_name("page_statements.json")
T = datetime(2025, 7, 1, tzinfo=UTC)
INSTANT = TimeInterval(T, T)


def U(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def win(days: int, start: int = 0) -> TimeInterval:
    return TimeInterval(T + timedelta(days=start), T + timedelta(days=start + days))


def ids(*numbers: int) -> frozenset[uuid.UUID]:
    return frozenset(U(n) for n in numbers)


QUERIES = {
    "created": ItemQuery(created=win(30)),
    "created-instant": ItemQuery(created=INSTANT),
    "updated": ItemQuery(updated=win(30)),
    "updated-instant": ItemQuery(updated=INSTANT),
    "closed": ItemQuery(closed=win(30)),
    "canceled": ItemQuery(canceled=win(30)),
    "updated+closed": ItemQuery(updated=win(30), closed=win(10)),
    "updated+canceled-later": ItemQuery(updated=win(10), canceled=win(30, 5)),
    "consumed": ItemQuery(consumed=win(30)),
    "service": ItemQuery(service_ids=ids(101)),
    "services": ItemQuery(service_ids=ids(102, 101)),
    "service+consumed": ItemQuery(service_ids=ids(101), consumed=win(30)),
    "service+consumed-instant": ItemQuery(service_ids=ids(101), consumed=INSTANT),
    "service+consumed-wide": ItemQuery(service_ids=ids(101), consumed=win(90)),
    "services+consumed": ItemQuery(service_ids=ids(101, 102), consumed=win(30)),
    "service+consumed+bill": ItemQuery(service_ids=ids(101), consumed=win(30), bill_ids=ids(201)),
    "service+consumed+updated": ItemQuery(service_ids=ids(101), consumed=win(30), updated=win(20)),
    "service+updated": ItemQuery(service_ids=ids(101), updated=win(20)),
    "service+closed": ItemQuery(service_ids=ids(101), closed=win(20)),
    "bill": ItemQuery(bill_ids=ids(201)),
    "bills": ItemQuery(bill_ids=ids(203, 201, 202)),
    "service-orders": ItemQuery(service_order_ids=ids(301, 302)),
    "accounts": ItemQuery(account_ids=ids(401, 402)),
    "order-item": ItemQuery(order_item_ids=ids(501)),
    "order-items": ItemQuery(order_item_ids=ids(502, 501)),
    "all-ids": ItemQuery(
        order_item_ids=ids(501),
        account_ids=ids(401),
        service_order_ids=ids(301),
        service_ids=ids(101),
        bill_ids=ids(201),
    ),
    "created+states+types": ItemQuery(
        created=win(30),
        accounting_states=frozenset({AccountingState.CLOSED, AccountingState.OPEN}),
        types=frozenset({OrderItemType.CITY_TAX, OrderItemType.PRODUCT_ORDER}),
    ),
    "everything": ItemQuery(
        order_item_ids=ids(501, 502),
        account_ids=ids(401),
        service_order_ids=ids(301),
        service_ids=ids(101),
        bill_ids=ids(201),
        created=win(30),
        updated=win(20),
        consumed=win(10),
        canceled=win(5),
        closed=win(7),
        accounting_states=frozenset({AccountingState.OPEN}),
        types=frozenset(list(OrderItemType)[:1]),
    ),
    "consumed+canceled": ItemQuery(consumed=win(30), canceled=win(30)),
}
#: (enterprises, merge limit): one enterprise, a portfolio merged per enterprise, and one
#: past the merge limit, searched as one list.
SCOPES = {
    "one": ([U(1)], 64),
    "three-merged": ([U(1), U(2), U(3)], 64),
    "three-listed": ([U(1), U(2), U(3)], 2),
}
DIALECTS = {"sqlite": SQLITE, "postgresql": POSTGRESQL}


def _position(kind: str, scope: list[uuid.UUID]) -> Position | None:
    if kind == "position":
        return (1751328000000000, U(999))
    if kind == "cursor":
        return CursorItem(scope, U(998))
    return None


def cases() -> Iterator[tuple[str, Dialect, ItemQuery, list[uuid.UUID], int, str, int]]:
    for dialect_name, dialect in DIALECTS.items():
        for query_name, query in QUERIES.items():
            for scope_name, (scope, merge_limit) in SCOPES.items():
                for kind in ("none", "position", "cursor"):
                    if kind == "cursor" and dialect_name == "sqlite":
                        continue  # SQLite looks the cursor's position up before the page
                    listed = scope_name == "three-listed"
                    if (
                        kind != "none"
                        and listed
                        and query_name not in ("updated", "service+consumed")
                    ):
                        continue
                    counts = (100, 1) if (kind == "none" and scope_name == "one") else (100,)
                    for count in counts:
                        name = f"{dialect_name} {query_name} {scope_name} {kind} {count}"
                        yield name, dialect, query, scope, merge_limit, kind, count


def _encoded(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return "uuid:" + str(value)
    if isinstance(value, bytes):
        return "bytes:" + value.hex()
    if isinstance(value, list):
        return [_encoded(v) for v in value]
    return value


def digest(statement: Statement) -> str:
    written = {
        "text": statement.text,
        "values": _encoded(statement.values),
        "plan_each_time": statement.plan_each_time,
    }
    return hashlib.sha256(json.dumps(written, sort_keys=True).encode()).hexdigest()[:20]


@functools.cache
def rendered() -> dict[str, str]:
    statements: dict[str, str] = {}
    for name, dialect, query, scope, merge_limit, kind, count in cases():
        plan = plan_page(
            enterprise_ids=scope,
            query=query,
            count=count,
            position=_position(kind, scope),
            merge_limit=merge_limit,
        )
        statements[name] = digest(dialect.pages.page(plan))
    for dialect_name, dialect in DIALECTS.items():
        position = dialect.pages.position([U(1), U(2)], U(5))
        statements[f"{dialect_name} position"] = digest(position)
    return statements


RECORDED: dict[str, str] = json.loads(DIGESTS.read_text())


def test_the_matrix_covers_every_recorded_statement() -> None:
    assert set(rendered()) == set(RECORDED)


def test_each_page_statement_is_written_as_recorded() -> None:
    changed = sorted(name for name, written in rendered().items() if RECORDED[name] != written)
    assert changed == []


if __name__ == "__main__":
    DIGESTS.write_text(json.dumps(rendered(), indent=0, sort_keys=True) + "\n")
