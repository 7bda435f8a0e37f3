"""orderItems/getAll refuses bad envelopes, tokens, scopes, JSON and values with the documented
status and error body, never a 500 (docs/behaviour.md#envelope, #errors,
#tokens-and-scope, #filters).

Ids, cursors and enums are in ``test_get_all_validation_ids.py``; time intervals and the
"at least one filter" rule in ``test_get_all_validation_intervals.py``.
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
from orderitems.access.tokens import create_access_token, new_token
from orderitems.store.tokens import set_access_token_enabled

GET_ALL = "/api/connector/v1/orderItems/getAll"
WINDOW = {"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"}
MISSING = object()


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    tenant = make_tenant(engine)
    store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id)])
    return tenant


def query(tenant: Tenant, **body: Any) -> dict[str, Any]:
    """A valid request for the tenant's item, with ``body`` laid over it."""
    return tenant.envelope(**{"CreatedUtc": WINDOW, "Limitation": {"Count": 10}, **body})


# --- envelope ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["ClientToken", "AccessToken", "Client"])
@pytest.mark.parametrize(
    "value",
    [MISSING, "", None, 12, True, ["x"], {"Value": "x"}],
    ids=["missing", "empty", "null", "number", "boolean", "array", "object"],
)
def test_an_envelope_field_missing_empty_or_not_a_string_is_refused_with_400_naming_it(
    http: httpx.Client, tenant: Tenant, field: str, value: object
) -> None:
    body = query(tenant)
    if value is MISSING:
        del body[field]
    else:
        body[field] = value
    assert_error(http.post(GET_ALL, json=body), 400, field)


# --- tokens --------------------------------------------------------------------------------


