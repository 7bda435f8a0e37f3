"""The legacy shapes of ``reservations/getAllItems`` (docs/behaviour.md#legacy-operation).

An order item is projected twice: as ``OrderItemOld`` (``OrderId``, ``ExtendedAmount``, and
``Data`` as a ``{Discriminator, Value}`` coproduct with the legacy type names) and as the 2019
accounting item. docs/legacy-mapping.md explains every choice made here.
"""

from __future__ import annotations

import enum
import uuid
from decimal import Decimal

from orderitems.domain.amounts import Amount, TaxBreakdown, TaxValue
from orderitems.domain.conversion import minor_units
from orderitems.domain.items import (
    AccountType,
    OrderItem,
    OrderItemType,
    RevenueType,
    Struct,
    UtcDateTime,
)


class OrderItemTypeOld(enum.StrEnum):
    """``OrderItemTypeOld``: the discriminator of the legacy ``Data``."""

    CANCELLATION_FEE = "CancellationFee"
    REBATE = "Rebate"
    DEPOSIT = "Deposit"
    EXCHANGE_RATE_DIFFERENCE = "ExchangeRateDifference"
    CUSTOM_ITEM = "CustomItem"
    SURCHARGE = "Surcharge"
    SURCHARGE_DISCOUNT = "SurchargeDiscount"
    SPACE_ORDER = "SpaceOrder"
    PRODUCT_ORDER = "ProductOrder"
    OTHER = "Other"
    TAX_CORRECTION = "TaxCorrection"
    RESOURCE_UPGRADE_FEE = "ResourceUpgradeFee"
    INVOICE_FEE = "InvoiceFee"


_T, _O = OrderItemType, OrderItemTypeOld

#: New ``Type`` -> legacy discriminator. No source gives it
#: (docs/legacy-mapping.md#datadiscriminator-type--orderitemtypeold):
#: the three rebate types are ``Rebate``; types that have no legacy name are ``Other``.
LEGACY_TYPES: dict[OrderItemType, OrderItemTypeOld] = {
    _T.CANCELLATION_FEE: _O.CANCELLATION_FEE,
    _T.NIGHT_REBATE: _O.REBATE,
    _T.PRODUCT_ORDER_REBATE: _O.REBATE,
    _T.ADDITIONAL_EXPENSE_REBATE: _O.REBATE,
    _T.DEPOSIT: _O.DEPOSIT,
    _T.EXCHANGE_RATE_DIFFERENCE: _O.EXCHANGE_RATE_DIFFERENCE,
    _T.CUSTOM_ITEM: _O.CUSTOM_ITEM,
    _T.SERVICE_CHARGE: _O.OTHER,
    _T.CITY_TAX: _O.OTHER,
    _T.CITY_TAX_DISCOUNT: _O.OTHER,
    _T.SPACE_ORDER: _O.SPACE_ORDER,
    _T.PRODUCT_ORDER: _O.PRODUCT_ORDER,
    _T.SURCHARGE: _O.SURCHARGE,
    _T.TAX_CORRECTION: _O.TAX_CORRECTION,
    _T.RESOURCE_UPGRADE_FEE: _O.RESOURCE_UPGRADE_FEE,
    _T.INVOICE_FEE: _O.INVOICE_FEE,
    _T.MULTICURRENCY_FEE: _O.OTHER,
    _T.ALLOWANCE_DISCOUNT: _O.OTHER,
    _T.ALLOWANCE_BREAKAGE: _O.OTHER,
    _T.ALLOWANCE_CONTRA_BREAKAGE: _O.OTHER,
}

#: ``RevenueType`` -> the 2019 accounting item ``Type``.
ACCOUNTING_ITEM_TYPES: dict[RevenueType, str] = {
    RevenueType.SERVICE: "ServiceRevenue",
    RevenueType.PRODUCT: "ProductRevenue",
    RevenueType.ADDITIONAL: "AdditionalRevenue",
}

#: The most decimals a recovered legacy ``TaxRate`` is given (0.1495 needs four).
TAX_RATE_DECIMALS = 6


