"""Transport rules shared by every operation, checked on orderItems/getAll over real HTTP
(docs/behaviour.md#addressing, #envelope, #errors)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from conftest import ServerThread
from contract import assert_matches_schema
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.access.tokens import new_token
from orderitems.settings import Settings

GET_ALL = "/api/connector/v1/orderItems/getAll"
WINDOW = {"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"}
EMPTY_WINDOW = {"StartUtc": "2024-03-01T00:00:00Z", "EndUtc": "2024-03-31T00:00:00Z"}
MIB = 1024 * 1024
LOWER_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def assert_error(
    response: httpx.Response, status: int, *names: str, details: bool = True
) -> dict[str, Any]:
    """The documented status, the official error body, its RequestId, a Message naming names,
    and ``Details`` an object in development mode, null otherwise."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert body["RequestId"] == response.headers["Request-Id"]
    assert isinstance(body["Message"], str)
    assert body["Message"]
    for name in names:
        assert name in body["Message"], body["Message"]
    if details:
        assert isinstance(body["Details"], dict), body
    else:
        assert body["Details"] is None, body
    return body


def page_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_matches_schema(body, "OrderItemResult")
    return body


def ids_of(response: httpx.Response) -> list[str]:
    return [item["Id"] for item in page_of(response)["OrderItems"]]


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    tenant = make_tenant(engine)
    store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id)])
    return tenant


def query(tenant: Tenant, **body: Any) -> dict[str, Any]:
    return tenant.envelope(**{"CreatedUtc": WINDOW, "Limitation": {"Count": 10}, **body})


# --- paths and methods ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/connector/v1/orderitems/getall",
        "/API/CONNECTOR/V1/ORDERITEMS/GETALL",
        "/Api/Connector/V1/OrderItems/GetAll",
        "/api/connector/v1/orderitems/getAll",
    ],
)
def test_the_get_all_path_in_any_letter_case_answers_like_the_canonical_one(
    http: httpx.Client, tenant: Tenant, path: str
) -> None:
    canonical = http.post(GET_ALL, json=query(tenant))
    assert page_of(http.post(path, json=query(tenant))) == page_of(canonical)
    assert_error(http.post(path, json=query(tenant, AccessToken=new_token())), 401)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/connector/v1/orderItems",
        "/api/connector/v1/orderItems/getAl",
        "/api/connector/v1/orderItems/getAll/more",
        "/api/connector/v2/orderItems/getAll",
        "/connector/v1/orderItems/getAll",
    ],
)
def test_an_unknown_path_answers_404_with_the_error_body(
    http: httpx.Client, tenant: Tenant, path: str
) -> None:
    assert_error(http.post(path, json=query(tenant)), 404, path)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_method_other_than_post_answers_404_with_the_error_body(
    http: httpx.Client, tenant: Tenant, method: str
) -> None:
    content = None if method == "GET" else json.dumps(query(tenant)).encode()
    response = http.request(method, GET_ALL, content=content)
    assert_error(response, 404, method)


# --- Request-Id ----------------------------------------------------------------------------


def test_every_response_carries_a_request_id_unique_per_request(
    http: httpx.Client, engine: Engine, tenant: Tenant
) -> None:
    other = make_tenant(engine)
    minimal = {"Prefer": "return=minimal"}
    requests: list[tuple[int, str, dict[str, Any], dict[str, str]]] = [
        (200, GET_ALL, query(tenant), {}),
        (204, GET_ALL, query(tenant, CreatedUtc=EMPTY_WINDOW), minimal),
        (400, GET_ALL, query(tenant, Limitation={"Count": 0}), {}),
        (401, GET_ALL, query(tenant, AccessToken=new_token()), {}),
        (403, GET_ALL, query(tenant, EnterpriseIds=[str(other.enterprise_id)]), {}),
        (404, "/api/connector/v1/nothing/here", query(tenant), {}),
        (413, GET_ALL, query(tenant, Padding="x" * MIB), {}),
    ]
    seen: list[str] = []
    for _ in range(2):
        for status, path, body, headers in requests:
            response = http.post(path, json=body, headers=headers)
            assert response.status_code == status, response.text
            request_id = response.headers.get("Request-Id")
            assert request_id, f"{status} has no Request-Id"
            assert uuid.UUID(request_id).version == 4, request_id
            if status >= 400:
                assert response.json()["RequestId"] == request_id
            seen.append(request_id)
    assert len(set(seen)) == len(seen)


# --- Prefer: return=minimal ----------------------------------------------------------------


@pytest.mark.parametrize(
    "prefer", ["return=minimal", "Return=Minimal", "respond-async, return=minimal"]
)
def test_prefer_minimal_answers_an_empty_page_with_204_and_no_body(
    http: httpx.Client, tenant: Tenant, prefer: str
) -> None:
    body = query(tenant, CreatedUtc=EMPTY_WINDOW)
    response = http.post(GET_ALL, json=body, headers={"Prefer": prefer})
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert response.headers["Request-Id"]
    assert page_of(http.post(GET_ALL, json=body)) == {"OrderItems": [], "Cursor": None}


