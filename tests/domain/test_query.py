"""Pure rules of ``orderitems.domain.query``: calendar months, time intervals and the
"at least one filter" rule (docs/behaviour.md#intervals, #filters)."""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderitems.domain.errors import InvalidInput
from orderitems.domain.filters import MAX_INTERVAL_MONTHS, IntervalLimit
from orderitems.domain.items import AccountingState, OrderItemType
from orderitems.domain.query import (
    QUALIFYING_FILTERS,
    ItemQuery,
    TimeInterval,
    add_months,
    build_item_query,
    parse_time_interval,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type,misc]


#: Aware UTC datetimes two years clear of both ends of the calendar, so that moving them by up
#: to 24 months (or 400 days) stays representable.
moments = st.datetimes(
    min_value=datetime(3, 1, 1), max_value=datetime(9997, 12, 31), timezones=st.just(UTC)
)
months = st.integers(min_value=0, max_value=24)
SECOND = timedelta(seconds=1)


# --- add_months ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "count", "expected"),
    [
        (utc(2025, 1, 15), 3, utc(2025, 4, 15)),
        (utc(2025, 1, 31), 3, utc(2025, 4, 30)),
        (utc(2025, 1, 31), 1, utc(2025, 2, 28)),
        (utc(2024, 1, 31), 1, utc(2024, 2, 29)),
        (utc(2024, 11, 30), 3, utc(2025, 2, 28)),
        (utc(2023, 11, 30), 3, utc(2024, 2, 29)),
        (utc(2025, 10, 31), 3, utc(2026, 1, 31)),
        (utc(2025, 12, 1), 1, utc(2026, 1, 1)),
        (utc(2025, 12, 31, 23, 59, 59, 999999), 2, utc(2026, 2, 28, 23, 59, 59, 999999)),
        (utc(2025, 3, 31), -1, utc(2025, 2, 28)),
        (utc(2025, 1, 15), -1, utc(2024, 12, 15)),
        (utc(2025, 5, 5), 0, utc(2025, 5, 5)),
        (utc(2025, 5, 5), 12, utc(2026, 5, 5)),
    ],
)
def test_add_months_moves_calendar_months_and_clamps_the_day(
    moment: datetime, count: int, expected: datetime
) -> None:
    assert add_months(moment, count) == expected


def test_add_months_keeps_the_time_zone_of_its_argument() -> None:
    plus_two = timezone(timedelta(hours=2))
    moved = add_months(datetime(2025, 1, 31, 12, tzinfo=plus_two), 3)
    assert moved == datetime(2025, 4, 30, 12, tzinfo=plus_two)
    assert moved.tzinfo is plus_two


@given(moments, months)
def test_add_months_never_overflows_the_target_month(moment: datetime, count: int) -> None:
    moved = add_months(moment, count)
    expected_index = moment.year * 12 + moment.month - 1 + count
    assert moved.year * 12 + moved.month - 1 == expected_index
    assert 1 <= moved.day <= calendar.monthrange(moved.year, moved.month)[1]
    assert moved.day == min(moment.day, calendar.monthrange(moved.year, moved.month)[1])


@given(moments, st.integers(min_value=-24, max_value=24))
def test_add_months_keeps_the_time_of_day_and_the_zone(moment: datetime, count: int) -> None:
    moved = add_months(moment, count)
    assert moved.timetz() == moment.timetz()
    assert moved.tzinfo is moment.tzinfo


@given(moments)
def test_three_calendar_months_are_at_least_89_and_at_most_92_days(moment: datetime) -> None:
    moved = add_months(moment, 3)
    assert moment + timedelta(days=89) <= moved <= moment + timedelta(days=92)


@given(moments, months, months)
def test_add_months_is_monotonic_in_the_count(moment: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert add_months(moment, low) <= add_months(moment, high)


# --- TimeInterval.contains -----------------------------------------------------------------


@given(moments, st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=92)))
def test_an_interval_is_half_open(start: datetime, length: timedelta) -> None:
    interval = TimeInterval(start, start + length)
    assert not interval.is_instant
    assert interval.contains(start)
    assert not interval.contains(start + length)
    assert interval.contains(start + length - timedelta(microseconds=1))
    assert not interval.contains(start - timedelta(microseconds=1))


