"""Request bodies, and how one unlimited question becomes requests the API accepts.

The API caps each time filter at 3 calendar months (a server may count days instead:
``interval_limit="days:N"``) and each id list at 1000 (``AccountIds`` 100).
``plan_requests`` splits an ``OrderItemFilter`` of any size into the product of consecutive
windows and id chunks. Windows are half-open and chained, ``[s0, s1), [s1, s2)``,
which is exactly how the API reads ``StartUtc <= t < EndUtc``: an item at a boundary falls in
one window only, and none falls between two.
"""

from __future__ import annotations

import calendar
import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec

MAX_MONTHS = 3
MAX_IDS = 1000
MAX_ACCOUNT_IDS = 100
MAX_VALUES = 1000
MAX_CANCEL_IDS = 10
MAX_COUNT = 1000


@dataclass(frozen=True, slots=True)
class FilterLimit:
    """One getAll filter as the API bounds it: ``kind`` is ``ids``, ``interval`` or ``values``;
    ``qualifies`` is ``yes``, ``no`` or ``by-setting`` (alone it satisfies "at least one
    filter": always, never, or unless the server turned ``AccountIds`` off)."""

    wire: str
    kind: str
    max_items: int | None
    max_months: int | None
    qualifies: str

    @property
    def attribute(self) -> str:
        """The ``OrderItemFilter`` and ``GetAllRequest`` field of this filter."""
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in self.wire).lstrip("_")


#: The SDK's own copy of the server's filter table, so the SDK stands alone; a test checks
#: that it equals the server's and the contract's limits.
GET_ALL_FILTERS = (
    FilterLimit("OrderItemIds", "ids", MAX_IDS, None, "yes"),
    FilterLimit("AccountIds", "ids", MAX_ACCOUNT_IDS, None, "by-setting"),
    FilterLimit("ServiceOrderIds", "ids", MAX_IDS, None, "yes"),
    FilterLimit("ServiceIds", "ids", MAX_IDS, None, "yes"),
    FilterLimit("BillIds", "ids", MAX_IDS, None, "yes"),
    FilterLimit("CreatedUtc", "interval", None, MAX_MONTHS, "yes"),
    FilterLimit("UpdatedUtc", "interval", None, MAX_MONTHS, "yes"),
    FilterLimit("ConsumedUtc", "interval", None, MAX_MONTHS, "no"),
    FilterLimit("CanceledUtc", "interval", None, MAX_MONTHS, "no"),
    FilterLimit("ClosedUtc", "interval", None, MAX_MONTHS, "yes"),
    FilterLimit("AccountingStates", "values", MAX_VALUES, None, "no"),
    FilterLimit("Types", "values", MAX_VALUES, None, "no"),
)

T = TypeVar("T")

#: ``(start, end)``: a half-open period ``start <= t < end``, or the instant ``start == end``.
Period = tuple[datetime, datetime]


class Wire(msgspec.Struct, rename="pascal", frozen=True, kw_only=True, omit_defaults=True):
    """PascalCase on the wire; unset filters are left out of the body."""


class TimeFilter(Wire, frozen=True, kw_only=True):
    """``TimeFilterInterval``: at most 3 months; start == end matches that instant only."""

    start_utc: datetime
    end_utc: datetime


class Limitation(Wire, frozen=True, kw_only=True):
    """The page size, and the cursor, which goes here and not at the top of the body."""

    count: int
    cursor: uuid.UUID | None = None


class GetAllRequest(Wire, frozen=True, kw_only=True):
    """One ``orderItems/getAll`` body within every API limit (the envelope is added on send)."""

    limitation: Limitation
    enterprise_ids: tuple[uuid.UUID, ...] | None = None
    order_item_ids: tuple[uuid.UUID, ...] | None = None
    account_ids: tuple[uuid.UUID, ...] | None = None
    service_order_ids: tuple[uuid.UUID, ...] | None = None
    service_ids: tuple[uuid.UUID, ...] | None = None
    bill_ids: tuple[uuid.UUID, ...] | None = None
    created_utc: TimeFilter | None = None
    updated_utc: TimeFilter | None = None
    consumed_utc: TimeFilter | None = None
    canceled_utc: TimeFilter | None = None
    closed_utc: TimeFilter | None = None
    currency: str | None = None
    accounting_states: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None


class CancelRequest(Wire, frozen=True, kw_only=True):
    """One ``orderItems/cancel`` body: 1 to 10 ids; ``enterprise_id`` for portfolio tokens."""

    order_item_ids: tuple[uuid.UUID, ...]
    enterprise_id: uuid.UUID | None = None


