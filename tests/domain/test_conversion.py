"""Currency conversion rules (docs/behaviour.md#currency), with
Hypothesis for the invariants: gross = net + taxes, breakdowns add up to the totals, and
converting into an item's own currency changes nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import make_item
from orderitems.domain.amounts import (
    Amount,
    TaxBreakdown,
    TaxBreakdownItem,
    TaxValue,
    round_to_minor_units,
)
from orderitems.domain.conversion import (
    Converter,
    apportion,
    build_converter,
    convert_amount,
    currency_exponent,
    parse_exchange_rate,
)
from orderitems.domain.errors import InvalidInput

ZERO = Decimal(0)


def quantum(exponent: int) -> Decimal:
    return Decimal(1).scaleb(-exponent)


@st.composite
def amounts(draw: st.DrawFn, currency: str = "GBP", exponent: int = 2) -> Amount:
    """A valid Amount: one breakdown item per rate (and maybe an untaxed part), the tax values
    mirroring the taxed ones, net and gross their sums, all in minor units."""
    unit = quantum(exponent)
    minor = st.integers(min_value=-(10**7), max_value=10**7)
    codes = draw(
        st.lists(st.sampled_from(["UK-S", "UK-R", "UK-Z", "DE-2020-1-L"]), unique=True, max_size=3)
    )
    untaxed = draw(st.booleans()) or not codes
    items = [TaxBreakdownItem(code, draw(minor) * unit, draw(minor) * unit) for code in codes]
    if untaxed:
        items.append(TaxBreakdownItem(None, draw(minor) * unit, ZERO * unit))
    net = sum((b.net_value for b in items), ZERO * unit)
    taxes = [TaxValue(b.tax_rate_code, b.tax_value) for b in items if b.tax_rate_code]
    return Amount(
        currency=currency,
        net_value=net,
        gross_value=net + sum((t.value for t in taxes), ZERO * unit),
        tax_values=taxes,
        breakdown=TaxBreakdown(items=items),
    )


rates = st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal("50000"), places=7, allow_nan=False
)
exponents = st.sampled_from([0, 2, 3])


def assert_invariants(amount: Amount, exponent: int) -> None:
    unit = quantum(exponent)
    taxes = sum((t.value for t in amount.tax_values), ZERO)
    assert amount.gross_value == amount.net_value + taxes
    assert sum((b.net_value for b in amount.breakdown.items), ZERO) == amount.net_value
    assert sum((b.tax_value for b in amount.breakdown.items), ZERO) == taxes
    for value in [amount.net_value, amount.gross_value, *[t.value for t in amount.tax_values]]:
        assert value % unit == 0, value
        assert value.as_tuple().exponent == -exponent


@given(amount=amounts(), rate=rates, exponent=exponents)
def test_converted_gross_is_net_plus_taxes_and_breakdown_adds_up(
    amount: Amount, rate: Decimal, exponent: int
) -> None:
    converted = convert_amount(amount, "XTS", rate, exponent)
    assert converted.currency == "XTS"
    assert_invariants(converted, exponent)


@given(amount=amounts(), rate=rates, exponent=exponents)
def test_net_and_each_tax_are_converted_and_rounded_on_their_own(
    amount: Amount, rate: Decimal, exponent: int
) -> None:
    converted = convert_amount(amount, "XTS", rate, exponent)
    assert converted.net_value == round_to_minor_units(amount.net_value * rate, exponent)
    assert [t.value for t in converted.tax_values] == [
        round_to_minor_units(t.value * rate, exponent) for t in amount.tax_values
    ]
    assert [t.code for t in converted.tax_values] == [t.code for t in amount.tax_values]


@given(amount=amounts(), rate=rates, exponent=exponents)
def test_each_breakdown_item_stays_within_one_minor_unit_of_its_exact_conversion(
    amount: Amount, rate: Decimal, exponent: int
) -> None:
    converted = convert_amount(amount, "XTS", rate, exponent)
    unit = quantum(exponent)
    for before, after in zip(amount.breakdown.items, converted.breakdown.items, strict=True):
        assert after.tax_rate_code == before.tax_rate_code
        assert abs(after.net_value - before.net_value * rate) < unit
        assert abs(after.tax_value - before.tax_value * rate) < unit


@given(amount=amounts(), rate=rates)
def test_converting_into_the_amounts_own_currency_changes_nothing(
    amount: Amount, rate: Decimal
) -> None:
    assert convert_amount(amount, amount.currency, rate, 2) is amount


@given(gross=st.integers(min_value=-(10**6), max_value=10**6), rate=rates)
def test_converting_an_item_into_its_own_currency_changes_nothing(
    gross: int, rate: Decimal
) -> None:
    item = make_item(enterprise_id=uuid.uuid4(), gross=str(Decimal(gross) / 100))
    converter = Converter("GBP", 2, {(item.enterprise_id, "EUR"): rate})
    assert converter.convert_item(item) == item


def test_original_amount_is_never_converted() -> None:
    item = make_item(enterprise_id=uuid.uuid4(), gross="120.00")
    converter = Converter("EUR", 2, {(item.enterprise_id, "GBP"): Decimal("1.1757317")})
    converted = converter.convert_item(item)
    assert converted.original_amount == item.original_amount
    assert converted.amount.currency == converted.unit_amount.currency == "EUR"
    assert converted.amount.net_value == Decimal("117.57")  # 100.00 * 1.1757317 = 117.573...
    # 23.51 + 117.57: the sum of the rounded parts, not 120.00 * r = 141.088 rounded on its own.
    assert converted.amount.gross_value == Decimal("141.08")
    assert converted.amount.tax_values == [TaxValue("UK-S", Decimal("23.51"))]


def test_conversion_rounds_to_the_targets_iso_minor_units() -> None:
    amount = convert_amount(
        Amount("GBP", Decimal("10.00"), Decimal("12.00"), [TaxValue("UK-S", Decimal("2.00"))],
               TaxBreakdown([TaxBreakdownItem("UK-S", Decimal("10.00"), Decimal("2.00"))])),
        "JPY", Decimal("190.9133"), currency_exponent("JPY"),
    )  # fmt: skip
    assert (amount.net_value, amount.tax_values[0].value, amount.gross_value) == (
        Decimal("1909"),
        Decimal("382"),
        Decimal("2291"),
    )


@pytest.mark.parametrize(("code", "exponent"), [("JPY", 0), ("gbp", 2), ("BHD", 3), ("CLF", 4)])
def test_minor_units_come_from_the_iso_4217_table(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


@pytest.mark.parametrize("code", ["XYZ", "XAU", "ABC"])
def test_unknown_codes_and_currencies_without_minor_units_are_invalid(code: str) -> None:
    with pytest.raises(InvalidInput, match="Invalid Currency"):
        currency_exponent(code)


def test_apportion_hands_the_missing_units_to_the_largest_remainders() -> None:
    parts = [Decimal("0.01"), Decimal("0.01"), Decimal("0.01")]
    assert apportion(parts, Decimal("0.5"), Decimal("0.02"), 2) == [
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.00"),
    ]


def test_a_converter_refuses_an_enterprise_without_a_rate_into_the_target() -> None:
    enterprise = uuid.uuid4()
    with pytest.raises(InvalidInput, match=f"Invalid Currency: enterprise {enterprise}"):
        build_converter("CHF", {enterprise: "GBP"}, {})
    assert build_converter("gbp", {enterprise: "GBP"}, {}).target == "GBP"


@pytest.mark.parametrize(
    ("source", "target", "value", "problem"),
    [
        ("GBP", "GBP", "1", "always 1"),
        ("GBP", "QQQ", "1", "TargetCurrency"),
        ("GBP", "EUR", "0", "positive"),
        ("GBP", "EUR", "-1.2", "positive"),
        ("GBP", "EUR", "abc", "not a number"),
        ("GBP", "EUR", "1.0000000000001", "decimals"),
        ("GBP", "EUR", "1234567890123456", "significant"),
    ],
)
def test_a_rate_must_be_a_positive_number_between_two_iso_currencies(
    source: str, target: str, value: str, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        parse_exchange_rate(uuid.uuid4(), source, target, value)


def test_a_rate_is_normalised() -> None:
    rate = parse_exchange_rate(uuid.uuid4(), " gbp", "eur ", "1.17573170")
    assert (rate.source, rate.target, rate.value) == ("GBP", "EUR", Decimal("1.1757317"))
