"""The getAll page query as a plan: which index walks, which spans, which bounds; no SQL.

A page's keys come from one or more branches, each a walk of an index in keyset order
(created desc, id desc) that stops after ``Count`` keys: one branch per enterprise of a
portfolio (up to ``merge_limit``), one per consumption span of a service's window, and two for
an update, close or cancel window (below). The branches' keys are merged, numbered with their
place on the page, and only then are the page's documents read. Each database's renderer
(store/page_sql.py) writes a plan as its own SQL; planning is pure, so the choice of walks is
tested without a database (tests/store/test_page_plan.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from orderitems.domain.filters import GET_ALL_FILTERS, FilterKind
from orderitems.domain.query import ItemQuery, TimeInterval
from orderitems.store.documents import to_micros
from orderitems.store.schema import CONSUMED_SPAN_BITS

#: A page walks at most this many (enterprise, span) branches; a wider window or portfolio
#: collects the window's keys as one range of the same index and sorts them.
MAX_SPAN_BRANCHES = 100
SERVICE_SPAN_INDEX = "ix_order_items_service_consumed_span"
CREATED_INDEX = "ix_order_items_created"


# --- conditions: each is one AND-ed term of a branch's WHERE, in the order they are written --


@dataclass(frozen=True, slots=True)
class OneOfIds:
    """``column`` is one of ``ids`` (sorted); ``equality``: a single id compared with ``=``,
    so its index can give the keyset order (no database keeps index order through a list)."""

    column: str
    ids: tuple[uuid.UUID, ...]
    equality: bool


@dataclass(frozen=True, slots=True)
class InSpan:
    """One consumption span of the service index: a branch of its own."""

    span: int


@dataclass(frozen=True, slots=True)
class InSpans:
    """The service index's consumption spans ``first..last`` (schema.py ``CONSUMED_SPAN``)."""

    first: int
    last: int


@dataclass(frozen=True, slots=True)
class Within:
    """``start_us <= column < end_us``, or ``column == start_us`` when ``end_us`` is None."""

    column: str
    start_us: int
    end_us: int | None


@dataclass(frozen=True, slots=True)
class OneOfValues:
    column: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CursorItem:
    """A cursor whose position the page statement looks up itself, among the items of
    ``visible`` (PostgreSQL: one round trip less for every page after the first). No such
    item makes the page empty; the caller then tells an unknown cursor from the end."""

    visible: Sequence[uuid.UUID]
    item_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class After:
    """Strictly after the keyset position (created_us, id) of the cursor item."""

    created_us: int
    item_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class CreatedBefore:
    """``created_us < end_us``: where an event window ending at ``end_us`` walks from."""

    end_us: int


@dataclass(frozen=True, slots=True)
class EventBeforeCreation:
    """``column < created_us AND created_us >= end_us``: items whose event precedes their
    creation (only imported data), created at or after the window's end."""

    column: str
    end_us: int


Condition = (
    OneOfIds
    | InSpan
    | InSpans
    | Within
    | OneOfValues
    | CursorItem
    | After
    | CreatedBefore
    | EventBeforeCreation
)
Position = tuple[int, uuid.UUID] | CursorItem


@dataclass(frozen=True, slots=True)
class Branch:
    """One index walk: one enterprise (None: all the plan's enterprises as one list)."""

    enterprise_id: uuid.UUID | None
    conditions: tuple[Condition, ...]
    #: The index the walk must take, for a planner that would not choose it (SQLite weighs no
    #: LIMIT against a sort and does not know a new partial index is nearly empty).
    index: str | None = None


@dataclass(frozen=True, slots=True)
class PagePlan:
    enterprise_ids: tuple[uuid.UUID, ...]
    branches: tuple[Branch, ...]
    count: int
    #: Keys are collected and sorted, not walked in order (a consumption window): the order
    #: is then made unfit for any index, so no planner walks the creation order down from the
    #: newest item to reach a window that may lie years back.
    sort_keys: bool
    #: Every branch walks an index in page order, so a walk may read each document as it
    #: reaches its row. Not so where keys may be sorted: id lists, collected consumption
    #: windows, and close or cancel windows, whose few items a planner may rather take from
    #: their own index than walk to.
    in_page_order: bool
    #: Plan with the values at hand, never from a plan kept for the text: a plan made without
    #: values guesses a few hundred items in any event window and sorts them from the
    #: window's own index, where the walk down the creation order is far cheaper.
    plan_each_time: bool


def _end_us(interval: TimeInterval) -> int:
    return to_micros(interval.start) + 1 if interval.is_instant else to_micros(interval.end)


def event_bound(query: ItemQuery) -> tuple[str, int] | None:
    """The tightest update, close or cancel window (column, end): its items were created
    before the window ends, or hold an event before their creation (schema.py
    ``EVENT_COLUMNS``, migration 0004)."""
    bounds = [
        (column, _end_us(interval))
        for column, interval in (
            ("updated_us", query.updated),
            ("closed_us", query.closed),
            ("canceled_us", query.canceled),
        )
        if interval is not None
    ]
    return min(bounds, key=lambda bound: bound[1], default=None)


