"""The SDK's copy of the filter table equals the server's (domain/filters.py) and the contract.

The SDK never imports the server, so it keeps its own table of the getAll filters; these tests
are what keeps the two, and the packaged OpenAPI contract, from drifting apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from orderitems.api.contract import official_contract
from orderitems.client import queries as sdk
from orderitems.domain.cancellation import MAX_CANCEL_IDS
from orderitems.domain.filters import GET_ALL_FILTERS
from orderitems.domain.query import MAX_PAGE_SIZE


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = official_contract()["components"]["schemas"][name]
    return schema


def test_the_sdk_table_equals_the_servers() -> None:
    server = [
        (f.wire, f.kind.value, f.max_items, f.max_months, f.qualifies.value)
        for f in GET_ALL_FILTERS
    ]
    copy = [(f.wire, f.kind, f.max_items, f.max_months, f.qualifies) for f in sdk.GET_ALL_FILTERS]
    assert copy == server


def test_both_tables_hold_the_contracts_limits_for_every_filter() -> None:
    properties = _schema("OrderItemFilterParameters")["properties"]
    envelope = {"ClientToken", "AccessToken", "Client", "Limitation", "EnterpriseIds", "Currency"}
    assert set(properties) - envelope == {f.wire for f in GET_ALL_FILTERS}
    for spec in GET_ALL_FILTERS:
        declared = properties[spec.wire]
        assert declared.get("maxItems") == spec.max_items, spec.wire
        assert declared.get("x-max-interval-in-months") == spec.max_months, spec.wire
        if spec.max_items is not None:
            assert declared["minItems"] == 1


def test_the_sdk_request_and_filter_have_a_field_per_filter() -> None:
    attributes = {f.attribute for f in sdk.GET_ALL_FILTERS}
    assert attributes <= set(sdk.GetAllRequest.__struct_fields__)
    assert attributes <= {f.name for f in dataclasses.fields(sdk.OrderItemFilter)}


def test_page_size_and_cancel_limits_are_the_servers() -> None:
    assert sdk.MAX_COUNT == MAX_PAGE_SIZE
    assert sdk.MAX_CANCEL_IDS == MAX_CANCEL_IDS
    cancel = _schema("CancelOrderItemParameters")["properties"]["OrderItemIds"]
    assert cancel["maxItems"] == MAX_CANCEL_IDS
