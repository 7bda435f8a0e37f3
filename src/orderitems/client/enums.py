"""Known values of the API's enumerations, as constants.

Model fields holding these are typed ``str``, not an enum: Mews adds values every few months
(docs/behaviour.md#output), and a client that refuses an unknown value breaks the day it appears.
Compare with the constants (``item.type == OrderItemType.CITY_TAX``) and treat anything else as
"new". Iterating a class gives its known values in the official schema's order.
"""

from __future__ import annotations

import enum


class AccountingState(enum.StrEnum):
    """Open and Closed carry value; Inactive is zero-value or optional; Canceled is canceled."""

    OPEN = "Open"
    CLOSED = "Closed"
    INACTIVE = "Inactive"
    CANCELED = "Canceled"


class OrderItemType(enum.StrEnum):
    """``OrderItemTypeEnum``: valid as a getAll filter and found on items."""

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


class AccountType(enum.StrEnum):
    CUSTOMER = "Customer"
    COMPANY = "Company"


class RevenueType(enum.StrEnum):
    SERVICE = "Service"
    PRODUCT = "Product"
    ADDITIONAL = "Additional"


class DataDiscriminator(enum.StrEnum):
    """Which branch of ``OrderItem.data`` is filled."""

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
    """``TaxExemptionReasonTypeEnum`` as of the 2026-07-17 OAS snapshot."""

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


class LegacyOrderItemType(enum.StrEnum):
    """``OrderItemTypeOld``: the ``Data.Discriminator`` of ``reservations/getAllItems``."""

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