def test_prefer_minimal_answers_a_non_empty_page_with_200_and_its_items(
    http: httpx.Client, tenant: Tenant
) -> None:
    response = http.post(GET_ALL, json=query(tenant), headers={"Prefer": "return=minimal"})
    assert ids_of(response) == [str(tenant.items[0].id)]


# --- property names and unknown properties -------------------------------------------------


def respell(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every property name found in ``names`` renamed, at any depth."""
    if isinstance(value, dict):
        return {names.get(k, k): respell(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "names",
    [
        {"EnterpriseIds": "enterpriseIDs", "Limitation": "limitation", "Count": "count"},
        {"EnterpriseIds": "ENTERPRISEIDS", "Limitation": "LIMITATION", "Count": "COUNT"},
        {"BillIds": "BILLIDS", "CreatedUtc": "createdUTC"},
        {"BillIds": "billIds", "StartUtc": "startutc", "EndUtc": "ENDUTC"},
        {"ClientToken": "clienttoken", "AccessToken": "ACCESSTOKEN", "Client": "client"},
    ],
    ids=["camel", "upper", "upper-bills", "nested-interval", "envelope"],
)
def test_property_names_in_any_letter_case_are_understood(
    http: httpx.Client, engine: Engine, names: dict[str, str]
) -> None:
    tenant, other = make_tenant(engine), make_tenant(engine)
    old, new = store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, bill_id=uuid.uuid4()),
            make_item(
                enterprise_id=tenant.enterprise_id,
                created_utc=T0 + timedelta(hours=1),
                bill_id=uuid.uuid4(),
            ),
        ],
    )

    def post(**changes: Any) -> httpx.Response:
        body = tenant.envelope(
            EnterpriseIds=[str(tenant.enterprise_id)],
            BillIds=[str(old.bill_id), str(new.bill_id)],
            CreatedUtc=WINDOW,
            Limitation={"Count": 1},
        )
        return http.post(GET_ALL, json=respell({**body, **changes}, names))

    assert ids_of(post()) == [str(new.id)]
    assert ids_of(post(Limitation={"Count": 2})) == [str(new.id), str(old.id)]
    assert ids_of(post(BillIds=[str(old.bill_id)])) == [str(old.id)]
    assert ids_of(post(CreatedUtc=EMPTY_WINDOW)) == []
    assert_error(post(EnterpriseIds=[str(other.enterprise_id)]), 403, "EnterpriseIds")


def test_unknown_properties_and_language_and_culture_codes_are_ignored(
    http: httpx.Client, tenant: Tenant
) -> None:
    plain = http.post(GET_ALL, json=query(tenant))
    extras = query(
        tenant,
        LanguageCode="fr-FR",
        CultureCode="fr-FR",
        Surprise={"Nested": [1, 2, 3]},
        ChargedUtc=WINDOW,
        Cursor="not even a uuid",
        Limitation={"Count": 10, "Extra": True},
        CreatedUtc={**WINDOW, "TimeZone": "Europe/Prague"},
    )
    assert page_of(http.post(GET_ALL, json=extras)) == page_of(plain)
    assert ids_of(plain) == [str(tenant.items[0].id)]


# --- body size -----------------------------------------------------------------------------


JSON = {"Content-Type": "application/json"}


def sized_body(tenant: Tenant, size: int) -> bytes:
    """A valid request of exactly ``size`` bytes, padded with an ignored property."""
    body = query(tenant, Padding="")
    empty = json.dumps(body).encode()
    body["Padding"] = "x" * (size - len(empty))
    content = json.dumps(body).encode()
    assert len(content) == size
    return content


def test_a_body_of_exactly_one_mebibyte_is_accepted(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post(GET_ALL, content=sized_body(tenant, MIB), headers=JSON)
    assert ids_of(response) == [str(tenant.items[0].id)]


@pytest.mark.parametrize("size", [MIB + 1, MIB + MIB // 10])
def test_a_body_over_one_mebibyte_is_refused_with_413(
    http: httpx.Client, tenant: Tenant, size: int
) -> None:
    response = http.post(GET_ALL, content=sized_body(tenant, size), headers=JSON)
    assert_error(response, 413, "body")
    assert ids_of(http.post(GET_ALL, json=query(tenant))) == [str(tenant.items[0].id)]


def test_a_chunked_body_over_one_mebibyte_is_refused_with_413(
    http: httpx.Client, tenant: Tenant
) -> None:
    content = sized_body(tenant, MIB + MIB // 10)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 64 * 1024):
            yield content[start : start + 64 * 1024]

    response = http.post(GET_ALL, content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "body")


# --- the server keeps serving --------------------------------------------------------------


def test_the_server_keeps_serving_after_each_kind_of_error(
    http: httpx.Client, engine: Engine, tenant: Tenant
) -> None:
    other = make_tenant(engine)
    failures: list[tuple[int, str, bytes]] = [
        (400, GET_ALL, b'{"ClientToken": "a",}'),
        (400, GET_ALL, b"[]"),
        (400, GET_ALL, json.dumps(query(tenant, Limitation=5)).encode()),
        (401, GET_ALL, json.dumps(query(tenant, ClientToken=new_token())).encode()),
        (
            403,
            GET_ALL,
            json.dumps(query(tenant, EnterpriseIds=[str(other.enterprise_id)])).encode(),
        ),
        (404, "/nowhere", b"{}"),
        (413, GET_ALL, sized_body(tenant, MIB + MIB // 10)),
    ]
    for status, path, content in failures:
        assert http.post(path, content=content, headers=JSON).status_code == status
        assert ids_of(http.post(GET_ALL, json=query(tenant))) == [str(tenant.items[0].id)]
    with httpx.Client(base_url=str(http.base_url), timeout=30) as fresh:
        assert ids_of(fresh.post(GET_ALL, json=query(tenant))) == [str(tenant.items[0].id)]


# --- what a 200 looks like -----------------------------------------------------------------


def amounts(item: dict[str, Any]) -> Iterator[object]:
    for name in ("UnitAmount", "Amount", "OriginalAmount"):
        amount = item[name]
        yield amount["NetValue"]
        yield amount["GrossValue"]
        yield from (tax["Value"] for tax in amount["TaxValues"])
        for part in amount["Breakdown"]["Items"]:
            yield part["NetValue"]
            yield part["TaxValue"]


def test_a_200_is_json_with_amounts_as_json_numbers(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post(GET_ALL, json=query(tenant))
    assert response.headers["content-type"].split(";")[0].strip() == "application/json"
    (item,) = page_of(response)["OrderItems"]
    values = list(amounts(item))
    assert values
    for value in values:
        assert isinstance(value, int | float), value
        assert not isinstance(value, bool), value
    assert item["Amount"]["GrossValue"] == 120
    assert item["Amount"]["NetValue"] == 100


def test_ids_are_emitted_lowercase_when_the_request_used_upper_case(
    http: httpx.Client, tenant: Tenant
) -> None:
    (item,) = tenant.items
    body = query(
        tenant,
        OrderItemIds=[str(item.id).upper()],
        EnterpriseIds=[str(tenant.enterprise_id).upper()],
        ServiceIds=[str(item.service_id).upper()],
    )
    page = page_of(http.post(GET_ALL, json=body))
    (found,) = page["OrderItems"]
    assert found["Id"] == str(item.id)
    assert page["Cursor"] == str(item.id)
    for key in ("Id", "EnterpriseId", "AccountId", "ServiceId", "ServiceOrderId"):
        assert LOWER_UUID.match(found[key]), (key, found[key])


# --- strict settings -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict(database_url: str, engine: Engine) -> Iterator[httpx.Client]:
    settings = Settings(database_url=database_url, strict_paths=True, strict_json=True)
    with (
        ServerThread(settings, engine) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        yield client


def test_strict_paths_accept_the_canonical_path_and_exact_property_names(
    strict: httpx.Client, tenant: Tenant
) -> None:
    body = query(tenant, LanguageCode="en-US", CultureCode="en-US")
    assert ids_of(strict.post(GET_ALL, json=body)) == [str(tenant.items[0].id)]


@pytest.mark.parametrize(
    "path", ["/api/connector/v1/orderitems/getall", "/API/CONNECTOR/V1/ORDERITEMS/GETALL"]
)
def test_strict_paths_refuse_another_letter_case_with_404(
    strict: httpx.Client, tenant: Tenant, path: str
) -> None:
    assert_error(strict.post(path, json=query(tenant)), 404, path, details=False)


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"limitation": {"Count": 10}}, "limitation"),
        ({"Limitation": {"count": 10}}, "count"),
        ({"enterpriseIDs": "own"}, "enterpriseIDs"),
        ({"CreatedUtc": {"startUtc": WINDOW["StartUtc"], "EndUtc": WINDOW["EndUtc"]}}, "startUtc"),
    ],
)
def test_strict_json_refuses_a_property_name_in_another_case_with_400(
    strict: httpx.Client, tenant: Tenant, override: dict[str, Any], name: str
) -> None:
    body = query(tenant)
    for key, value in override.items():
        body.pop(key[0].upper() + key[1:], None)
        body[key] = [str(tenant.enterprise_id)] if value == "own" else value
    assert_error(strict.post(GET_ALL, json=body), 400, name, details=False)


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"Surprise": 1}, "Surprise"),
        ({"Limitation": {"Count": 10, "Extra": True}}, "Extra"),
        ({"CreatedUtc": {**WINDOW, "TimeZone": "UTC"}}, "TimeZone"),
    ],
)
def test_strict_json_refuses_an_unknown_property_with_400(
    strict: httpx.Client, tenant: Tenant, override: dict[str, Any], name: str
) -> None:
    assert_error(strict.post(GET_ALL, json=query(tenant, **override)), 400, name, details=False)
