"""The getAll filter table (domain/filters.py) is the one declaration the layers derive from."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from msgspec import inspect as mi

from orderitems.api.wire import GET_ALL_REQUEST
from orderitems.domain.errors import InvalidInput
from orderitems.domain.filters import (
    GET_ALL_FILTERS,
    FilterKind,
    Qualifies,
    qualifying_filters,
)
from orderitems.domain.query import ItemQuery, TimeInterval, build_item_query

DAY = TimeInterval(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC))


def test_item_query_has_one_field_per_declared_filter_in_table_order() -> None:
    assert [f.name for f in dataclasses.fields(ItemQuery)] == [f.field for f in GET_ALL_FILTERS]


def test_the_request_type_has_one_property_per_filter_with_its_array_maximum() -> None:
    info = mi.type_info(GET_ALL_REQUEST)
    assert isinstance(info, mi.StructType)
    properties = {f.encode_name: f.type for f in info.fields}
    for spec in GET_ALL_FILTERS:
        declared = properties[spec.wire]
        assert isinstance(declared, mi.UnionType)
        (given,) = [t for t in declared.types if not isinstance(t, mi.NoneType)]
        if spec.kind is FilterKind.INTERVAL:
            assert isinstance(given, mi.StructType)
        else:
            assert isinstance(given, mi.ListType)
            assert (given.min_length, given.max_length) == (1, spec.max_items)


def test_interval_filters_store_their_time_in_the_column_of_their_field() -> None:
    for spec in GET_ALL_FILTERS:
        if spec.kind is FilterKind.INTERVAL:
            assert spec.column == f"{spec.field}_us"
            assert spec.max_months == 3


def test_account_ids_qualify_only_while_the_setting_is_on() -> None:
    assert "AccountIds" in qualifying_filters(account_ids_qualify=True)
    assert "AccountIds" not in qualifying_filters(account_ids_qualify=False)
    by_setting = [f.wire for f in GET_ALL_FILTERS if f.qualifies is Qualifies.BY_SETTING]
    assert by_setting == ["AccountIds"]


@pytest.mark.parametrize("spec", GET_ALL_FILTERS, ids=lambda f: f.wire)
def test_a_filter_alone_builds_a_query_exactly_when_it_qualifies(spec: object) -> None:
    assert isinstance(spec, type(GET_ALL_FILTERS[0]))
    if spec.kind is FilterKind.INTERVAL:
        value: object = DAY
    elif spec.kind is FilterKind.IDS:
        value = [uuid.UUID(int=1), uuid.UUID(int=1)]
    else:
        assert spec.values is not None
        value = list(spec.values)[:1]
    given = {spec.field: value}
    if spec.qualifies is Qualifies.NO:
        with pytest.raises(InvalidInput, match="at least one of the filters"):
            build_item_query(**given)  # type: ignore[arg-type]
        return
    built = build_item_query(**given)  # type: ignore[arg-type]
    expected = value if spec.kind is FilterKind.INTERVAL else frozenset(value)  # type: ignore[call-overload]
    assert getattr(built, spec.field) == expected


def test_build_item_query_refuses_a_name_that_is_no_filter() -> None:
    with pytest.raises(TypeError, match="unknown filter 'created_utc'"):
        build_item_query(created_utc=DAY)
