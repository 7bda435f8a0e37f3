"""The legacy projections of reservations/getAllItems (docs/legacy-mapping.md) and the cancel
plan (docs/behaviour.md#cancel)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import official_spec
from factories import make_item
from orderitems.domain.amounts import (
    Amount,
    TaxBreakdown,
    TaxBreakdownItem,
    TaxRate,
    TaxValue,
    price_from_gross,
    price_from_net,
)
from orderitems.domain.cancellation import plan_cancellation
from orderitems.domain.errors import InvalidInput
from orderitems.domain.items import (
    AccountingState,
    DataDiscriminator,
    OrderItemData,
    OrderItemType,
    RebateData,
)
from orderitems.domain.legacy import (
    LEGACY_TYPES,
    OrderItemTypeOld,
    extend_amount,
    legacy_data,
    recover_tax_rate,
)

D = Decimal


def test_every_new_type_has_a_legacy_name_from_the_official_enum() -> None:
    assert set(LEGACY_TYPES) == set(OrderItemType)
    official = official_spec()["components"]["schemas"]["OrderItemTypeOld"]["enum"]
    assert [t.value for t in OrderItemTypeOld] == official


@pytest.mark.parametrize(
    ("net", "tax", "rate"),
    [
        ("19.38", "3.88", "0.2"),
        ("1000.00", "149.50", "0.1495"),
        ("93.46", "6.54", "0.07"),
        ("-16.67", "-3.33", "0.2"),
        ("10.00", "0.00", "0"),
        ("1909", "382", "0.2"),
    ],
)
def test_the_legacy_tax_rate_is_the_shortest_rate_that_explains_the_rounded_tax(
    net: str, tax: str, rate: str
) -> None:
    exponent = -D(net).as_tuple().exponent  # type: ignore[operator]
    assert recover_tax_rate(D(net), D(tax), exponent) == D(rate)


@given(
    minor=st.integers(min_value=20_000, max_value=10**9),
    sign=st.sampled_from([1, -1]),
    rate=st.decimals(min_value=0, max_value=D("0.3"), places=4),
    gross_pricing=st.booleans(),
)
def test_a_four_decimal_rate_is_recovered_exactly_from_amounts_of_200_or_more(
    minor: int, sign: int, rate: Decimal, gross_pricing: bool
) -> None:
    price = sign * D(minor).scaleb(-2)
    build = price_from_gross if gross_pricing else price_from_net
    amount = build(price, TaxRate("X", rate), currency="GBP", exponent=2)
    assert extend_amount(amount).tax_rate == rate


def test_extended_amounts_repeat_gross_net_and_the_tax_total() -> None:
    amount = price_from_gross(D("120.00"), TaxRate("UK-S", D("0.20")), currency="GBP", exponent=2)
    extended = extend_amount(amount)
    assert (extended.value, extended.net, extended.tax, extended.tax_rate) == (
        D("120.00"),
        D("100.00"),
        D("20.00"),
        D("0.2"),
    )
    assert extended.tax_values == amount.tax_values
    assert extended.breakdown == amount.breakdown


def test_no_single_rate_means_a_null_legacy_tax_rate() -> None:
    untaxed = price_from_gross(D("12.00"), None, currency="GBP", exponent=2)
    assert extend_amount(untaxed).tax_rate is None
    assert extend_amount(untaxed).tax == D("0.00")
    two_rates = Amount(
        "EUR",
        D("20.00"),
        D("22.60"),
        [TaxValue("DE-L", D("0.70")), TaxValue("DE-S", D("1.90"))],
        TaxBreakdown(
            [
                TaxBreakdownItem("DE-L", D("10.00"), D("0.70")),
                TaxBreakdownItem("DE-S", D("10.00"), D("1.90")),
            ]
        ),
    )
    assert extend_amount(two_rates).tax_rate is None
    assert extend_amount(two_rates).tax == D("2.60")


def test_legacy_data_carries_a_value_only_where_the_legacy_schema_has_one() -> None:
    enterprise = uuid.uuid4()
    space = make_item(enterprise_id=enterprise, type=OrderItemType.SPACE_ORDER)
    assert legacy_data(space).value is None
    unknown_rebate = make_item(
        enterprise_id=enterprise,
        type=OrderItemType.PRODUCT_ORDER_REBATE,
        data=OrderItemData(
            discriminator=DataDiscriminator.REBATE,
            rebate=RebateData(product_id=uuid.uuid4(), rebated_item_id=None),
        ),
    )
    assert legacy_data(unknown_rebate).discriminator is OrderItemTypeOld.REBATE
    assert legacy_data(unknown_rebate).value is None
    product_without_data = make_item(enterprise_id=enterprise, type=OrderItemType.PRODUCT_ORDER)
    assert legacy_data(product_without_data).value is None


def test_the_cancel_plan_names_unknown_and_closed_ids_and_accepts_canceled_ones() -> None:
    open_, closed, canceled, inactive, unknown = (uuid.uuid4() for _ in range(5))
    states = {
        open_: AccountingState.OPEN,
        closed: AccountingState.CLOSED,
        canceled: AccountingState.CANCELED,
        inactive: AccountingState.INACTIVE,
    }
    plan = plan_cancellation([open_, canceled, inactive, open_], states)
    assert set(plan.to_cancel) == {open_, inactive}
    assert plan.already_canceled == (canceled,)
    with pytest.raises(InvalidInput) as refused:
        plan_cancellation([open_, closed, unknown], states)
    message = refused.value.message
    assert message.startswith("Invalid OrderItemIds")
    assert str(closed) in message
    assert str(unknown) in message
    assert str(open_) not in message