class ExtendedAmount(Struct, frozen=True, kw_only=True):
    """``ExtendedAmount``: the Amount plus the deprecated ``Value/Net/Tax/TaxRate``."""

    currency: str
    net_value: Decimal
    gross_value: Decimal
    tax_values: list[TaxValue]
    breakdown: TaxBreakdown
    value: Decimal | None
    net: Decimal | None
    tax: Decimal | None
    tax_rate: Decimal | None


class RebateValue(Struct, frozen=True):
    """``RebateOrderItemData``."""

    rebated_item_id: uuid.UUID


class ProductValue(Struct, frozen=True):
    """``ProductOrderItemData``."""

    product_id: uuid.UUID
    age_category_id: uuid.UUID | None = None


class LegacyData(Struct, frozen=True):
    """The legacy coproduct: ``Value`` is null for discriminators without additional data."""

    discriminator: OrderItemTypeOld
    value: RebateValue | ProductValue | None


class OrderItemOld(Struct, frozen=True, kw_only=True):
    """``OrderItemOld``, every property in schema order, null where empty."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    order_id: uuid.UUID
    bill_id: uuid.UUID | None
    accounting_category_id: uuid.UUID | None
    unit_count: int
    unit_amount: Amount
    amount: ExtendedAmount
    original_amount: ExtendedAmount
    revenue_type: str
    creator_profile_id: uuid.UUID
    updater_profile_id: uuid.UUID
    created_utc: UtcDateTime
    updated_utc: UtcDateTime
    consumed_utc: UtcDateTime | None
    canceled_utc: UtcDateTime | None
    closed_utc: UtcDateTime | None
    start_utc: UtcDateTime | None
    accounting_state: str
    data: LegacyData


class AccountingItem(Struct, frozen=True, kw_only=True):
    """The 2019 ``AccountingItem`` (every property nullable in the schema)."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    order_id: uuid.UUID | None
    service_id: uuid.UUID | None
    product_id: uuid.UUID | None
    bill_id: uuid.UUID | None
    invoice_id: uuid.UUID | None
    accounting_category_id: uuid.UUID | None
    credit_card_id: uuid.UUID | None
    type: str | None
    sub_type: str | None
    name: str | None
    notes: str | None
    consumption_utc: UtcDateTime | None
    closed_utc: UtcDateTime | None
    state: str | None
    sub_state: str | None
    amount: ExtendedAmount | None
    tax_exemption_reason_code: str | None


class ReservationItems(Struct, frozen=True, kw_only=True):
    reservation_id: uuid.UUID
    items: list[AccountingItem]
    order_items: list[OrderItemOld]


class ReservationItemResult(Struct, frozen=True, kw_only=True):
    reservations: list[ReservationItems]


def recover_tax_rate(net: Decimal, tax: Decimal, exponent: int) -> Decimal:
    """The shortest decimal rate that reproduces ``tax`` from ``net`` within the rounding of
    both to minor units (3.88 on 19.38 gives 0.2, not 0.2002)."""
    half = Decimal(1).scaleb(-exponent) / 2
    low_net, high_net = abs(net) - half, abs(net) + half
    low = (abs(tax) - half) / high_net
    high = (abs(tax) + half) / low_net if low_net > 0 else abs(tax) / abs(net)
    exact = abs(tax) / abs(net)
    for decimals in range(TAX_RATE_DECIMALS + 1):
        candidate = round(exact, decimals)
        if low <= candidate <= high:
            return candidate
    return round(exact, TAX_RATE_DECIMALS)


