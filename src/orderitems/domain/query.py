"""What ``orderItems/getAll`` asks for, and the rules a request must pass
(docs/behaviour.md#filters)."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orderitems.domain.errors import InvalidInput
from orderitems.domain.filters import (
    CALENDAR_MONTHS,
    FILTERS_BY_FIELD,
    MAX_INTERVAL_MONTHS,
    FilterKind,
    IntervalLimit,
    qualifying_filters,
)
from orderitems.domain.items import AccountingState, OrderItemType

#: ``Limitation.Count`` lies in 1..MAX_PAGE_SIZE (docs/behaviour.md#limits).
MAX_PAGE_SIZE = 1000

#: Filters that satisfy "at least one filter" by default (docs/behaviour.md#filters).
QUALIFYING_FILTERS = qualifying_filters()


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months with the day clamped to the month's end: Jan 31 + 3 months = Apr 30."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """StartUtc <= t < EndUtc, or t == StartUtc when equal (docs/behaviour.md#intervals)."""

    start: datetime
    end: datetime

    @property
    def is_instant(self) -> bool:
        return self.start == self.end

    def contains(self, moment: datetime | None) -> bool:
        """A null timestamp never matches."""
        if moment is None:
            return False
        if self.is_instant:
            return moment == self.start
        return self.start <= moment < self.end


def parse_time_interval(
    name: str,
    start: datetime | None,
    end: datetime | None,
    *,
    max_months: int = MAX_INTERVAL_MONTHS,
    limit: IntervalLimit = CALENDAR_MONTHS,
) -> TimeInterval:
    """Both ends required, Start <= End, at most ``max_months`` calendar months long, or
    ``limit.days`` days when the limit counts days (docs/behaviour.md#intervals)."""
    if start is None or end is None:
        missing = "StartUtc" if start is None else "EndUtc"
        raise InvalidInput(f"Invalid {name}: {name}.{missing} is required.", field=name)
    try:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"Invalid {name}: the time lies outside the years 1 to 9999 in UTC.", field=name
        ) from None
    if start > end:
        raise InvalidInput(
            f"Invalid {name}: {name}.StartUtc must not be after {name}.EndUtc.", field=name
        )
    length = f"{max_months} months" if limit.days is None else f"{limit.days} days"
    try:
        if limit.days is None:
            latest_end = add_months(start, max_months)
        else:
            latest_end = start + timedelta(days=limit.days)
    except (ValueError, OverflowError):  # past 9999-12-31: no end the calendar holds is too far
        return TimeInterval(start, end)
    if end > latest_end:
        raise InvalidInput(
            f"Invalid {name}: the interval must not be longer than {length}"
            f" (EndUtc at most {latest_end.isoformat()}).",
            field=name,
        )
    return TimeInterval(start, end)


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """A validated getAll filter: AND across properties, OR within one (None means not given)."""

    order_item_ids: frozenset[uuid.UUID] | None = None
    account_ids: frozenset[uuid.UUID] | None = None
    service_order_ids: frozenset[uuid.UUID] | None = None
    service_ids: frozenset[uuid.UUID] | None = None
    bill_ids: frozenset[uuid.UUID] | None = None
    created: TimeInterval | None = None
    updated: TimeInterval | None = None
    consumed: TimeInterval | None = None
    canceled: TimeInterval | None = None
    closed: TimeInterval | None = None
    accounting_states: frozenset[AccountingState] | None = None
    types: frozenset[OrderItemType] | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``Limitation``: how many, and the id of the item just before the page
    (docs/behaviour.md#order-and-cursor)."""

    count: int
    cursor: uuid.UUID | None = None


#: A filter's value as given: ids or enum values in any iterable, or an interval.
FilterValue = Iterable[uuid.UUID] | Iterable[str] | TimeInterval | None


def build_item_query(
    *, qualifying: tuple[str, ...] = QUALIFYING_FILTERS, **given: FilterValue
) -> ItemQuery:
    """Build the query from ``ItemQuery`` field names (domain/filters.py), refusing one with
    none of the ``qualifying`` filters (docs/behaviour.md#filters); an empty ``qualifying`` (the
    console's data browser) requires none. Lists become sets."""
    values: dict[str, object] = {}
    for name, value in given.items():
        if name not in FILTERS_BY_FIELD:
            raise TypeError(f"build_item_query() got an unknown filter {name!r}")
        if value is None or FILTERS_BY_FIELD[name].kind is FilterKind.INTERVAL:
            values[name] = value
        else:
            assert not isinstance(value, TimeInterval)
            values[name] = frozenset(value)
    query = ItemQuery(**values)  # type: ignore[arg-type]
    if qualifying and not any(
        getattr(query, f.field) is not None
        for f in FILTERS_BY_FIELD.values()
        if f.wire in qualifying
    ):
        raise InvalidInput(
            "Invalid request: at least one of the filters "
            + ", ".join(qualifying)
            + " must be specified."
        )
    return query