def _given_ids(query: ItemQuery) -> list[tuple[str, str, frozenset[uuid.UUID]]]:
    """(field, column, ids) of every id filter given, in table order."""
    return [
        (f.field, f.column, ids)
        for f in GET_ALL_FILTERS
        if f.kind is FilterKind.IDS and (ids := getattr(query, f.field)) is not None
    ]


def consumption_spans(query: ItemQuery) -> range | None:
    """The spans a ``ServiceIds`` + ``ConsumedUtc`` window covers, when the service index
    (schema.py ``CONSUMED_SPAN``) is the one to read: no other id filter is narrower."""
    window = query.consumed
    if window is None or [field for field, _, _ in _given_ids(query)] != ["service_ids"]:
        return None
    start, end = to_micros(window.start), _end_us(window)
    return range(start >> CONSUMED_SPAN_BITS, ((end - 1) >> CONSUMED_SPAN_BITS) + 1)


def _filter_conditions(
    query: ItemQuery, *, walk: bool, spans: InSpan | InSpans | None
) -> list[Condition]:
    """AND across properties, OR within one (docs/behaviour.md#filters): id filters, the
    consumption spans, then intervals and values, as domain/filters.py lists them."""
    terms: list[Condition] = [
        OneOfIds(column, tuple(sorted(ids)), equality=walk and len(ids) == 1)
        for _, column, ids in _given_ids(query)
    ]
    if spans is not None:
        terms.append(spans)
    for f in GET_ALL_FILTERS:
        value = getattr(query, f.field)
        if value is None or f.kind is FilterKind.IDS:
            continue
        if f.kind is FilterKind.INTERVAL:
            end = None if value.is_instant else to_micros(value.end)
            terms.append(Within(f.column, to_micros(value.start), end))
        else:
            terms.append(OneOfValues(f.column, tuple(sorted(value))))
    return terms


def plan_page(
    *,
    enterprise_ids: Sequence[uuid.UUID],
    query: ItemQuery,
    count: int,
    position: Position | None,
    merge_limit: int,
) -> PagePlan:
    """The walks that find one page, strictly after ``position``.

    With an ``UpdatedUtc``, ``ClosedUtc`` or ``CanceledUtc`` window ending at E, the keys come
    from two branches: items created before E, walked down the creation-order index from E
    (the window tested on each index entry, stopping after ``Count`` matches), and items whose
    event precedes their creation, which only imported data holds (a partial index of them).
    Together they are exactly the matching items, whatever the stored times.

    With one service and a ``ConsumedUtc`` window, each consumption span of the window is a
    branch walked in keyset order (``CONSUMED_SPAN``), and the page is the newest ``Count``
    keys of the branches' first ``Count`` each.
    """
    bound = event_bound(query)
    spans = consumption_spans(query)
    merged = len(enterprise_ids) if len(enterprise_ids) <= merge_limit else 0
    walk_spans = (
        spans is not None
        and bound is None
        and query.service_ids is not None
        and len(query.service_ids) == 1
        and 0 < len(spans) * merged <= MAX_SPAN_BRANCHES
    )
    sort_keys = query.consumed is not None and not walk_spans
    given_ids = [ids for _, _, ids in _given_ids(query)]
    after: tuple[Condition, ...] = ()
    if isinstance(position, CursorItem):
        after = (position,)
    elif position is not None:
        after = (After(*position),)
    span_range = None if spans is None else InSpans(spans[0], spans[-1])

    def conditions(span: InSpan | InSpans | None) -> tuple[Condition, ...]:
        return (*_filter_conditions(query, walk=not sort_keys, spans=span), *after)

    # Each enterprise's walks: (conditions, the index to name).
    walks: list[tuple[tuple[Condition, ...], str | None]]
    if walk_spans:
        assert spans is not None
        walks = [(conditions(InSpan(n)), SERVICE_SPAN_INDEX) for n in spans]
    elif bound is None:
        walks = [(conditions(span_range), SERVICE_SPAN_INDEX if span_range else None)]
    else:
        column, end_us = bound
        shared = conditions(span_range)
        # An id filter keeps its own index; otherwise each walk names the one it takes.
        pinned = not given_ids
        early = f"ix_order_items_{column.removesuffix('_us')}_before_created"
        walks = [
            ((*shared, CreatedBefore(end_us)), CREATED_INDEX if pinned else None),
            ((*shared, EventBeforeCreation(column, end_us)), early if pinned else None),
        ]
    scopes = enterprise_ids if 1 < len(enterprise_ids) <= merge_limit else [None]
    return PagePlan(
        enterprise_ids=tuple(enterprise_ids),
        branches=tuple(Branch(e, terms, index) for e in scopes for terms, index in walks),
        count=int(count),
        sort_keys=sort_keys,
        in_page_order=(
            not sort_keys
            and (bound is None or bound[0] == "updated_us")
            and merged > 0
            and all(len(ids) == 1 for ids in given_ids)
        ),
        plan_each_time=bound is not None,
    )