def extend_amount(amount: Amount) -> ExtendedAmount:
    """``Value`` = gross, ``Net`` = net, ``Tax`` = the sum of the taxes, ``TaxRate`` the one
    rate applied, or null when none or several apply (or the net is zero)."""
    tax = sum((t.value for t in amount.tax_values), amount.net_value * 0)
    taxed = [b for b in amount.breakdown.items if b.tax_rate_code is not None]
    codes = {b.tax_rate_code for b in taxed}
    rate: Decimal | None = None
    if len(codes) == 1 and amount.net_value:
        exponent = minor_units(amount.currency)
        rate = recover_tax_rate(amount.net_value, tax, 2 if exponent is None else exponent)
    return ExtendedAmount(
        currency=amount.currency,
        net_value=amount.net_value,
        gross_value=amount.gross_value,
        tax_values=amount.tax_values,
        breakdown=amount.breakdown,
        value=amount.gross_value,
        net=amount.net_value,
        tax=tax,
        tax_rate=rate,
    )


def legacy_data(item: OrderItem) -> LegacyData:
    """``Value`` carries ``RebatedItemId`` for a rebate and ``ProductId`` (and age category)
    for a product order, when the new ``Data`` has them; otherwise it is null."""
    discriminator = LEGACY_TYPES[item.type]
    data = item.data
    value: RebateValue | ProductValue | None = None
    if discriminator is OrderItemTypeOld.REBATE and data is not None and data.rebate is not None:
        if data.rebate.rebated_item_id is not None:
            value = RebateValue(data.rebate.rebated_item_id)
    elif discriminator is OrderItemTypeOld.PRODUCT_ORDER and data is not None and data.product:
        value = ProductValue(data.product.product_id, data.product.age_category_id)
    return LegacyData(discriminator=discriminator, value=value)


def to_order_item_old(item: OrderItem, *, fallback_account_id: uuid.UUID | None) -> OrderItemOld:
    """The legacy order item; ``OrderId`` is the reservation (the item's ``ServiceOrderId``).

    ``AccountId`` is required in the legacy schema; an item without one (possible only in
    imported data) takes the reservation's account.
    """
    return OrderItemOld(
        id=item.id,
        account_id=item.account_id or fallback_account_id,
        order_id=item.service_order_id,
        bill_id=item.bill_id,
        accounting_category_id=item.accounting_category_id,
        unit_count=item.unit_count,
        unit_amount=item.unit_amount,
        amount=extend_amount(item.amount),
        original_amount=extend_amount(item.original_amount),
        revenue_type=item.revenue_type.value,
        creator_profile_id=item.creator_profile_id,
        updater_profile_id=item.updater_profile_id,
        created_utc=item.created_utc,
        updated_utc=item.updated_utc,
        consumed_utc=item.consumed_utc,
        canceled_utc=item.canceled_utc,
        closed_utc=item.closed_utc,
        start_utc=item.start_utc,
        accounting_state=item.accounting_state.value,
        data=legacy_data(item),
    )


def to_accounting_item(item: OrderItem, *, fallback_account_id: uuid.UUID | None) -> AccountingItem:
    """The 2019 accounting item: ``Type`` from the revenue type, ``SubType`` the item's type,
    ``State`` its accounting state; what order items do not record (invoice, credit card, name,
    sub-state) is null."""
    account_id = item.account_id or fallback_account_id
    data = item.data
    product_id = None
    if data is not None and data.product is not None:
        product_id = data.product.product_id
    elif data is not None and data.rebate is not None:
        product_id = data.rebate.product_id
    return AccountingItem(
        id=item.id,
        account_id=account_id,
        customer_id=account_id if item.account_type is AccountType.CUSTOMER else None,
        order_id=item.service_order_id,
        service_id=item.service_id,
        product_id=product_id,
        bill_id=item.bill_id,
        invoice_id=None,
        accounting_category_id=item.accounting_category_id,
        credit_card_id=None,
        type=ACCOUNTING_ITEM_TYPES[item.revenue_type],
        sub_type=item.type.value,
        name=None,
        notes=item.notes,
        consumption_utc=item.consumed_utc,
        closed_utc=item.closed_utc,
        state=item.accounting_state.value,
        sub_state=None,
        amount=extend_amount(item.amount),
        tax_exemption_reason_code=(
            None if item.tax_exemption_reason is None else item.tax_exemption_reason.value
        ),
    )
