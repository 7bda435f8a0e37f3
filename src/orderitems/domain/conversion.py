"""Currency conversion of amounts (docs/behaviour.md#currency).

Net and each tax are converted and rounded to the target currency's ISO 4217 minor units, and
gross is their sum after rounding, so ``GrossValue == NetValue + sum(TaxValues)`` still holds.
Breakdown items are apportioned (largest remainder) so that they add up to the converted totals
whenever they added up to the original ones. ``OriginalAmount`` is never converted.

The minor units come from the ``iso4217`` package, which ships the ISO 4217 maintenance
agency's own table (SIX ``list-one.xml``), rather than from a hand-typed list.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation, localcontext

import iso4217
import msgspec

from orderitems.domain.amounts import (
    Amount,
    TaxBreakdown,
    TaxBreakdownItem,
    TaxValue,
    round_to_minor_units,
)
from orderitems.domain.errors import InvalidInput
from orderitems.domain.items import OrderItem

#: The ``exchange_rates.value`` column is NUMERIC(28, 12); SQLite keeps it as a double, exact
#: to 15 significant digits.
RATE_DECIMALS = 12
RATE_DIGITS = 15
CONVERSION_PRECISION = 120


def minor_units(code: str) -> int | None:
    """ISO 4217 minor units of ``code`` (JPY 0, GBP 2, BHD 3), or None when the code is not in
    the standard or has none (funds and metals such as XAU)."""
    try:
        return iso4217.Currency(code.upper()).exponent
    except ValueError:
        return None


def currency_exponent(code: str, *, field: str = "Currency") -> int:
    """Minor units of a currency amounts are kept in; 400 ``Invalid Currency`` otherwise."""
    exponent = minor_units(code)
    if exponent is None:
        raise InvalidInput(
            f"Invalid {field}: {code} is not an ISO 4217 currency code with minor units.",
            field=field,
        )
    return exponent


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """One direction of one pair for one enterprise, as ``exchangeRates/getAll`` publishes it:
    one ``source`` unit is worth ``value`` ``target`` units."""

    enterprise_id: uuid.UUID
    source: str
    target: str
    value: Decimal


def parse_exchange_rate(
    enterprise_id: uuid.UUID, source: str, target: str, value: str | Decimal
) -> ExchangeRate:
    """Validate a rate before it is stored: ISO codes, two different currencies, a positive
    value that the NUMERIC(28, 12) column keeps exactly."""
    source, target = source.strip().upper(), target.strip().upper()
    currency_exponent(source, field="SourceCurrency")
    currency_exponent(target, field="TargetCurrency")
    if source == target:
        raise InvalidInput(f"Invalid rate: {source} to {source} is always 1.", field="Value")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else value
    except InvalidOperation:
        raise InvalidInput(f"Invalid Value: {value!r} is not a number.", field="Value") from None
    if not number.is_finite() or number <= 0:
        raise InvalidInput(f"Invalid Value: {value} must be a positive number.", field="Value")
    shape = number.normalize().as_tuple()
    assert isinstance(shape.exponent, int)  # finite
    if -shape.exponent > RATE_DECIMALS or len(shape.digits) + max(shape.exponent, 0) > RATE_DIGITS:
        raise InvalidInput(
            f"Invalid Value: {value} needs more than {RATE_DECIMALS} decimals"
            f" or {RATE_DIGITS} significant digits.",
            field="Value",
        )
    return ExchangeRate(enterprise_id, source, target, number.normalize())


def _quantum(exponent: int) -> Decimal:
    return Decimal(1).scaleb(-exponent)


def apportion(
    parts: Sequence[Decimal], rate: Decimal, total: Decimal, exponent: int
) -> list[Decimal]:
    """Convert ``parts`` into minor units that add up to ``total`` exactly.

    Each part is floored, and the minor units still missing go to the parts with the largest
    remainders (ties: the earlier part). When ``total`` is the rounded conversion of
    ``sum(parts)``, at most one unit goes to each part, so a single part comes out exactly as
    rounding it alone would.
    """
    if not parts:
        return []
    quantum = _quantum(exponent)
    raw = [part * rate for part in parts]
    floors = [(x / quantum).to_integral_value(rounding=ROUND_FLOOR) * quantum for x in raw]
    missing = int((total - sum(floors, Decimal(0))) / quantum)
    each, extra = divmod(missing, len(parts))
    ranked = sorted(range(len(parts)), key=lambda i: (-(raw[i] - floors[i]), i))
    for rank, index in enumerate(ranked):
        floors[index] += quantum * (each + (1 if rank < extra else 0))
    return [round_to_minor_units(value, exponent) for value in floors]


def convert_amount(amount: Amount, target: str, rate: Decimal, exponent: int) -> Amount:
    """``amount`` in ``target`` at ``rate`` (one source unit = ``rate`` target units)."""
    if amount.currency == target:
        return amount
    with localcontext() as context:
        # Exact products: a 15-digit rate times any stored amount never meets the default
        # 28-digit precision, where quantize would raise instead of rounding.
        context.prec = CONVERSION_PRECISION
        return _convert(amount, target, rate, exponent)


def _convert(amount: Amount, target: str, rate: Decimal, exponent: int) -> Amount:

    def rounded(value: Decimal) -> Decimal:
        return round_to_minor_units(value * rate, exponent)

    net = rounded(amount.net_value)
    taxes = [TaxValue(t.code, rounded(t.value)) for t in amount.tax_values]
    items = amount.breakdown.items
    nets = [b.net_value for b in items]
    if sum(nets, Decimal(0)) == amount.net_value:
        new_nets = apportion(nets, rate, net, exponent)
    else:
        new_nets = [rounded(n) for n in nets]
    new_taxes = [rounded(b.tax_value) for b in items]
    by_code: dict[str | None, list[int]] = defaultdict(list)
    for index, b in enumerate(items):
        by_code[b.tax_rate_code].append(index)
    for code, indexes in by_code.items():
        source_taxes = [t.value for t in amount.tax_values if t.code == code]
        parts = [items[i].tax_value for i in indexes]
        if sum(parts, Decimal(0)) == sum(source_taxes, Decimal(0)):
            target_total = sum((t.value for t in taxes if t.code == code), Decimal(0))
            for index, value in zip(
                indexes, apportion(parts, rate, target_total, exponent), strict=True
            ):
                new_taxes[index] = value
    zero = round_to_minor_units(Decimal(0), exponent)
    return Amount(
        currency=target,
        net_value=net,
        gross_value=net + sum((t.value for t in taxes), zero),
        tax_values=taxes,
        breakdown=TaxBreakdown(
            items=[
                TaxBreakdownItem(b.tax_rate_code, n, t)
                for b, n, t in zip(items, new_nets, new_taxes, strict=True)
            ]
        ),
    )


RateLookup = Callable[[uuid.UUID, str], Decimal]


@dataclass(frozen=True, slots=True)
class Converter:
    """Converts items of the enterprises in scope into ``target`` with their rates into it."""

    target: str
    exponent: int
    #: (enterprise id, source currency) -> value of one source unit in ``target``.
    rates: Mapping[tuple[uuid.UUID, str], Decimal]

    def rate(self, enterprise_id: uuid.UUID, source: str) -> Decimal:
        """400 ``Invalid Currency`` when the enterprise publishes no rate for the pair."""
        found = self.rates.get((enterprise_id, source))
        if found is None:
            raise InvalidInput(
                f"Invalid Currency: enterprise {enterprise_id} has no exchange rate"
                f" from {source} to {self.target}.",
                field="Currency",
            )
        return found

    def needs_conversion(self, item_currencies: Sequence[str]) -> bool:
        return any(c != self.target for c in item_currencies)

    def convert_item(self, item: OrderItem) -> OrderItem:
        """``Amount`` and ``UnitAmount`` converted; ``OriginalAmount`` left as it was."""

        def convert(amount: Amount) -> Amount:
            if amount.currency == self.target:
                return amount
            rate = self.rate(item.enterprise_id, amount.currency)
            return convert_amount(amount, self.target, rate, self.exponent)

        return msgspec.structs.replace(
            item, amount=convert(item.amount), unit_amount=convert(item.unit_amount)
        )


def build_converter(
    target: str,
    enterprise_currencies: Mapping[uuid.UUID, str],
    rates: Mapping[tuple[uuid.UUID, str], Decimal],
) -> Converter:
    """Refuse up front a target some enterprise in scope cannot convert its own currency into,
    so the answer does not depend on which items a page happens to hold."""
    target = target.upper()
    exponent = currency_exponent(target)
    converter = Converter(target, exponent, rates)
    for enterprise_id, currency in sorted(enterprise_currencies.items()):
        if currency != target:
            converter.rate(enterprise_id, currency)
    return converter
