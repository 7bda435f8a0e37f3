"""The page planner chooses its walks without a database (store/page_plan.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from orderitems.domain.items import AccountingState
from orderitems.domain.query import ItemQuery, TimeInterval
from orderitems.store.documents import to_micros
from orderitems.store.page_plan import (
    CREATED_INDEX,
    MAX_SPAN_BRANCHES,
    SERVICE_SPAN_INDEX,
    After,
    CreatedBefore,
    CursorItem,
    EventBeforeCreation,
    InSpan,
    InSpans,
    OneOfIds,
    OneOfValues,
    PagePlan,
    Position,
    Within,
    consumption_spans,
    plan_page,
)
from orderitems.store.schema import CONSUMED_SPAN_BITS

T = datetime(2025, 7, 1, tzinfo=UTC)
LONDON, PARIS, ROME = (uuid.UUID(int=n) for n in (1, 2, 3))
SERVICE, OTHER_SERVICE, BILL = (uuid.UUID(int=n) for n in (101, 102, 201))


def days(count: int, start: int = 0) -> TimeInterval:
    return TimeInterval(T + timedelta(days=start), T + timedelta(days=start + count))


def plan(
    query: ItemQuery,
    enterprises: tuple[uuid.UUID, ...] = (LONDON,),
    *,
    position: Position | None = None,
    merge_limit: int = 64,
) -> PagePlan:
    return plan_page(
        enterprise_ids=enterprises,
        query=query,
        count=100,
        position=position,
        merge_limit=merge_limit,
    )


def test_a_creation_window_is_one_walk_in_page_order_with_its_interval() -> None:
    planned = plan(ItemQuery(created=days(30)))
    (branch,) = planned.branches
    assert branch.enterprise_id is None
    assert branch.conditions == (Within("created_us", to_micros(T), to_micros(days(30).end)),)
    assert planned.in_page_order
    assert not planned.sort_keys
    assert not planned.plan_each_time


def test_an_instant_is_an_equality() -> None:
    (branch,) = plan(ItemQuery(created=TimeInterval(T, T))).branches
    assert branch.conditions == (Within("created_us", to_micros(T), None),)


def test_a_portfolio_within_the_merge_limit_walks_each_enterprise_and_beyond_it_one_list() -> None:
    merged = plan(ItemQuery(created=days(1)), (LONDON, PARIS, ROME))
    assert [b.enterprise_id for b in merged.branches] == [LONDON, PARIS, ROME]
    listed = plan(ItemQuery(created=days(1)), (LONDON, PARIS, ROME), merge_limit=2)
    assert [b.enterprise_id for b in listed.branches] == [None]
    assert not listed.in_page_order


def test_an_update_window_walks_the_creation_order_from_its_end_and_the_early_events() -> None:
    window = days(30)
    planned = plan(ItemQuery(updated=window))
    walk, early = planned.branches
    end = to_micros(window.end)
    assert walk.conditions[-1] == CreatedBefore(end)
    assert walk.index == CREATED_INDEX
    assert early.conditions[-1] == EventBeforeCreation("updated_us", end)
    assert early.index == "ix_order_items_updated_before_created"
    assert planned.plan_each_time
    assert planned.in_page_order


def test_the_tightest_event_window_bounds_the_walk_and_a_close_window_sorts_its_keys() -> None:
    planned = plan(ItemQuery(updated=days(30), closed=days(10)))
    walk, early = planned.branches
    assert walk.conditions[-1] == CreatedBefore(to_micros(days(10).end))
    assert early.conditions[-1] == EventBeforeCreation("closed_us", to_micros(days(10).end))
    assert not planned.in_page_order


def test_an_id_filter_keeps_its_own_index_under_an_event_window() -> None:
    walk, early = plan(ItemQuery(service_ids=frozenset({SERVICE}), updated=days(5))).branches
    assert walk.index is None
    assert early.index is None


def test_one_service_and_a_consumption_window_walk_each_span_of_the_service_index() -> None:
    window = days(30)
    planned = plan(ItemQuery(service_ids=frozenset({SERVICE}), consumed=window))
    first = to_micros(window.start) >> CONSUMED_SPAN_BITS
    last = (to_micros(window.end) - 1) >> CONSUMED_SPAN_BITS
    assert [b.conditions[1] for b in planned.branches] == [
        InSpan(n) for n in range(first, last + 1)
    ]
    assert all(b.index == SERVICE_SPAN_INDEX for b in planned.branches)
    assert all(
        b.conditions[0] == OneOfIds("service_id", (SERVICE,), True) for b in planned.branches
    )
    assert not planned.sort_keys


def test_too_many_span_branches_collect_the_window_as_one_range_and_sort_keys() -> None:
    portfolio = tuple(uuid.UUID(int=n) for n in range(1, 41))
    narrow = plan(
        ItemQuery(service_ids=frozenset({SERVICE}), consumed=TimeInterval(T, T)), portfolio
    )
    assert len(narrow.branches) == 40
    assert not narrow.sort_keys
    wide = ItemQuery(service_ids=frozenset({SERVICE}), consumed=days(10))
    spans = consumption_spans(wide)
    assert spans is not None
    assert len(portfolio) * len(spans) > MAX_SPAN_BRANCHES
    planned = plan(wide, portfolio)
    assert planned.sort_keys
    assert not planned.in_page_order
    assert all(isinstance(b.conditions[1], InSpans) for b in planned.branches)


def test_two_services_collect_a_consumption_window_with_ids_as_a_list() -> None:
    query = ItemQuery(service_ids=frozenset({OTHER_SERVICE, SERVICE}), consumed=days(3))
    (branch,) = plan(query).branches
    assert branch.conditions[0] == OneOfIds("service_id", (SERVICE, OTHER_SERVICE), False)
    assert isinstance(branch.conditions[1], InSpans)


def test_another_id_filter_makes_the_service_index_unused() -> None:
    query = ItemQuery(
        service_ids=frozenset({SERVICE}), bill_ids=frozenset({BILL}), consumed=days(3)
    )
    planned = plan(query)
    (branch,) = planned.branches
    assert branch.index is None
    assert not any(isinstance(c, InSpan | InSpans) for c in branch.conditions)
    assert planned.sort_keys


def test_a_single_id_is_an_equality_and_several_a_list_read_out_of_page_order() -> None:
    one = plan(ItemQuery(bill_ids=frozenset({BILL})))
    assert one.branches[0].conditions == (OneOfIds("bill_id", (BILL,), True),)
    assert one.in_page_order
    several = plan(ItemQuery(bill_ids=frozenset({BILL, SERVICE})))
    assert several.branches[0].conditions == (OneOfIds("bill_id", (SERVICE, BILL), False),)
    assert not several.in_page_order


def test_conditions_follow_the_filter_table_and_the_position_comes_last() -> None:
    query = ItemQuery(
        created=days(3),
        bill_ids=frozenset({BILL}),
        accounting_states=frozenset({AccountingState.OPEN, AccountingState.CLOSED}),
    )
    (branch,) = plan(query, position=(123, BILL)).branches
    assert branch.conditions == (
        OneOfIds("bill_id", (BILL,), True),
        Within("created_us", to_micros(T), to_micros(days(3).end)),
        OneOfValues("accounting_state", ("Closed", "Open")),
        After(123, BILL),
    )


def test_a_cursor_item_is_looked_up_by_the_statement_itself() -> None:
    cursor = CursorItem((LONDON, PARIS), BILL)
    (branch,) = plan(ItemQuery(created=days(1)), position=cursor).branches
    assert branch.conditions[-1] is cursor