def test_an_unknown_access_token_is_refused_with_401(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post(GET_ALL, json=query(tenant, AccessToken=new_token()))
    assert_error(response, 401, "AccessToken")


def test_an_unknown_client_token_is_refused_with_401(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post(GET_ALL, json=query(tenant, ClientToken=new_token()))
    assert_error(response, 401, "ClientToken")


def test_an_access_token_paired_with_another_tenants_client_token_is_refused_with_401(
    http: httpx.Client, engine: Engine, tenant: Tenant
) -> None:
    other = make_tenant(engine)
    response = http.post(GET_ALL, json=query(tenant, ClientToken=other.client_token))
    assert_error(response, 401, "ClientToken")


def test_a_revoked_access_token_is_refused_with_401_and_works_again_once_enabled(
    http: httpx.Client, engine: Engine, tenant: Tenant
) -> None:
    label = f"revocable-{uuid.uuid4().hex[:8]}"
    access_token = new_token()
    with engine.begin() as connection:
        create_access_token(
            connection,
            client_token=tenant.client_token,
            client_name="tests",
            access_token=access_token,
            label=label,
            enterprise_ids=tenant.enterprise_ids,
        )
    body = query(tenant, AccessToken=access_token)
    assert ids_of(http.post(GET_ALL, json=body)) == [str(tenant.items[0].id)]
    with engine.begin() as connection:
        assert set_access_token_enabled(connection, label, enabled=False) == 1
    assert_error(http.post(GET_ALL, json=body), 401, "AccessToken")
    with engine.begin() as connection:
        set_access_token_enabled(connection, label, enabled=True)
    assert ids_of(http.post(GET_ALL, json=body)) == [str(tenant.items[0].id)]


# --- enterprise scope ----------------------------------------------------------------------


@pytest.mark.parametrize("with_own", [False, True], ids=["foreign-only", "own-and-foreign"])
def test_enterprise_ids_outside_the_token_scope_are_refused_with_403_and_no_items(
    http: httpx.Client, engine: Engine, tenant: Tenant, with_own: bool
) -> None:
    other = make_tenant(engine)
    store_items(engine, other, [make_item(enterprise_id=other.enterprise_id)])
    requested = [str(other.enterprise_id)]
    if with_own:
        requested.insert(0, str(tenant.enterprise_id))
    response = http.post(GET_ALL, json=query(tenant, EnterpriseIds=requested))
    body = assert_error(response, 403, "EnterpriseIds")
    assert "OrderItems" not in body
    assert str(other.items[0].id) not in response.text


def test_a_single_enterprise_token_accepts_exactly_its_own_enterprise_id(
    http: httpx.Client, tenant: Tenant
) -> None:
    response = http.post(GET_ALL, json=query(tenant, EnterpriseIds=[str(tenant.enterprise_id)]))
    assert ids_of(response) == [str(tenant.items[0].id)]


def test_a_portfolio_token_with_a_subset_of_its_enterprises_sees_only_that_subset(
    http: httpx.Client, engine: Engine
) -> None:
    portfolio = make_tenant(engine, enterprises=2)
    first, second = portfolio.enterprise_ids
    store_items(
        engine,
        portfolio,
        [
            make_item(enterprise_id=first, created_utc=T0 + timedelta(hours=1)),
            make_item(enterprise_id=second, created_utc=T0 + timedelta(hours=2)),
        ],
    )
    in_first, in_second = (str(i.id) for i in portfolio.items)
    assert ids_of(http.post(GET_ALL, json=query(portfolio))) == [in_second, in_first]
    only_first = query(portfolio, EnterpriseIds=[str(first)])
    assert ids_of(http.post(GET_ALL, json=only_first)) == [in_first]
    only_second = query(portfolio, EnterpriseIds=[str(second)])
    assert ids_of(http.post(GET_ALL, json=only_second)) == [in_second]


# --- Limitation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limitation", "name"),
    [
        (MISSING, "Limitation"),
        (None, "Limitation"),
        ({}, "Count"),
        ({"Count": 0}, "Count"),
        ({"Count": -1}, "Count"),
        ({"Count": 1001}, "Count"),
        ({"Count": 10**30}, "Count"),
    ],
    ids=["missing", "null", "no-count", "zero", "negative", "1001", "huge"],
)
def test_a_missing_limitation_or_a_count_outside_1_to_1000_is_refused_with_400(
    http: httpx.Client, tenant: Tenant, limitation: object, name: str
) -> None:
    body = query(tenant)
    if limitation is MISSING:
        del body["Limitation"]
    else:
        body["Limitation"] = limitation
    assert_error(http.post(GET_ALL, json=body), 400, name)


@pytest.mark.parametrize("count", [1, 1000])
def test_a_count_of_1_or_1000_is_accepted(http: httpx.Client, tenant: Tenant, count: int) -> None:
    response = http.post(GET_ALL, json=query(tenant, Limitation={"Count": count}))
    assert ids_of(response) == [str(tenant.items[0].id)]


# --- wrong JSON types ----------------------------------------------------------------------

UUID = "6f9619ff-8b86-4011-b42d-00c04fc964ff"


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ({"ServiceIds": UUID}, ["ServiceIds"]),
        ({"OrderItemIds": {"Id": UUID}}, ["OrderItemIds"]),
        ({"Types": "SpaceOrder"}, ["Types"]),
        ({"Limitation": {"Count": "10"}}, ["Count"]),
        ({"Limitation": {"Count": 10.5}}, ["Count"]),
        ({"Limitation": {"Count": True}}, ["Count"]),
        ({"Limitation": 10}, ["Limitation"]),
        ({"Limitation": [{"Count": 10}]}, ["Limitation"]),
        ({"Currency": {"Code": "GBP"}}, ["Currency"]),
        ({"CreatedUtc": "2025-03-01T00:00:00Z"}, ["CreatedUtc"]),
        ({"CreatedUtc": {**WINDOW, "StartUtc": "2025-03-01T00:00:00"}}, ["CreatedUtc", "Start"]),
        ({"CreatedUtc": {**WINDOW, "EndUtc": "2025-03-31T00:00:00"}}, ["CreatedUtc", "End"]),
        ({"CreatedUtc": {**WINDOW, "StartUtc": "2025-02-30T00:00:00Z"}}, ["CreatedUtc"]),
        ({"CreatedUtc": {**WINDOW, "StartUtc": "2025-03-01T25:00:00Z"}}, ["CreatedUtc"]),
        ({"CreatedUtc": {**WINDOW, "EndUtc": "next tuesday"}}, ["CreatedUtc"]),
        ({"CreatedUtc": {**WINDOW, "EndUtc": 1743379200}}, ["CreatedUtc"]),
        ({"UpdatedUtc": {**WINDOW, "EndUtc": "2025-03-31"}}, ["UpdatedUtc"]),
    ],
    ids=[
        "scalar-for-id-array",
        "object-for-id-array",
        "scalar-for-enum-array",
        "string-count",
        "fractional-count",
        "boolean-count",
        "number-limitation",
        "array-limitation",
        "object-currency",
        "string-interval",
        "start-without-offset",
        "end-without-offset",
        "february-30",
        "hour-25",
        "prose-date",
        "epoch-number",
        "date-only",
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_with_400_naming_the_property(
    http: httpx.Client, tenant: Tenant, override: dict[str, Any], names: list[str]
) -> None:
    assert_error(http.post(GET_ALL, json=query(tenant, **override)), 400, *names)


# --- invalid JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"ClientToken": "a", "AccessToken": "b", "Client": "c",}',
        b'{"ClientToken": "a", "AccessToken": "b", "Client": "c", "Limitation": {"Cou',
        b"[]",
        b"",
        b'"a string"',
        b"null",
        b"42",
        b"{'ClientToken': 'a'}",
    ],
    ids=["trailing-comma", "truncated", "array", "empty", "string", "null", "number", "quotes"],
)
def test_a_body_that_is_not_a_json_object_is_refused_with_400_invalid_json(
    http: httpx.Client, content: bytes
) -> None:
    response = http.post(GET_ALL, content=content, headers={"content-type": "application/json"})
    assert_error(response, 400, "Invalid JSON")