@given(moments, st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)))
def test_an_instant_interval_contains_only_its_instant(start: datetime, offset: timedelta) -> None:
    interval = TimeInterval(start, start)
    assert interval.is_instant
    assert interval.contains(start + offset) == (offset == timedelta(0))


@given(moments, st.timedeltas(min_value=SECOND, max_value=timedelta(days=92)), moments)
def test_contains_agrees_with_start_inclusive_end_exclusive(
    start: datetime, length: timedelta, moment: datetime
) -> None:
    interval = TimeInterval(start, start + length)
    assert interval.contains(moment) == (start <= moment < start + length)


def test_a_null_timestamp_is_never_contained() -> None:
    assert not TimeInterval(utc(2025, 1, 1), utc(2025, 2, 1)).contains(None)
    assert not TimeInterval(utc(2025, 1, 1), utc(2025, 1, 1)).contains(None)


def test_an_instant_in_another_zone_is_the_same_instant() -> None:
    interval = TimeInterval(utc(2025, 3, 10, 10), utc(2025, 3, 10, 10))
    assert interval.contains(datetime(2025, 3, 10, 12, tzinfo=timezone(timedelta(hours=2))))


# --- parse_time_interval -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (utc(2025, 1, 15), utc(2025, 4, 15)),
        (utc(2025, 1, 31), utc(2025, 4, 30)),
        (utc(2024, 11, 30), utc(2025, 2, 28)),
        (utc(2025, 1, 1), utc(2025, 1, 1)),
        (utc(2025, 1, 1), utc(2025, 1, 1, 0, 0, 0, 1)),
    ],
)
def test_parse_time_interval_accepts_up_to_three_calendar_months(
    start: datetime, end: datetime
) -> None:
    assert parse_time_interval("CreatedUtc", start, end) == TimeInterval(start, end)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (utc(2025, 1, 15), utc(2025, 4, 15, 0, 0, 1)),
        (utc(2025, 1, 15), utc(2025, 4, 15, 0, 0, 0, 1)),
        (utc(2025, 1, 31), utc(2025, 5, 1)),
        (utc(2024, 11, 30), utc(2025, 3, 1)),
        (utc(2025, 1, 1), utc(2026, 1, 1)),
    ],
)
def test_parse_time_interval_refuses_more_than_three_calendar_months(
    start: datetime, end: datetime
) -> None:
    with pytest.raises(InvalidInput, match="UpdatedUtc") as refused:
        parse_time_interval("UpdatedUtc", start, end)
    assert refused.value.field == "UpdatedUtc"


@given(moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120)))
def test_parse_time_interval_accepts_exactly_what_add_months_allows(
    start: datetime, length: timedelta
) -> None:
    end = start + length
    if end <= add_months(start, MAX_INTERVAL_MONTHS):
        assert parse_time_interval("ClosedUtc", start, end) == TimeInterval(start, end)
    else:
        with pytest.raises(InvalidInput, match="ClosedUtc"):
            parse_time_interval("ClosedUtc", start, end)


@pytest.mark.parametrize(
    ("start", "end", "missing"),
    [(None, utc(2025, 1, 1), "StartUtc"), (utc(2025, 1, 1), None, "EndUtc"), (None, None, "")],
)
def test_parse_time_interval_requires_both_ends(
    start: datetime | None, end: datetime | None, missing: str
) -> None:
    with pytest.raises(InvalidInput, match=f"ConsumedUtc.*{missing}") as refused:
        parse_time_interval("ConsumedUtc", start, end)
    assert refused.value.field == "ConsumedUtc"


