"""A page plan (store/page_plan.py) as driver SQL, one renderer per database.

Written by hand, because this is the hot path: building, compiling and binding the SQLAlchemy
form of the query cost several times what SQLite takes to answer a small page, most of it per
id of an ``IN`` list. Here a page is one string and a list of values in the driver's own form.
Keys come from covering indexes (``UNION ALL`` of the plan's branches), each numbered with its
place on the page, then the documents are joined by row (SQLite's ``rowid``) or primary key
(PostgreSQL); on PostgreSQL a plan whose walks are all in page order reads its documents as
it goes instead. On PostgreSQL an id list is one array parameter, so the statement text does
not change with the number of ids and the server prepares it once and keeps its plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from orderitems.store.page_plan import (
    After,
    Branch,
    Condition,
    CreatedBefore,
    CursorItem,
    EventBeforeCreation,
    InSpan,
    InSpans,
    OneOfIds,
    OneOfValues,
    PagePlan,
    Within,
)
from orderitems.store.schema import CONSUMED_SPAN

ORDER = "ORDER BY created_us DESC, id DESC"
#: The same order made unfit for any index (``+ 0``), for keys that are collected and sorted.
SORTED_ORDER = "ORDER BY created_us + 0 DESC, id DESC"


class Statement:
    """SQL text being written with its positional values."""

    def __init__(self, renderer: PageRenderer) -> None:
        self.renderer = renderer
        self.text = ""
        self.values: list[Any] = []
        #: Plan with the values at hand (``PagePlan.plan_each_time``); other statements may
        #: be prepared once and their plan reused.
        self.plan_each_time = False

    def value(self, value: Any) -> str:
        self.values.append(value)
        return self.renderer.placeholder

    def id_value(self, value: uuid.UUID) -> str:
        return self.value(self.renderer.driver_uuid(value))

    def id_list(self, ids: Sequence[uuid.UUID]) -> str:
        return ", ".join(self.id_value(i) for i in ids)


class PageRenderer:
    """What both databases write alike; a subclass says how its driver differs."""

    placeholder = "?"

    def driver_uuid(self, value: uuid.UUID) -> Any:
        return value

    def read_uuid(self, value: Any) -> uuid.UUID:
        """An id as the driver returns it."""
        return value  # type: ignore[no-any-return]

    def one_of_ids(self, sql: Statement, column: str, ids: Sequence[uuid.UUID]) -> str:
        """``column`` among several ids (or one, where the plan sorts keys anyway)."""
        return f"{column} IN ({sql.id_list(ids)})"

    def locator(self, plan: PagePlan) -> str:
        """The first column of each key: how the page's documents are found again."""
        raise NotImplementedError

    def table(self, branch: Branch) -> str:
        return "order_items"

    def documents(self, plan: PagePlan, page_keys: str) -> str:
        """The page's (place, id, document) rows from its numbered keys."""
        raise NotImplementedError

    def condition(self, sql: Statement, term: Condition) -> str:
        match term:
            case OneOfIds(column, ids, equality=True):
                return f"{column} = {sql.id_value(ids[0])}"
            case OneOfIds(column, ids):
                return self.one_of_ids(sql, column, ids)
            case InSpan(span):
                return f"{CONSUMED_SPAN} = {sql.value(span)}"
            case InSpans(first, last):
                low, high = sql.value(first), sql.value(last)
                return f"{CONSUMED_SPAN} >= {low} AND {CONSUMED_SPAN} <= {high}"
            case Within(column, start_us, None):
                return f"{column} = {sql.value(start_us)}"
            case Within(column, start_us, end_us):
                start = sql.value(start_us)
                return f"{column} >= {start} AND {column} < {sql.value(end_us)}"
            case OneOfValues(column, values):
                return f"{column} IN ({', '.join(sql.value(v) for v in values)})"
            case CursorItem(visible, item_id):
                return (
                    "(created_us, id) < (SELECT c.created_us, c.id FROM order_items AS c"
                    f" WHERE c.enterprise_id IN ({sql.id_list(visible)})"
                    f" AND c.id = {sql.id_value(item_id)})"
                )
            case After(created_us, item_id):
                return f"(created_us, id) < ({sql.value(created_us)}, {sql.id_value(item_id)})"
            case CreatedBefore(end_us):
                return f"created_us < {sql.value(end_us)}"
            case EventBeforeCreation(column, end_us):
                return f"{column} < created_us AND created_us >= {sql.value(end_us)}"
        raise AssertionError(term)

    def branch(self, sql: Statement, plan: PagePlan, branch: Branch) -> str:
        """One walk; the text is written in order, as the values are collected in order."""
        if branch.enterprise_id is None:
            scope = f"enterprise_id IN ({sql.id_list(plan.enterprise_ids)})"
        else:
            scope = f"enterprise_id = {sql.id_value(branch.enterprise_id)}"
        head = f"SELECT {self.locator(plan)}, id, created_us FROM {self.table(branch)} WHERE"
        where = "".join(f" AND {self.condition(sql, term)}" for term in branch.conditions)
        order = SORTED_ORDER if plan.sort_keys else ORDER
        return f"{head} {scope}{where} {order} LIMIT {plan.count}"

    def page(self, plan: PagePlan) -> Statement:
        """Rows (place on the page, item id, document) of one page, in no particular order."""
        sql = Statement(self)
        sql.plan_each_time = plan.plan_each_time
        parts = [self.branch(sql, plan, branch) for branch in plan.branches]
        if len(parts) == 1:
            page_keys = parts[0]
        else:
            merged = " UNION ALL ".join(
                f"SELECT * FROM ({part}) AS b{n}" for n, part in enumerate(parts)
            )
            page_keys = f"SELECT * FROM ({merged}) AS m {ORDER} LIMIT {plan.count}"
        sql.text = self.documents(plan, page_keys)
        return sql

    def position(self, enterprise_ids: Sequence[uuid.UUID], item_id: uuid.UUID) -> Statement:
        """The keyset position (created_us, id) of an item visible in this scope."""
        sql = Statement(self)
        sql.text = (
            f"SELECT created_us FROM order_items WHERE enterprise_id IN"
            f" ({sql.id_list(enterprise_ids)}) AND id = {sql.id_value(item_id)}"
        )
        return sql


