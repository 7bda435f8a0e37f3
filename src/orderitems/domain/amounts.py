"""Amounts with their taxes (official ``Amount`` schema, docs/behaviour.md#currency).

Invariant kept by every constructor here: ``GrossValue == NetValue + sum(TaxValues)`` and the
breakdown items add up to the same net and taxes, all in the currency's minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import msgspec

Currency = Annotated[str, msgspec.Meta(min_length=1)]


class TaxValue(msgspec.Struct, rename="pascal", frozen=True):
    code: str | None
    value: Decimal


class TaxBreakdownItem(msgspec.Struct, rename="pascal", frozen=True):
    tax_rate_code: str | None
    net_value: Decimal
    tax_value: Decimal


class TaxBreakdown(msgspec.Struct, rename="pascal", frozen=True):
    items: list[TaxBreakdownItem]


class Amount(msgspec.Struct, rename="pascal", frozen=True):
    currency: Currency
    net_value: Decimal
    gross_value: Decimal
    tax_values: list[TaxValue]
    breakdown: TaxBreakdown


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A tax rate as Mews codes it, e.g. ``UK-S`` at 0.20 or ``DE-2020-1-L`` at 0.07."""

    code: str
    rate: Decimal


def round_to_minor_units(value: Decimal, exponent: int) -> Decimal:
    """Round half away from zero to the currency's ISO 4217 minor units."""
    return value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)


def _assemble(currency: str, net: Decimal, rate: TaxRate | None, tax: Decimal) -> Amount:
    """One tax rate per item, as Mews applies the rate of the item's accounting category."""
    if rate is None:
        return Amount(
            currency=currency,
            net_value=net,
            gross_value=net,
            tax_values=[],
            breakdown=TaxBreakdown(items=[TaxBreakdownItem(None, net, tax)]),
        )
    return Amount(
        currency=currency,
        net_value=net,
        gross_value=net + tax,
        tax_values=[TaxValue(rate.code, tax)],
        breakdown=TaxBreakdown(items=[TaxBreakdownItem(rate.code, net, tax)]),
    )


def price_from_net(net: Decimal, rate: TaxRate | None, *, currency: str, exponent: int) -> Amount:
    """Net pricing (e.g. the US demo property): the tax is added on top of the net price."""
    net = round_to_minor_units(net, exponent)
    tax = round_to_minor_units(net * rate.rate, exponent) if rate else net * 0
    return _assemble(currency, net, rate, tax)


def price_from_gross(
    gross: Decimal, rate: TaxRate | None, *, currency: str, exponent: int
) -> Amount:
    """Gross pricing (e.g. the UK demo property): the price includes tax and net is derived,
    so gross stays exactly the price asked for and the tax takes the rounding remainder."""
    gross = round_to_minor_units(gross, exponent)
    net = round_to_minor_units(gross / (1 + rate.rate), exponent) if rate else gross
    return _assemble(currency, net, rate, gross - net)


def scale_amount(amount: Amount, factor: int) -> Amount:
    """Multiply by a whole number (``Amount = UnitAmount * UnitCount``; negative for rebates)."""
    return Amount(
        currency=amount.currency,
        net_value=amount.net_value * factor,
        gross_value=amount.gross_value * factor,
        tax_values=[TaxValue(t.code, t.value * factor) for t in amount.tax_values],
        breakdown=TaxBreakdown(
            items=[
                TaxBreakdownItem(b.tax_rate_code, b.net_value * factor, b.tax_value * factor)
                for b in amount.breakdown.items
            ]
        ),
    )


def zero_amount(currency: str, exponent: int) -> Amount:
    """A zero-value amount, as on Inactive items."""
    zero = round_to_minor_units(Decimal(0), exponent)
    return _assemble(currency, zero, None, zero)
