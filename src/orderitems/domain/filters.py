"""The getAll filters, declared once (docs/behaviour.md#filters).

Everything else derives from this table: the request's array limits (api/wire.py), building an
``ItemQuery`` (domain/query.py), the "at least one filter" rule, and the SQL condition each
filter becomes (store/page_plan.py). Adding a filter is one entry here, its ``ItemQuery``
field, and the index that serves it. The client SDK keeps its own copy
(client/queries.py ``GET_ALL_FILTERS``), tied to this one and to the contract by a test.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from orderitems.domain.items import AccountingState, OrderItemType

#: The most ids one id filter, ``EnterpriseIds`` or ``ReservationIds`` may list (contract).
MAX_IDS = 1000
#: ``AccountIds`` lists at most this many (contract).
MAX_ACCOUNT_IDS = 100
#: The most values one ``AccountingStates`` or ``Types`` filter may list (contract).
MAX_VALUES = 1000
#: The longest time filter, in calendar months (contract ``x-max-interval-in-months``).
MAX_INTERVAL_MONTHS = 3
#: The longest ``days:N`` the interval setting accepts (about 27 years; any longer is a typo).
MAX_INTERVAL_DAYS = 9999


@dataclass(frozen=True, slots=True)
class IntervalLimit:
    """How long a time filter may be (docs/behaviour.md#intervals): ``calendar`` months with the
    day clamped (the default, the contract's ``x-max-interval-in-months``), or ``days:N``
    (chosen for clients that walk fixed-length windows; the contract does not say how Mews
    measures)."""

    months: int = MAX_INTERVAL_MONTHS
    days: int | None = None

    @classmethod
    def parse(cls, text: str) -> IntervalLimit:
        """``calendar`` or ``days:N`` (N in 1..MAX_INTERVAL_DAYS); anything else is a ValueError."""
        if text == "calendar":
            return cls()
        kind, _, number = text.partition(":")
        if kind == "days" and number.isdigit() and 1 <= int(number) <= MAX_INTERVAL_DAYS:
            return cls(days=int(number))
        raise ValueError(
            f"the interval limit is 'calendar' or 'days:N' (N 1..{MAX_INTERVAL_DAYS}), not {text!r}"
        )

    def __str__(self) -> str:
        return "calendar" if self.days is None else f"days:{self.days}"


CALENDAR_MONTHS = IntervalLimit()


class FilterKind(enum.Enum):
    """How a filter matches: an id among the listed ids, a time within the interval, or a
    value among the listed enum values."""

    IDS = "ids"
    INTERVAL = "interval"
    VALUES = "values"


class Qualifies(enum.Enum):
    """Whether a filter alone satisfies "at least one filter" (docs/behaviour.md#filters)."""

    YES = "yes"
    NO = "no"
    #: Only while ``Settings.account_ids_qualify`` is on (the default).
    BY_SETTING = "by-setting"


@dataclass(frozen=True, slots=True, kw_only=True)
class Filter:
    """One getAll filter: its property, its ``ItemQuery`` field and the column it compares."""

    wire: str
    field: str
    kind: FilterKind
    column: str
    qualifies: Qualifies = Qualifies.NO
    #: The array maximum (``IDS`` and ``VALUES``).
    max_items: int | None = None
    #: The longest interval in calendar months (``INTERVAL``).
    max_months: int | None = None
    #: The enum the listed values belong to (``VALUES``).
    values: type[enum.StrEnum] | None = None

    @property
    def wire_attribute(self) -> str:
        """The snake_case attribute msgspec's ``rename="pascal"`` turns into ``wire``."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.wire).lower()


def _ids(wire: str, field: str, column: str, qualifies: Qualifies, most: int = MAX_IDS) -> Filter:
    return Filter(
        wire=wire,
        field=field,
        kind=FilterKind.IDS,
        column=column,
        qualifies=qualifies,
        max_items=most,
    )


def _interval(wire: str, field: str, qualifies: Qualifies) -> Filter:
    return Filter(
        wire=wire,
        field=field,
        kind=FilterKind.INTERVAL,
        column=f"{field}_us",
        qualifies=qualifies,
        max_months=MAX_INTERVAL_MONTHS,
    )


def _values(wire: str, field: str, column: str, values: type[enum.StrEnum]) -> Filter:
    return Filter(
        wire=wire,
        field=field,
        kind=FilterKind.VALUES,
        column=column,
        max_items=MAX_VALUES,
        values=values,
    )


_YES, _NO = Qualifies.YES, Qualifies.NO

#: In the order the store writes their conditions: id filters, then intervals, then values.
GET_ALL_FILTERS: tuple[Filter, ...] = (
    _ids("OrderItemIds", "order_item_ids", "id", _YES),
    _ids("AccountIds", "account_ids", "account_id", Qualifies.BY_SETTING, MAX_ACCOUNT_IDS),
    _ids("ServiceOrderIds", "service_order_ids", "service_order_id", _YES),
    _ids("ServiceIds", "service_ids", "service_id", _YES),
    _ids("BillIds", "bill_ids", "bill_id", _YES),
    _interval("CreatedUtc", "created", _YES),
    _interval("UpdatedUtc", "updated", _YES),
    _interval("ConsumedUtc", "consumed", _NO),
    _interval("CanceledUtc", "canceled", _NO),
    _interval("ClosedUtc", "closed", _YES),
    _values("AccountingStates", "accounting_states", "accounting_state", AccountingState),
    _values("Types", "types", "type", OrderItemType),
)

FILTERS_BY_FIELD = {f.field: f for f in GET_ALL_FILTERS}


def qualifying_filters(*, account_ids_qualify: bool = True) -> tuple[str, ...]:
    """The property names of which a request must give at least one (docs/behaviour.md#filters);
    ``account_ids_qualify`` is the setting that drops ``AccountIds`` from them."""
    accepted = {Qualifies.YES, Qualifies.BY_SETTING} if account_ids_qualify else {Qualifies.YES}
    return tuple(f.wire for f in GET_ALL_FILTERS if f.qualifies in accepted)