def test_parse_time_interval_refuses_start_after_end() -> None:
    with pytest.raises(InvalidInput, match=r"CanceledUtc.*StartUtc") as refused:
        parse_time_interval("CanceledUtc", utc(2025, 1, 2), utc(2025, 1, 1, 23, 59, 59))
    assert refused.value.field == "CanceledUtc"


def test_parse_time_interval_normalises_offsets_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    parsed = parse_time_interval(
        "CreatedUtc",
        datetime(2025, 3, 10, 12, tzinfo=plus_two),
        datetime(2025, 3, 10, 12, 0, 1, tzinfo=plus_two),
    )
    assert parsed == TimeInterval(utc(2025, 3, 10, 10), utc(2025, 3, 10, 10, 0, 1))
    assert parsed.start.utcoffset() == timedelta(0)
    assert parsed.end.utcoffset() == timedelta(0)


def test_parse_time_interval_measures_months_in_utc() -> None:
    """Jan 31 22:00-05:00 is Feb 1 03:00Z, so three months later is May 1 03:00Z."""
    minus_five = timezone(timedelta(hours=-5))
    start = datetime(2025, 1, 31, 22, tzinfo=minus_five)
    assert parse_time_interval("CreatedUtc", start, utc(2025, 5, 1, 3)).end == utc(2025, 5, 1, 3)
    with pytest.raises(InvalidInput):
        parse_time_interval("CreatedUtc", start, utc(2025, 5, 1, 3, 0, 1))


def test_parse_time_interval_honours_a_custom_month_limit() -> None:
    assert parse_time_interval("CreatedUtc", utc(2025, 1, 1), utc(2025, 7, 1), max_months=6)
    with pytest.raises(InvalidInput):
        parse_time_interval("CreatedUtc", utc(2025, 1, 1), utc(2025, 2, 1, 0, 0, 1), max_months=1)


def test_parse_time_interval_accepts_a_short_interval_in_december_9999() -> None:
    """One day long, so within three months, even though Start + 3 months is past year 9999."""
    parsed = parse_time_interval("CreatedUtc", utc(9999, 12, 1), utc(9999, 12, 2))
    assert parsed == TimeInterval(utc(9999, 12, 1), utc(9999, 12, 2))


# --- build_item_query ----------------------------------------------------------------------

ONE_DAY = TimeInterval(utc(2025, 1, 1), utc(2025, 1, 2))
ID = uuid.UUID("6f9619ff-8b86-4011-b42d-00c04fc964ff")
QUALIFYING_ARGUMENTS = {
    "OrderItemIds": {"order_item_ids": [ID]},
    "AccountIds": {"account_ids": [ID]},
    "ServiceOrderIds": {"service_order_ids": [ID]},
    "ServiceIds": {"service_ids": [ID]},
    "BillIds": {"bill_ids": [ID]},
    "CreatedUtc": {"created": ONE_DAY},
    "UpdatedUtc": {"updated": ONE_DAY},
    "ClosedUtc": {"closed": ONE_DAY},
}
NON_QUALIFYING_ARGUMENTS = {
    "nothing": {},
    "ConsumedUtc": {"consumed": ONE_DAY},
    "CanceledUtc": {"canceled": ONE_DAY},
    "AccountingStates": {"accounting_states": list(AccountingState)},
    "Types": {"types": [OrderItemType.SPACE_ORDER]},
    "all-non-qualifying": {
        "consumed": ONE_DAY,
        "canceled": ONE_DAY,
        "accounting_states": [AccountingState.OPEN],
        "types": [OrderItemType.CITY_TAX],
    },
}


def test_the_qualifying_filters_are_the_documented_eight() -> None:
    assert set(QUALIFYING_FILTERS) == set(QUALIFYING_ARGUMENTS)


@pytest.mark.parametrize("name", QUALIFYING_ARGUMENTS)
def test_each_qualifying_filter_alone_builds_a_query(name: str) -> None:
    built = build_item_query(**QUALIFYING_ARGUMENTS[name])  # type: ignore[arg-type]
    assert isinstance(built, ItemQuery)


