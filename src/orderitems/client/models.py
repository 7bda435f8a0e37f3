"""Typed responses of the three operations, tolerant of what the API adds later.

Enumerations are plain ``str`` (constants in ``enums``), and every model keeps the properties it
does not know in ``extra``, so a new property or value never breaks a running integration and
``to_wire`` gives back the document as it arrived. Money is ``Decimal``, parsed from the JSON
number's text, so no cent is lost to binary floating point.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import msgspec

UtcDateTime = Annotated[datetime, msgspec.Meta(tz=True)]


class Model(msgspec.Struct, rename="pascal", frozen=True, kw_only=True):
    """PascalCase on the wire; ``extra`` holds the properties this version does not know."""

    extra: dict[str, Any] = msgspec.field(default_factory=dict, name="$extra")


class TaxValue(Model, frozen=True, kw_only=True):
    code: str | None = None
    value: Decimal


class TaxBreakdownItem(Model, frozen=True, kw_only=True):
    tax_rate_code: str | None = None
    net_value: Decimal
    tax_value: Decimal


class TaxBreakdown(Model, frozen=True, kw_only=True):
    items: list[TaxBreakdownItem]


class Amount(Model, frozen=True, kw_only=True):
    """Gross = net + the tax values; ``breakdown`` lists the tax per rate."""

    currency: str
    net_value: Decimal
    gross_value: Decimal
    tax_values: list[TaxValue]
    breakdown: TaxBreakdown


class OrderItemOptions(Model, frozen=True, kw_only=True):
    canceled_with_reservation: bool


class RebateData(Model, frozen=True, kw_only=True):
    product_id: uuid.UUID | None = None
    rebated_item_id: uuid.UUID | None = None


class ProductData(Model, frozen=True, kw_only=True):
    product_id: uuid.UUID
    age_category_id: uuid.UUID | None = None
    product_type: str | None = None


class AllowanceDiscountData(Model, frozen=True, kw_only=True):
    discounted_order_item_id: uuid.UUID
    allowance_product_order_item_id: uuid.UUID


class AllowanceProfitsData(Model, frozen=True, kw_only=True):
    allowance_product_order_item_id: uuid.UUID
    allowance_profit_type: str


class OrderItemData(Model, frozen=True, kw_only=True):
    """A discriminator plus one filled branch; the other branches are None."""

    discriminator: str | None = None
    rebate: RebateData | None = None
    product: ProductData | None = None
    allowance_discount: AllowanceDiscountData | None = None
    allowance_profits: AllowanceProfitsData | None = None


class OrderItem(Model, frozen=True, kw_only=True):
    """One order item as ``orderItems/getAll`` returns it (the official ``OrderItem``)."""

    id: uuid.UUID
    enterprise_id: uuid.UUID
    account_id: uuid.UUID | None = None
    account_type: str | None = None
    service_id: uuid.UUID
    service_order_id: uuid.UUID
    notes: str | None = None
    bill_id: uuid.UUID | None = None
    accounting_category_id: uuid.UUID | None = None
    billing_name: str | None = None
    external_identifier: str | None = None
    unit_count: int
    unit_amount: Amount
    amount: Amount
    original_amount: Amount
    revenue_type: str
    creator_profile_id: uuid.UUID
    updater_profile_id: uuid.UUID
    created_utc: UtcDateTime
    updated_utc: UtcDateTime
    consumed_utc: UtcDateTime
    canceled_utc: UtcDateTime | None = None
    closed_utc: UtcDateTime | None = None
    start_utc: UtcDateTime | None = None
    claimed_utc: UtcDateTime | None = None
    accounting_state: str
    type: str
    options: OrderItemOptions
    data: OrderItemData | None = None
    tax_exemption_reason: str | None = None
    tax_exemption_legal_reference: str | None = None


class OrderItemPage(Model, frozen=True, kw_only=True):
    """One getAll answer. ``cursor`` is None only when ``order_items`` is empty."""

    order_items: list[OrderItem]
    cursor: uuid.UUID | None = None


class ExtendedAmount(Amount, frozen=True, kw_only=True):
    """The legacy amount: an ``Amount`` plus the deprecated ``Value/Net/Tax/TaxRate``."""

    value: Decimal | None = None
    net: Decimal | None = None
    tax: Decimal | None = None
    tax_rate: Decimal | None = None


class LegacyOrderItemData(Model, frozen=True, kw_only=True):
    """The legacy coproduct ``{Discriminator, Value}``; ``value`` is kept as the raw object."""

    discriminator: str | None = None
    value: dict[str, Any] | None = None


class LegacyOrderItem(Model, frozen=True, kw_only=True):
    """``OrderItemOld`` of ``reservations/getAllItems``: ``order_id`` is the reservation."""

    id: uuid.UUID
    account_id: uuid.UUID | None = None
    order_id: uuid.UUID
    bill_id: uuid.UUID | None = None
    accounting_category_id: uuid.UUID | None = None
    unit_count: int | None = None
    unit_amount: Amount | None = None
    amount: ExtendedAmount
    original_amount: ExtendedAmount | None = None
    revenue_type: str
    creator_profile_id: uuid.UUID | None = None
    updater_profile_id: uuid.UUID | None = None
    created_utc: UtcDateTime | None = None
    updated_utc: UtcDateTime | None = None
    consumed_utc: UtcDateTime | None = None
    canceled_utc: UtcDateTime | None = None
    closed_utc: UtcDateTime | None = None
    start_utc: UtcDateTime | None = None
    accounting_state: str
    data: LegacyOrderItemData | None = None


class AccountingItem(Model, frozen=True, kw_only=True):
    """The legacy ``AccountingItem``: every property optional, times kept as sent."""

    id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    service_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    bill_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    accounting_category_id: uuid.UUID | None = None
    credit_card_id: uuid.UUID | None = None
    type: str | None = None
    sub_type: str | None = None
    name: str | None = None
    notes: str | None = None
    consumption_utc: str | None = None
    closed_utc: str | None = None
    state: str | None = None
    sub_state: str | None = None
    amount: ExtendedAmount | None = None
    tax_exemption_reason_code: str | None = None


class ReservationItems(Model, frozen=True, kw_only=True):
    """One reservation of ``reservations/getAllItems`` with its items in both legacy shapes."""

    reservation_id: uuid.UUID | None = None
    items: list[AccountingItem] = msgspec.field(default_factory=list)
    order_items: list[LegacyOrderItem] = msgspec.field(default_factory=list)


class ReservationItemsResult(Model, frozen=True, kw_only=True):
    reservations: list[ReservationItems]


ModelT = TypeVar("ModelT", bound=Model)

_EXTRA = "extra"


def load(model: type[ModelT], raw: Any) -> ModelT:
    """Convert a decoded JSON document into ``model``, keeping unknown properties in ``extra``.

    Raises ``msgspec.ValidationError`` when a known property has the wrong shape.
    """
    result = msgspec.convert(raw, model)
    _attach_extras(result, raw)
    return result


def _attach_extras(value: Any, raw: Any) -> None:
    if isinstance(value, Model) and isinstance(raw, dict):
        names = dict(zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True))
        known = set(names.values())
        extra = {k: v for k, v in raw.items() if k not in known}
        if extra:
            msgspec.structs.force_setattr(value, _EXTRA, extra)
        for attribute, encoded in names.items():
            if attribute != _EXTRA and encoded in raw:
                _attach_extras(getattr(value, attribute), raw[encoded])
    elif isinstance(value, list) and isinstance(raw, list):
        for child, raw_child in zip(value, raw, strict=False):
            _attach_extras(child, raw_child)


def to_wire(value: Any) -> Any:
    """The JSON-ready document of a model: PascalCase names, unknown properties put back.

    Ids become strings and times ``...Z`` strings; ``Decimal`` stays ``Decimal`` (encode with
    ``decimal_format="number"`` to write JSON numbers).
    """
    if isinstance(value, Model):
        document: dict[str, Any] = {}
        for attribute, encoded in zip(
            value.__struct_fields__, value.__struct_encode_fields__, strict=True
        ):
            if attribute != _EXTRA:
                document[encoded] = to_wire(getattr(value, attribute))
        document.update(value.extra)
        return document
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, uuid.UUID | datetime):
        return msgspec.to_builtins(value)
    return value