@pytest.mark.parametrize(
    "content",
    [
        b'{"ClientToken": "a", "AccessToken": "b", "Client": "\xff\xfe"}',
        b'{"ClientToken": "a", "AccessToken": "b", "Client": "caf\xe9"}',
        b'\xff{"ClientToken": "a"}',
    ],
    ids=["bytes-ff-fe-in-a-string", "latin-1-in-a-string", "leading-byte-ff"],
)
def test_a_body_that_is_not_utf8_is_refused_with_400_invalid_json(
    http: httpx.Client, content: bytes
) -> None:
    response = http.post(GET_ALL, content=content, headers={"content-type": "application/json"})
    assert_error(response, 400, "Invalid JSON")


def test_a_lone_surrogate_escape_is_refused_with_400_not_a_server_fault(
    http: httpx.Client, tenant: Tenant
) -> None:
    body = query(tenant)
    body["Client"] = "@@"
    content = httpx.Request("POST", "/", json=body).content.replace(b"@@", b"\\ud800")
    response = http.post(GET_ALL, content=content, headers={"content-type": "application/json"})
    assert_error(response, 400)


# --- Currency ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "currency",
    ["EURO", "EU", "", "G1P", 12, True],
    ids=["EURO", "EU", "empty", "digit", "12", "bool"],
)
def test_a_malformed_currency_is_refused_with_400_naming_currency(
    http: httpx.Client, tenant: Tenant, currency: object
) -> None:
    assert_error(http.post(GET_ALL, json=query(tenant, Currency=currency)), 400, "Currency")


@pytest.mark.parametrize("currency", ["EUR", "USD", "XYZ"])
def test_a_currency_without_an_exchange_rate_is_refused_with_400_naming_currency(
    http: httpx.Client, tenant: Tenant, currency: str
) -> None:
    assert_error(http.post(GET_ALL, json=query(tenant, Currency=currency)), 400, "Currency")


def test_the_enterprises_own_currency_is_accepted_and_leaves_amounts_unchanged(
    http: httpx.Client, tenant: Tenant
) -> None:
    plain = http.post(GET_ALL, json=query(tenant))
    converted = http.post(GET_ALL, json=query(tenant, Currency="GBP"))
    assert ids_of(converted) == [str(tenant.items[0].id)]
    assert converted.json() == plain.json()
