"""orderItems/getAll: id arrays, the cursor and enum values are validated as
docs/behaviour.md#filters says (sizes, empty arrays, duplicates, malformed uuids, unknown or
out-of-scope cursors, enum letter case), and every refusal is a 400 with the official error
body, never a 500.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from answers import assert_error, ids_of
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.domain.items import AccountingState, OrderItem, OrderItemType

GET_ALL = "/api/connector/v1/orderItems/getAll"
WINDOW = {"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"}
ID_ARRAYS = ["OrderItemIds", "AccountIds", "ServiceOrderIds", "ServiceIds", "BillIds"]


def field_value(item: OrderItem, array: str) -> str:
    """The item's value for the id array ``array``, as a string."""
    attribute = {
        "OrderItemIds": "id",
        "AccountIds": "account_id",
        "ServiceOrderIds": "service_order_id",
        "ServiceIds": "service_id",
        "BillIds": "bill_id",
        "EnterpriseIds": "enterprise_id",
    }[array]
    return str(getattr(item, attribute))


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    """Four items an hour apart, newest last, of different states and types, each with a bill."""
    tenant = make_tenant(engine)
    kinds = [
        (AccountingState.OPEN, OrderItemType.SPACE_ORDER),
        (AccountingState.CLOSED, OrderItemType.CITY_TAX),
        (AccountingState.CANCELED, OrderItemType.SPACE_ORDER),
        (AccountingState.INACTIVE, OrderItemType.PRODUCT_ORDER),
    ]
    items = [
        make_item(
            enterprise_id=tenant.enterprise_id,
            created_utc=T0 + timedelta(hours=n),
            state=state,
            type=kind,
            bill_id=uuid.uuid4(),
        )
        for n, (state, kind) in enumerate(kinds)
    ]
    store_items(engine, tenant, items)
    return tenant


def query(tenant: Tenant, **body: Any) -> dict[str, Any]:
    return tenant.envelope(**{"Limitation": {"Count": 100}, **body})


def newest_first(items: list[OrderItem]) -> list[str]:
    return [str(i.id) for i in sorted(items, key=lambda i: (i.created_utc, i.id), reverse=True)]


def random_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


# --- array sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize("array", [*ID_ARRAYS, "EnterpriseIds", "AccountingStates", "Types"])
def test_an_empty_array_is_refused_with_400_naming_the_property(
    http: httpx.Client, tenant: Tenant, array: str
) -> None:
    response = http.post(GET_ALL, json=query(tenant, CreatedUtc=WINDOW, **{array: []}))
    assert_error(response, 400, array)


@pytest.mark.parametrize(
    "array", ["OrderItemIds", "ServiceOrderIds", "ServiceIds", "BillIds", "EnterpriseIds"]
)
def test_1001_ids_in_an_array_are_refused_with_400_naming_the_property(
    http: httpx.Client, tenant: Tenant, array: str
) -> None:
    values = [field_value(tenant.items[0], array), *random_ids(1000)]
    response = http.post(GET_ALL, json=query(tenant, CreatedUtc=WINDOW, **{array: values}))
    assert_error(response, 400, array)


@pytest.mark.parametrize("array", ["OrderItemIds", "ServiceOrderIds", "ServiceIds", "BillIds"])
def test_1000_ids_in_an_array_are_accepted(http: httpx.Client, tenant: Tenant, array: str) -> None:
    values = [field_value(tenant.items[0], array), *random_ids(999)]
    response = http.post(GET_ALL, json=query(tenant, **{array: values}))
    assert ids_of(response) == [str(tenant.items[0].id)]


def test_1000_copies_of_the_own_enterprise_id_are_accepted(
    http: httpx.Client, tenant: Tenant
) -> None:
    body = query(tenant, CreatedUtc=WINDOW, EnterpriseIds=[str(tenant.enterprise_id)] * 1000)
    assert ids_of(http.post(GET_ALL, json=body)) == newest_first(tenant.items)


def test_101_account_ids_are_refused_with_400(http: httpx.Client, tenant: Tenant) -> None:
    values = [field_value(tenant.items[0], "AccountIds"), *random_ids(100)]
    response = http.post(GET_ALL, json=query(tenant, AccountIds=values))
    assert_error(response, 400, "AccountIds")


def test_100_account_ids_are_accepted(http: httpx.Client, tenant: Tenant) -> None:
    values = [field_value(tenant.items[0], "AccountIds"), *random_ids(99)]
    response = http.post(GET_ALL, json=query(tenant, AccountIds=values))
    assert ids_of(response) == [str(tenant.items[0].id)]


@pytest.mark.parametrize("array", ID_ARRAYS)
def test_a_duplicated_id_returns_its_item_once(
    http: httpx.Client, tenant: Tenant, array: str
) -> None:
    value = field_value(tenant.items[1], array)
    response = http.post(GET_ALL, json=query(tenant, **{array: [value, value.upper(), value]}))
    assert ids_of(response) == [str(tenant.items[1].id)]


# --- malformed uuids -----------------------------------------------------------------------

BAD_UUIDS = [
    "not-a-uuid",
    "6f9619ff-8b86-4011-b42d-00c04fc964fz",
    "6f9619ff-8b86-4011-b42d-00c04fc964f",
    "",
    12,
    None,
]
BAD_UUID_IDS = ["words", "non-hex", "too-short", "empty", "number", "null"]


@pytest.mark.parametrize("bad", BAD_UUIDS, ids=BAD_UUID_IDS)
@pytest.mark.parametrize("array", [*ID_ARRAYS, "EnterpriseIds"])
def test_a_malformed_uuid_in_an_id_array_is_refused_with_400_naming_the_property(
    http: httpx.Client, tenant: Tenant, array: str, bad: object
) -> None:
    values = [field_value(tenant.items[0], array), bad]
    response = http.post(GET_ALL, json=query(tenant, CreatedUtc=WINDOW, **{array: values}))
    assert_error(response, 400, array)


