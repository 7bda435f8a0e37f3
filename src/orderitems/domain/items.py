"""The Order item as the API defines it (official ``OrderItem`` schema, docs/behaviour.md#output).

Field order follows the schema, so encoded documents read like the official examples.
Money is ``Decimal`` inside and a JSON number outside.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from orderitems.domain.amounts import Amount

UtcDateTime = Annotated[datetime, msgspec.Meta(tz=True)]


class AccountType(enum.StrEnum):
    COMPANY = "Company"
    CUSTOMER = "Customer"


class RevenueType(enum.StrEnum):
    SERVICE = "Service"
    PRODUCT = "Product"
    ADDITIONAL = "Additional"


class AccountingState(enum.StrEnum):
    """Open and Closed carry value; Inactive is zero-value or optional; Canceled is canceled."""

    OPEN = "Open"
    CLOSED = "Closed"
    INACTIVE = "Inactive"
    CANCELED = "Canceled"


class OrderItemType(enum.StrEnum):
    """The 20 values of ``OrderItemTypeEnum``, valid as a filter and in responses."""

    CANCELLATION_FEE = "CancellationFee"
    NIGHT_REBATE = "NightRebate"
    PRODUCT_ORDER_REBATE = "ProductOrderRebate"
    ADDITIONAL_EXPENSE_REBATE = "AdditionalExpenseRebate"
    DEPOSIT = "Deposit"
    EXCHANGE_RATE_DIFFERENCE = "ExchangeRateDifference"
    CUSTOM_ITEM = "CustomItem"
    SERVICE_CHARGE = "ServiceCharge"
    CITY_TAX = "CityTax"
    CITY_TAX_DISCOUNT = "CityTaxDiscount"
    SPACE_ORDER = "SpaceOrder"
    PRODUCT_ORDER = "ProductOrder"
    SURCHARGE = "Surcharge"
    TAX_CORRECTION = "TaxCorrection"
    RESOURCE_UPGRADE_FEE = "ResourceUpgradeFee"
    INVOICE_FEE = "InvoiceFee"
    MULTICURRENCY_FEE = "MulticurrencyFee"
    ALLOWANCE_DISCOUNT = "AllowanceDiscount"
    ALLOWANCE_BREAKAGE = "AllowanceBreakage"
    ALLOWANCE_CONTRA_BREAKAGE = "AllowanceContraBreakage"


class DataDiscriminator(enum.StrEnum):
    REBATE = "Rebate"
    PRODUCT = "Product"
    ALLOWANCE_DISCOUNT = "AllowanceDiscount"
    ALLOWANCE_PROFITS = "AllowanceProfits"


class ProductType(enum.StrEnum):
    PRODUCT = "Product"
    ALLOWANCE = "Allowance"


class AllowanceProfitType(enum.StrEnum):
    ALLOWANCE_BREAKAGE = "AllowanceBreakage"
    ALLOWANCE_CONTRA_BREAKAGE = "AllowanceContraBreakage"
    ALLOWANCE_LOSS = "AllowanceLoss"
    ALLOWANCE_CONTRA_LOSS = "AllowanceContraLoss"


class TaxExemptionReason(enum.StrEnum):
    """``TaxExemptionReasonTypeEnum`` of the 2026-07-17 OAS snapshot (docs/behaviour.md#output)."""

    UNKNOWN = "Unknown"
    IT_N1 = "IT_N1"
    IT_N2_1 = "IT_N2_1"
    IT_N2_2 = "IT_N2_2"
    IT_N3_4 = "IT_N3_4"
    IT_N3_5 = "IT_N3_5"
    IT_N4 = "IT_N4"
    IT_N5 = "IT_N5"
    PL_ZW = "PL_ZW"
    PL_NP = "PL_NP"
    DE_NATO = "DE_NATO"


class Struct(msgspec.Struct, rename="pascal", frozen=True, forbid_unknown_fields=False):
    """Base for wire-shaped value types: PascalCase outside, snake_case inside."""


class Options(Struct, frozen=True):
    canceled_with_reservation: bool


class RebateData(Struct, frozen=True):
    product_id: uuid.UUID | None
    rebated_item_id: uuid.UUID | None


class ProductData(Struct, frozen=True):
    product_id: uuid.UUID
    age_category_id: uuid.UUID | None = None
    product_type: ProductType | None = None


class AllowanceDiscountData(Struct, frozen=True):
    discounted_order_item_id: uuid.UUID
    allowance_product_order_item_id: uuid.UUID


class AllowanceProfitsData(Struct, frozen=True):
    allowance_product_order_item_id: uuid.UUID
    allowance_profit_type: AllowanceProfitType


class OrderItemData(Struct, frozen=True):
    """A discriminator plus named branches; unused branches are null (docs/behaviour.md#output)."""

    discriminator: DataDiscriminator
    rebate: RebateData | None = None
    product: ProductData | None = None
    allowance_discount: AllowanceDiscountData | None = None
    allowance_profits: AllowanceProfitsData | None = None


class OrderItem(Struct, frozen=True, kw_only=True):
    """One order item, every property of the official schema, null where empty."""

    id: uuid.UUID
    enterprise_id: uuid.UUID
    account_id: uuid.UUID | None = None
    account_type: AccountType | None = None
    service_id: uuid.UUID
    service_order_id: uuid.UUID
    notes: str | None = None
    bill_id: uuid.UUID | None = None
    accounting_category_id: uuid.UUID | None = None
    billing_name: str | None = None
    external_identifier: str | None = None
    unit_count: Annotated[int, msgspec.Meta(ge=-(2**31), lt=2**31)]
    unit_amount: Amount
    amount: Amount
    original_amount: Amount
    revenue_type: RevenueType
    creator_profile_id: uuid.UUID
    updater_profile_id: uuid.UUID
    created_utc: UtcDateTime
    updated_utc: UtcDateTime
    consumed_utc: UtcDateTime
    canceled_utc: UtcDateTime | None = None
    closed_utc: UtcDateTime | None = None
    start_utc: UtcDateTime | None = None
    claimed_utc: UtcDateTime | None = None
    accounting_state: AccountingState
    type: OrderItemType
    options: Options
    data: OrderItemData | None = None
    tax_exemption_reason: TaxExemptionReason | None = None
    tax_exemption_legal_reference: str | None = None


CANCELABLE_STATES = frozenset({AccountingState.OPEN, AccountingState.INACTIVE})


def can_cancel(item: OrderItem) -> bool:
    """Open and Inactive items can be canceled; Closed ones are on a closed bill
    (docs/behaviour.md#cancel)."""
    return item.accounting_state in CANCELABLE_STATES