@pytest.mark.parametrize("name", NON_QUALIFYING_ARGUMENTS)
def test_a_query_without_a_qualifying_filter_is_refused_naming_them(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        build_item_query(**NON_QUALIFYING_ARGUMENTS[name])  # type: ignore[arg-type]
    for filter_name in QUALIFYING_FILTERS:
        assert filter_name in refused.value.message


def test_account_ids_do_not_qualify_when_the_setting_removes_them() -> None:
    without_accounts = tuple(f for f in QUALIFYING_FILTERS if f != "AccountIds")
    with pytest.raises(InvalidInput) as refused:
        build_item_query(account_ids=[ID], qualifying=without_accounts)
    assert "AccountIds" not in refused.value.message
    assert build_item_query(account_ids=[ID], service_ids=[ID], qualifying=without_accounts)


def test_build_item_query_keeps_each_filter_and_collapses_duplicates() -> None:
    other = uuid.uuid4()
    built = build_item_query(
        order_item_ids=[ID, ID, other],
        bill_ids=(i for i in [ID]),
        consumed=ONE_DAY,
        accounting_states=[AccountingState.OPEN, AccountingState.OPEN],
        types=[OrderItemType.SPACE_ORDER, OrderItemType.CITY_TAX],
    )
    assert built == ItemQuery(
        order_item_ids=frozenset({ID, other}),
        bill_ids=frozenset({ID}),
        consumed=ONE_DAY,
        accounting_states=frozenset({AccountingState.OPEN}),
        types=frozenset({OrderItemType.SPACE_ORDER, OrderItemType.CITY_TAX}),
    )


def test_build_item_query_leaves_filters_not_given_as_none() -> None:
    built = build_item_query(created=ONE_DAY)
    assert built.created == ONE_DAY
    others = (
        built.order_item_ids,
        built.account_ids,
        built.service_order_ids,
        built.service_ids,
        built.bill_ids,
        built.updated,
        built.consumed,
        built.canceled,
        built.closed,
        built.accounting_states,
        built.types,
    )
    assert others == (None,) * len(others)


@given(st.sets(st.uuids(), min_size=1, max_size=20), st.integers(min_value=1, max_value=3))
def test_build_item_query_ids_are_the_set_of_the_given_ids(
    ids: set[uuid.UUID], copies: int
) -> None:
    built = build_item_query(service_ids=list(ids) * copies)
    assert built.service_ids == frozenset(ids)


# --- the interval limit in days (ORDERITEMS_INTERVAL_LIMIT=days:N) --------------------------


def test_parse_time_interval_counts_days_under_a_days_limit() -> None:
    days = IntervalLimit.parse("days:90")
    start = utc(2025, 1, 31)
    assert parse_time_interval("UpdatedUtc", start, utc(2025, 5, 1), limit=days).end == utc(
        2025, 5, 1
    )
    with pytest.raises(InvalidInput, match="90 days"):
        parse_time_interval("UpdatedUtc", start, utc(2025, 5, 1, 0, 0, 1), limit=days)
    with pytest.raises(InvalidInput, match="3 months"):
        parse_time_interval("UpdatedUtc", start, utc(2025, 5, 1))


@given(moments)
def test_days_92_accepts_every_interval_the_calendar_rule_accepts(start: datetime) -> None:
    """Three calendar months are at most 92 days (Jul to Sep, Oct to Dec), so ``days:92`` is a
    loosening: no client that keeps to the calendar rule is refused by it."""
    end = add_months(start, MAX_INTERVAL_MONTHS)
    assert parse_time_interval("CreatedUtc", start, end, limit=IntervalLimit.parse("days:92"))


@pytest.mark.parametrize("text", ["calendar", "days:1", "days:92", "days:9999"])
def test_an_interval_limit_reads_back_as_written(text: str) -> None:
    assert str(IntervalLimit.parse(text)) == text


@pytest.mark.parametrize("text", ["", "days", "days:0", "days:10000", "days:+5", "months:3"])
def test_a_malformed_interval_limit_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="calendar"):
        IntervalLimit.parse(text)