@pytest.mark.parametrize("bad", [b for b in BAD_UUIDS if b is not None], ids=BAD_UUID_IDS[:-1])
def test_a_malformed_cursor_is_refused_with_400_naming_the_cursor(
    http: httpx.Client, tenant: Tenant, bad: object
) -> None:
    body = query(tenant, CreatedUtc=WINDOW, Limitation={"Count": 10, "Cursor": bad})
    assert_error(http.post(GET_ALL, json=body), 400, "Cursor")


# --- cursors -------------------------------------------------------------------------------


def test_the_cursor_of_a_visible_item_continues_after_it(
    http: httpx.Client, tenant: Tenant
) -> None:
    order = newest_first(tenant.items)
    body = query(tenant, CreatedUtc=WINDOW, Limitation={"Count": 10, "Cursor": order[1].upper()})
    assert ids_of(http.post(GET_ALL, json=body)) == order[2:]


def test_an_unknown_well_formed_cursor_is_refused_with_400_naming_the_cursor(
    http: httpx.Client, tenant: Tenant
) -> None:
    body = query(tenant, CreatedUtc=WINDOW, Limitation={"Count": 10, "Cursor": str(uuid.uuid4())})
    assert_error(http.post(GET_ALL, json=body), 400, "Cursor")


def test_another_tenants_item_as_cursor_is_refused_like_an_unknown_one(
    http: httpx.Client, engine: Engine, tenant: Tenant
) -> None:
    other = make_tenant(engine)
    (foreign,) = store_items(engine, other, [make_item(enterprise_id=other.enterprise_id)])
    body = query(tenant, CreatedUtc=WINDOW, Limitation={"Count": 10, "Cursor": str(foreign.id)})
    unknown = query(
        tenant, CreatedUtc=WINDOW, Limitation={"Count": 10, "Cursor": str(uuid.uuid4())}
    )
    response = http.post(GET_ALL, json=body)
    assert_error(response, 400, "Cursor")
    reference = http.post(GET_ALL, json=unknown)
    assert_error(reference, 400, "Cursor")
    normalise = {str(foreign.id): "<id>", unknown["Limitation"]["Cursor"]: "<id>"}
    messages = [r.json()["Message"] for r in (response, reference)]
    for old, new in normalise.items():
        messages = [m.replace(old, new) for m in messages]
    assert messages[0] == messages[1]


def test_a_cursor_of_an_item_outside_the_requested_enterprise_ids_but_visible_is_accepted(
    http: httpx.Client, engine: Engine
) -> None:
    """The cursor need only be visible to the token (docs/behaviour.md#order-and-cursor), not match
    the filter, and EnterpriseIds is a filter within the token's scope."""
    portfolio = make_tenant(engine, enterprises=2)
    first, second = portfolio.enterprise_ids
    older, newer = store_items(
        engine,
        portfolio,
        [
            make_item(enterprise_id=first, created_utc=T0 + timedelta(days=1)),
            make_item(enterprise_id=first, created_utc=T0 + timedelta(days=3)),
        ],
    )
    (in_second,) = store_items(
        engine, portfolio, [make_item(enterprise_id=second, created_utc=T0 + timedelta(days=2))]
    )
    body = query(
        portfolio,
        CreatedUtc=WINDOW,
        EnterpriseIds=[str(first)],
        Limitation={"Count": 10, "Cursor": str(in_second.id)},
    )
    assert ids_of(http.post(GET_ALL, json=body)) == [str(older.id)]
    assert newer.created_utc > in_second.created_utc


# --- enums ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "bad"),
    [
        ("Types", "Spaceorders"),
        ("Types", "Space Order"),
        ("Types", ""),
        ("Types", 1),
        ("Types", None),
        ("AccountingStates", "Opened"),
        ("AccountingStates", "Cancelled"),
        ("AccountingStates", 0),
    ],
)
def test_an_unknown_enum_value_is_refused_with_400_naming_the_property(
    http: httpx.Client, tenant: Tenant, array: str, bad: object
) -> None:
    good = {"Types": "SpaceOrder", "AccountingStates": "Open"}[array]
    response = http.post(GET_ALL, json=query(tenant, CreatedUtc=WINDOW, **{array: [good, bad]}))
    assert_error(response, 400, array)


@pytest.mark.parametrize(
    ("filters", "wanted"),
    [
        ({"Types": ["spaceorder"]}, {0, 2}),
        ({"Types": ["SPACEORDER", "citytax"]}, {0, 1, 2}),
        ({"Types": ["pRoDuCtOrDeR"]}, {3}),
        ({"AccountingStates": ["OPEN"]}, {0}),
        ({"AccountingStates": ["closed", "CANCELED"]}, {1, 2}),
        ({"AccountingStates": ["inactive"], "Types": ["productorder"]}, {3}),
        ({"AccountingStates": ["open"], "Types": ["cItYtAx"]}, set()),
    ],
)
def test_enum_values_in_any_letter_case_filter_like_the_canonical_spelling(
    http: httpx.Client, tenant: Tenant, filters: dict[str, Any], wanted: set[int]
) -> None:
    response = http.post(GET_ALL, json=query(tenant, CreatedUtc=WINDOW, **filters))
    assert ids_of(response) == newest_first([tenant.items[n] for n in wanted])
    for item in response.json()["OrderItems"]:
        assert item["Type"] in {t.value for t in OrderItemType}
        assert item["AccountingState"] in {s.value for s in AccountingState}