class GetAllItemsRequest(Wire, frozen=True, kw_only=True):
    """One ``reservations/getAllItems`` body: 1 to 1000 reservation ids."""

    reservation_ids: tuple[uuid.UUID, ...]
    currency: str | None = None
    accounting_states: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderItemFilter:
    """What to fetch, with no size limits: AND across fields, OR within one list.

    Time fields are ``(start, end)`` periods of any length (timezone-aware datetimes).
    """

    enterprise_ids: Sequence[uuid.UUID] | None = None
    order_item_ids: Sequence[uuid.UUID] | None = None
    account_ids: Sequence[uuid.UUID] | None = None
    service_order_ids: Sequence[uuid.UUID] | None = None
    service_ids: Sequence[uuid.UUID] | None = None
    bill_ids: Sequence[uuid.UUID] | None = None
    created_utc: Period | None = None
    updated_utc: Period | None = None
    consumed_utc: Period | None = None
    canceled_utc: Period | None = None
    closed_utc: Period | None = None
    currency: str | None = None
    accounting_states: Sequence[str] | None = None
    types: Sequence[str] | None = None


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, day clamped to the month's end (Jan 31 + 3 = Apr 30), as the API counts."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, _days_in(year, month)))


def _days_in(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (use datetime(..., tzinfo=UTC))")
    return moment.astimezone(UTC)


def interval_days(interval_limit: str) -> int | None:
    """The server's interval rule, as its ``ORDERITEMS_INTERVAL_LIMIT`` says: ``calendar``
    (None: 3 calendar months, as Mews documents) or ``days:N`` (at most N days)."""
    if interval_limit == "calendar":
        return None
    kind, _, number = interval_limit.partition(":")
    if kind == "days" and number.isdigit() and int(number) >= 1:
        return int(number)
    raise ValueError(f"interval_limit is 'calendar' or 'days:N', not {interval_limit!r}")


def split_period(
    start: datetime, end: datetime, *, months: int = MAX_MONTHS, days: int | None = None
) -> list[TimeFilter]:
    """Consecutive half-open windows of at most ``months`` calendar months (or ``days`` days,
    when given) covering the period.

    Each window starts where the previous one ended, so together they match exactly what the
    one long filter would. ``start == end`` stays a single instant filter.
    """
    start, end = _utc(start, "start"), _utc(end, "end")
    if start > end:
        raise ValueError(f"the period starts ({start}) after it ends ({end})")
    if start == end:
        return [TimeFilter(start_utc=start, end_utc=end)]
    windows: list[TimeFilter] = []
    while start < end:
        try:
            longest = add_months(start, months) if days is None else start + timedelta(days=days)
            stop = min(longest, end)
        except (ValueError, OverflowError):  # past year 9999: whatever is left fits
            stop = end
        windows.append(TimeFilter(start_utc=start, end_utc=stop))
        start = stop
    return windows


def chunked(values: Iterable[T], size: int) -> list[tuple[T, ...]]:
    """Distinct values, first occurrence kept, in tuples of at most ``size``."""
    distinct = list(dict.fromkeys(values))
    return [tuple(distinct[i : i + size]) for i in range(0, len(distinct), size)]


def _ids(values: Sequence[uuid.UUID] | None, size: int) -> list[tuple[uuid.UUID, ...] | None]:
    if values is None:
        return [None]
    if not values:
        raise ValueError("an id filter was given as an empty list; pass None to leave it out")
    return list(chunked(values, size))


def _distinct(values: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(dict.fromkeys(values))


def _windows(
    period: Period | None, months: int | None, days: int | None
) -> list[TimeFilter | None]:
    assert months is not None
    return [None] if period is None else list(split_period(*period, months=months, days=days))


def plan_requests(
    query: OrderItemFilter, *, page_size: int = MAX_COUNT, interval_limit: str = "calendar"
) -> list[GetAllRequest]:
    """Every getAll request needed to answer ``query``, each within the API's limits.

    ``interval_limit`` is the server's interval rule: ``calendar`` (Mews) windows of 3 calendar
    months, ``days:N`` windows of N days.

    The product of time windows (chronological) and id chunks partitions the question, so each
    matching item is answered by exactly one request, unless it changes while being fetched.
    """
    if not 1 <= page_size <= MAX_COUNT:
        raise ValueError(f"page_size must be 1..{MAX_COUNT}, not {page_size}")
    days = interval_days(interval_limit)
    intervals = [f for f in GET_ALL_FILTERS if f.kind == "interval"]
    listed = [f for f in GET_ALL_FILTERS if f.kind == "ids"]
    windows = itertools.product(
        *(_windows(getattr(query, f.attribute), f.max_months, days) for f in intervals)
    )
    chunks = itertools.product(
        _ids(query.enterprise_ids, MAX_IDS),
        *(_ids(getattr(query, f.attribute), f.max_items or MAX_IDS) for f in listed),
    )
    fixed = {
        f.attribute: _distinct(getattr(query, f.attribute))
        for f in GET_ALL_FILTERS
        if f.kind == "values"
    }
    requests = []
    for periods, (enterprises, *ids) in itertools.product(windows, list(chunks)):
        filters: dict[str, Any] = dict(fixed)
        filters.update(zip((f.attribute for f in intervals), periods, strict=True))
        filters.update(zip((f.attribute for f in listed), ids, strict=True))
        requests.append(
            GetAllRequest(
                limitation=Limitation(count=page_size),
                enterprise_ids=enterprises,
                currency=query.currency,
                **filters,
            )
        )
    return requests