def _numbered_keys_joined(page_keys: str, found: str) -> str:
    return (
        f"SELECT k.place, o.id, o.document FROM (SELECT s.*, row_number() OVER ({ORDER})"
        f" AS place FROM ({page_keys}) AS s) AS k JOIN order_items AS o ON {found}"
    )


class SqliteRenderer(PageRenderer):
    """Ids are 16 bytes (schema.py ``CompactUuid``); documents are found by ``rowid``; each
    walk names the index the plan chose, as SQLite's planner would not pick it."""

    placeholder = "?"

    def driver_uuid(self, value: uuid.UUID) -> Any:
        return value.bytes

    def read_uuid(self, value: Any) -> uuid.UUID:
        return uuid.UUID(bytes=bytes(value))

    def locator(self, plan: PagePlan) -> str:
        return "rowid AS locator"

    def table(self, branch: Branch) -> str:
        return "order_items" if branch.index is None else f"order_items INDEXED BY {branch.index}"

    def documents(self, plan: PagePlan, page_keys: str) -> str:
        return _numbered_keys_joined(page_keys, "o.rowid = k.locator")


class PostgresRenderer(PageRenderer):
    """An id list is one array parameter; a plan walked in page order reads each document as
    the walk reaches its row (one heap fetch per item, where keys first and then documents
    by primary key cost a descent of that index per item too)."""

    placeholder = "%s"

    def one_of_ids(self, sql: Statement, column: str, ids: Sequence[uuid.UUID]) -> str:
        return f"{column} = ANY({sql.value(list(ids))})"

    def locator(self, plan: PagePlan) -> str:
        return "document" if plan.in_page_order else "enterprise_id"

    def documents(self, plan: PagePlan, page_keys: str) -> str:
        if plan.in_page_order:
            return (
                f"SELECT row_number() OVER ({ORDER}) AS place, s.id, s.document"
                f" FROM ({page_keys}) AS s"
            )
        return _numbered_keys_joined(page_keys, "o.enterprise_id = k.enterprise_id AND o.id = k.id")
