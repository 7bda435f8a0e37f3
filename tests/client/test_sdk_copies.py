"""The SDK keeps its own copies of the server's enums and models (it never imports server code);
these tests tie each copy to the server's, so a value or property added on one side and not the
other fails here rather than in a user's client."""

from __future__ import annotations

import enum

import msgspec
import pytest

from orderitems.client import enums as sdk_enums
from orderitems.client import models as sdk_models
from orderitems.domain import items as server_items
from orderitems.domain import legacy as server_legacy

ENUM_COPIES: list[tuple[type[enum.StrEnum], type[enum.StrEnum]]] = [
    (sdk_enums.AccountingState, server_items.AccountingState),
    (sdk_enums.OrderItemType, server_items.OrderItemType),
    (sdk_enums.AccountType, server_items.AccountType),
    (sdk_enums.RevenueType, server_items.RevenueType),
    (sdk_enums.DataDiscriminator, server_items.DataDiscriminator),
    (sdk_enums.ProductType, server_items.ProductType),
    (sdk_enums.AllowanceProfitType, server_items.AllowanceProfitType),
    (sdk_enums.TaxExemptionReason, server_items.TaxExemptionReason),
    (sdk_enums.LegacyOrderItemType, server_legacy.OrderItemTypeOld),
]

MODEL_COPIES: list[tuple[type[msgspec.Struct], type[msgspec.Struct]]] = [
    (sdk_models.OrderItem, server_items.OrderItem),
    (sdk_models.OrderItemData, server_items.OrderItemData),
    (sdk_models.OrderItemOptions, server_items.Options),
    (sdk_models.RebateData, server_items.RebateData),
    (sdk_models.ProductData, server_items.ProductData),
    (sdk_models.AllowanceDiscountData, server_items.AllowanceDiscountData),
    (sdk_models.AllowanceProfitsData, server_items.AllowanceProfitsData),
    (sdk_models.LegacyOrderItem, server_legacy.OrderItemOld),
    (sdk_models.AccountingItem, server_legacy.AccountingItem),
    (sdk_models.ReservationItems, server_legacy.ReservationItems),
]


def wire_names(struct: type[msgspec.Struct]) -> set[str]:
    """The JSON property names a struct reads and writes (after its rename)."""
    return set(struct.__struct_encode_fields__)


@pytest.mark.parametrize(("sdk", "server"), ENUM_COPIES, ids=lambda e: e.__name__)
def test_each_sdk_enum_has_exactly_the_server_values(
    sdk: type[enum.StrEnum], server: type[enum.StrEnum]
) -> None:
    assert {member.value for member in sdk} == {member.value for member in server}


@pytest.mark.parametrize(("sdk", "server"), MODEL_COPIES, ids=lambda s: s.__name__)
def test_each_sdk_model_reads_every_property_the_server_writes(
    sdk: type[msgspec.Struct], server: type[msgspec.Struct]
) -> None:
    assert wire_names(server) <= wire_names(sdk), wire_names(server) - wire_names(sdk)
