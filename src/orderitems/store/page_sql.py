"""The getAll page query as driver SQL: built by hand, because building it is the hot path.

Building, compiling and binding the SQLAlchemy form of this query cost about a millisecond per
request (most of it per id of an ``IN`` list), several times what SQLite takes to answer a
small page. Here a page is one string and a list of values in the driver's own form. The
shape is the one store/items.py documents: keys from a covering index in keyset order (one
``UNION ALL`` branch per enterprise for a portfolio), each key numbered with its place on the
page, then the documents joined by row (SQLite's ``rowid``) or primary key (PostgreSQL);
on PostgreSQL a branch that walks its index in page order reads its documents as it goes.
On PostgreSQL an id list is one array parameter, so the statement text does not change with
the number of ids and the server prepares it once and keeps its plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from orderitems.domain.query import ItemQuery, TimeInterval
from orderitems.store.documents import to_micros
from orderitems.store.schema import CONSUMED_SPAN, CONSUMED_SPAN_BITS


@dataclass(frozen=True, slots=True)
class Flavour:
    """How one driver spells a parameter, an id and an id list."""

    name: str
    placeholder: str
    uuids_as_bytes: bool
    row_locator: str | None


SQLITE = Flavour("sqlite", "?", uuids_as_bytes=True, row_locator="rowid")
POSTGRES = Flavour("postgresql", "%s", uuids_as_bytes=False, row_locator=None)


@dataclass(frozen=True, slots=True)
class CursorItem:
    """A cursor whose position the page statement looks up itself, among the items of
    ``visible`` (PostgreSQL: one round trip less for every page after the first). No such
    item makes the page empty; the caller then tells an unknown cursor from the end."""

    visible: Sequence[uuid.UUID]
    item_id: uuid.UUID


Position = tuple[int, uuid.UUID] | CursorItem


def flavour_for(dialect_name: str) -> Flavour:
    return SQLITE if dialect_name == "sqlite" else POSTGRES


class Statement:
    """SQL text being written with its positional values."""

    def __init__(self, flavour: Flavour) -> None:
        self.flavour = flavour
        self.text = ""
        self.values: list[Any] = []
        #: Plan with the values at hand, never from a plan kept for the text (see
        #: ``page_statement``); other statements may be prepared once and their plan reused.
        self.plan_each_time = False

    def value(self, value: Any) -> str:
        self.values.append(value)
        return self.flavour.placeholder

    def id_value(self, value: uuid.UUID) -> str:
        return self.value(value.bytes if self.flavour.uuids_as_bytes else value)

    def one_of(self, column: str, ids: frozenset[uuid.UUID], *, walk: bool) -> str:
        """``walk``: one id becomes an equality, so its index can give the keyset order
        (PostgreSQL keeps no index order through an array of values, even of one)."""
        ordered = sorted(ids)
        if walk and len(ordered) == 1:
            return f"{column} = {self.id_value(ordered[0])}"
        if self.flavour.uuids_as_bytes:
            return f"{column} IN ({', '.join(self.id_value(i) for i in ordered)})"
        return f"{column} = ANY({self.value(ordered)})"

    def one_of_text(self, column: str, values: frozenset[str]) -> str:
        return f"{column} IN ({', '.join(self.value(v) for v in sorted(values))})"

    def within(self, column: str, interval: TimeInterval) -> str:
        start = self.value(to_micros(interval.start))
        if interval.is_instant:
            return f"{column} = {start}"
        return f"{column} >= {start} AND {column} < {self.value(to_micros(interval.end))}"


_ID_FILTERS = (
    ("id", "order_item_ids"),
    ("account_id", "account_ids"),
    ("service_order_id", "service_order_ids"),
    ("service_id", "service_ids"),
    ("bill_id", "bill_ids"),
)
_TIME_FILTERS = (
    ("created_us", "created"),
    ("updated_us", "updated"),
    ("consumed_us", "consumed"),
    ("canceled_us", "canceled"),
    ("closed_us", "closed"),
)


def _conditions(
    sql: Statement,
    query: ItemQuery,
    position: Position | None,
    *,
    walk: bool,
    spans: Extra | None = None,
) -> str:
    """AND across properties, OR within one, then strictly after the cursor's position.

    ``walk``: one id may be an equality, so its index gives the keyset order. Not so with a
    ``ConsumedUtc`` window collected as one range: PostgreSQL, planning a small page, would
    walk a service's items down from the newest to reach an old window. ``spans`` narrows a
    consumption window to the spans of the service index (schema.py ``CONSUMED_SPAN``).
    """
    parts: list[str] = []
    for column, name in _ID_FILTERS:
        ids = getattr(query, name)
        if ids is not None:
            parts.append(sql.one_of(column, ids, walk=walk))
    if spans is not None:
        parts.append(spans(sql))
    for column, name in _TIME_FILTERS:
        interval = getattr(query, name)
        if interval is not None:
            parts.append(sql.within(column, interval))
    if query.accounting_states is not None:
        parts.append(sql.one_of_text("accounting_state", query.accounting_states))
    if query.types is not None:
        parts.append(sql.one_of_text("type", query.types))
    if isinstance(position, CursorItem):
        scope = ", ".join(sql.id_value(e) for e in position.visible)
        parts.append(
            "(created_us, id) < (SELECT c.created_us, c.id FROM order_items AS c"
            f" WHERE c.enterprise_id IN ({scope}) AND c.id = {sql.id_value(position.item_id)})"
        )
    elif position is not None:
        created_us, item_id = position
        parts.append(f"(created_us, id) < ({sql.value(created_us)}, {sql.id_value(item_id)})")
    return "".join(f" AND {part}" for part in parts)


@dataclass(frozen=True, slots=True)
class _EventBound:
    """An update, close or cancel window: its items were created before the window ends."""

    column: str
    end_us: int


def _event_bound(query: ItemQuery) -> _EventBound | None:
    """The tightest such window, if any (schema.py ``EVENT_COLUMNS``, migration 0004)."""
    bounds = []
    for column, interval in (
        ("updated_us", query.updated),
        ("closed_us", query.closed),
        ("canceled_us", query.canceled),
    ):
        if interval is not None:
            end = to_micros(interval.start) + 1 if interval.is_instant else to_micros(interval.end)
            bounds.append(_EventBound(column, end))
    return min(bounds, key=lambda bound: bound.end_us, default=None)


Extra = Callable[[Statement], str]

#: A page walks at most this many (enterprise, span) branches; a wider window or portfolio
#: collects the window's keys as one range of the same index and sorts them.
MAX_SPAN_BRANCHES = 100
SERVICE_SPAN_INDEX = "ix_order_items_service_consumed_span"


def _consumption_spans(query: ItemQuery) -> range | None:
    """The spans a ``ServiceIds`` + ``ConsumedUtc`` window covers, when the service index
    (schema.py ``CONSUMED_SPAN``) is the one to read: no other id filter is narrower."""
    window = query.consumed
    if window is None or query.service_ids is None:
        return None
    if any(getattr(query, name) is not None for _, name in _ID_FILTERS if name != "service_ids"):
        return None
    start = to_micros(window.start)
    end = start + 1 if window.is_instant else to_micros(window.end)
    return range(start >> CONSUMED_SPAN_BITS, ((end - 1) >> CONSUMED_SPAN_BITS) + 1)


def _table(hinted: bool, index: str) -> str:
    return f"order_items INDEXED BY {index}" if hinted else "order_items"


def page_statement(
    flavour: Flavour,
    *,
    enterprise_ids: Sequence[uuid.UUID],
    query: ItemQuery,
    count: int,
    position: Position | None,
    merge_limit: int,
) -> Statement:
    """Rows (place on the page, item id, document) of one page, in no particular order.

    With an ``UpdatedUtc``, ``ClosedUtc`` or ``CanceledUtc`` window ending at E, the keys come
    from two branches: items created before E, walked down the creation-order index from E
    (the window tested on each index entry, stopping after ``Count`` matches), and items whose
    event precedes their creation, which only imported data holds (a partial index of them).
    Together they are exactly the matching items, whatever the stored times.

    With one service and a ``ConsumedUtc`` window, each consumption span of the window is a
    branch walked in keyset order (``CONSUMED_SPAN``), and the page is the newest ``Count``
    keys of the branches' first ``Count`` each.
    """
    sql = Statement(flavour)
    locator = f"{flavour.row_locator} AS locator" if flavour.row_locator else "enterprise_id"
    order = "ORDER BY created_us DESC, id DESC"
    bound = _event_bound(query)
    spans = _consumption_spans(query)
    scopes = len(enterprise_ids) if len(enterprise_ids) <= merge_limit else 0
    walk_spans = (
        spans is not None
        and bound is None
        and query.service_ids is not None
        and len(query.service_ids) == 1
        and 0 < len(spans) * scopes <= MAX_SPAN_BRANCHES
    )
    # Otherwise a consumption window's keys are collected and the page's taken from them
    # (``+ 0`` makes the order unfit for any index). Planning a small page, PostgreSQL would
    # otherwise walk the creation order down from the newest item, testing each row, to reach
    # a window that may lie years back.
    collect = query.consumed is not None and not walk_spans
    branch_order = order.replace("created_us", "created_us + 0", 1) if collect else order
    # SQLite's planner does not weigh LIMIT against a sort, nor know a new partial index is
    # nearly empty, so it is told which index each branch walks; an id filter keeps its own,
    # but for the service index by span, which it would not pick over the service's walk.
    id_filters = [ids for _, name in _ID_FILTERS if (ids := getattr(query, name)) is not None]
    hinted = flavour.name == "sqlite" and not id_filters
    # Where every branch walks an index in page order, PostgreSQL reads each document as the
    # walk reaches its row: one heap fetch per item, where keys first and then documents by
    # primary key cost a descent of that index per item too.
    # Where keys may be sorted they stay keys, so a sort never carries documents: id lists,
    # consumption windows collected as a range, and close or cancel windows, whose few items
    # the planner may rather take from their own index than walk to.
    walked = (
        flavour.row_locator is None
        and not collect
        and (bound is None or bound.column == "updated_us")
        and scopes > 0
        and all(len(ids) == 1 for ids in id_filters)
    )
    if walked:
        locator = "document"
    # A plan PostgreSQL keeps for a prepared text is made without the values: it guesses a
    # few hundred items in any update window and sorts them from the window's own index, so
    # a busy window's page took several times as long as the walk down the creation order.
    sql.plan_each_time = bound is not None
    by_span = _table(flavour.name == "sqlite" and spans is not None, SERVICE_SPAN_INDEX)

    def keys(
        scope: str,
        *,
        table: str = "order_items",
        extra: Extra | None = None,
        span: int | None = None,
    ) -> str:
        """One branch; the text is written in order, as the values are collected in order."""
        head = f"SELECT {locator}, id, created_us FROM {table} WHERE {scope}"

        def in_spans(s: Statement) -> str:
            if span is not None:
                return f"{CONSUMED_SPAN} = {s.value(span)}"
            assert spans is not None
            first, last = s.value(spans[0]), s.value(spans[-1])
            return f"{CONSUMED_SPAN} >= {first} AND {CONSUMED_SPAN} <= {last}"

        where = _conditions(
            sql, query, position, walk=not collect, spans=None if spans is None else in_spans
        )
        tail = "" if extra is None else extra(sql)
        return f"{head}{where}{tail} {branch_order} LIMIT {int(count)}"

    def branches(scope: Callable[[], str]) -> list[str]:
        if walk_spans:
            assert spans is not None
            return [keys(scope(), table=by_span, span=n) for n in spans]
        if bound is None:
            return [keys(scope(), table=by_span)]

        def before_end(s: Statement) -> str:
            return f" AND created_us < {s.value(bound.end_us)}"

        def event_first(s: Statement) -> str:
            end = s.value(bound.end_us)
            return f" AND {bound.column} < created_us AND created_us >= {end}"

        walk_index = "ix_order_items_created"
        early_index = f"ix_order_items_{bound.column.removesuffix('_us')}_before_created"
        walk = keys(scope(), table=_table(hinted, walk_index), extra=before_end)
        return [walk, keys(scope(), table=_table(hinted, early_index), extra=event_first)]

    def one(enterprise: uuid.UUID) -> Callable[[], str]:
        return lambda: "enterprise_id = " + sql.id_value(enterprise)

    def each() -> str:
        return f"enterprise_id IN ({', '.join(sql.id_value(e) for e in enterprise_ids)})"

    if 1 < len(enterprise_ids) <= merge_limit:
        parts = [branch for e in enterprise_ids for branch in branches(one(e))]
    else:
        parts = branches(each)
    if len(parts) == 1:
        page_keys = parts[0]
    else:
        merged = " UNION ALL ".join(
            f"SELECT * FROM ({part}) AS b{n}" for n, part in enumerate(parts)
        )
        page_keys = f"SELECT * FROM ({merged}) AS m {order} LIMIT {int(count)}"
    if walked:
        sql.text = (
            f"SELECT row_number() OVER ({order}) AS place, s.id, s.document FROM ({page_keys}) AS s"
        )
        return sql
    if flavour.row_locator:
        found = f"o.{flavour.row_locator} = k.locator"
    else:
        found = "o.enterprise_id = k.enterprise_id AND o.id = k.id"
    sql.text = (
        f"SELECT k.place, o.id, o.document FROM (SELECT s.*, row_number() OVER ({order})"
        f" AS place FROM ({page_keys}) AS s) AS k JOIN order_items AS o ON {found}"
    )
    return sql


def position_statement(
    flavour: Flavour, enterprise_ids: Sequence[uuid.UUID], item_id: uuid.UUID
) -> Statement:
    """The keyset position (created_us, id) of an item visible in this scope."""
    sql = Statement(flavour)
    scope = ", ".join(sql.id_value(e) for e in enterprise_ids)
    sql.text = (
        f"SELECT created_us FROM order_items WHERE enterprise_id IN ({scope})"
        f" AND id = {sql.id_value(item_id)}"
    )
    return sql
