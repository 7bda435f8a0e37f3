"""orderItems/cancel over real HTTP on both databases (docs/behaviour.md#cancel)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from contract import assert_matches_schema
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.domain.items import AccountingState

CANCEL = "/api/connector/v1/orderItems/cancel"
GET_ALL = "/api/connector/v1/orderItems/getAll"

#: Properties a cancel changes; every other one must come back exactly as stored.
CHANGED = {"AccountingState", "CanceledUtc", "UpdatedUtc", "UpdaterProfileId"}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def fetch(http: httpx.Client, tenant: Tenant, **filters: Any) -> dict[str, dict[str, Any]]:
    """Items by id, as getAll returns them."""
    if not filters:
        filters = {"OrderItemIds": [str(i.id) for i in tenant.items]}
    response = http.post(GET_ALL, json=tenant.envelope(Limitation={"Count": 1000}, **filters))
    assert response.status_code == 200, response.text
    return {item["Id"]: item for item in response.json()["OrderItems"]}


def cancel(http: httpx.Client, tenant: Tenant, *ids: Any, **body: Any) -> httpx.Response:
    return http.post(CANCEL, json=tenant.envelope(OrderItemIds=[str(i) for i in ids], **body))


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    """Open, Inactive, Closed and Canceled items, a day apart."""
    tenant = make_tenant(engine)
    states = [
        AccountingState.OPEN,
        AccountingState.OPEN,
        AccountingState.INACTIVE,
        AccountingState.CLOSED,
        AccountingState.CANCELED,
    ]
    store_items(
        engine,
        tenant,
        [
            make_item(
                enterprise_id=tenant.enterprise_id, created_utc=T0 + timedelta(days=n), state=s
            )
            for n, s in enumerate(states)
        ],
    )
    return tenant


def test_cancel_sets_the_state_the_times_and_the_tokens_profile_and_nothing_else(
    http: httpx.Client, tenant: Tenant
) -> None:
    before = fetch(http, tenant)
    targets = [str(i.id) for i in tenant.items[:3]]  # Open, Open, Inactive
    started = datetime.now(UTC)
    response = cancel(http, tenant, *targets)
    finished = datetime.now(UTC)

    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert_matches_schema(response.json(), "Unit")
    after = fetch(http, tenant)
    moments = set()
    for item_id in targets:
        item = after[item_id]
        assert item["AccountingState"] == "Canceled"
        assert item["CanceledUtc"] == item["UpdatedUtc"]
        assert started - timedelta(seconds=1) <= parse(item["CanceledUtc"]) <= finished
        assert item["UpdaterProfileId"] == str(tenant.profile_id)
        assert item["Options"] == {"CanceledWithReservation": False}
        assert {k: v for k, v in item.items() if k not in CHANGED} == {
            k: v for k, v in before[item_id].items() if k not in CHANGED
        }
        moments.add(item["CanceledUtc"])
    assert len(moments) == 1, "one request, one CanceledUtc"
    untouched = [str(i.id) for i in tenant.items[3:]]
    assert [after[i] for i in untouched] == [before[i] for i in untouched]


def test_cancel_is_all_or_nothing_when_one_item_is_closed(
    http: httpx.Client, tenant: Tenant
) -> None:
    before = fetch(http, tenant)
    open_id, closed_id = tenant.items[0].id, tenant.items[3].id
    response = cancel(http, tenant, open_id, closed_id)

    assert response.status_code == 400, response.text
    assert_matches_schema(response.json(), "ConnectorApiExceptionResult")
    message = response.json()["Message"]
    assert message.startswith("Invalid OrderItemIds")
    assert str(closed_id) in message
    assert str(open_id) not in message
    assert fetch(http, tenant) == before


def test_cancel_is_all_or_nothing_when_one_id_is_unknown(
    http: httpx.Client, tenant: Tenant
) -> None:
    before = fetch(http, tenant)
    unknown = uuid.uuid4()
    response = cancel(http, tenant, tenant.items[0].id, unknown)

    assert response.status_code == 400, response.text
    assert response.json()["Message"].startswith("Invalid OrderItemIds")
    assert str(unknown) in response.json()["Message"]
    assert fetch(http, tenant) == before


def test_an_item_of_another_enterprise_is_refused_exactly_like_an_unknown_id(
    http: httpx.Client, engine: Engine, tenant: Tenant
) -> None:
    other = make_tenant(engine)
    (foreign,) = store_items(engine, other, [make_item(enterprise_id=other.enterprise_id)])
    unknown = uuid.uuid4()

    refused = cancel(http, tenant, foreign.id)
    missing = cancel(http, tenant, unknown)

    assert refused.status_code == missing.status_code == 400
    assert refused.json()["Message"] == missing.json()["Message"].replace(
        str(unknown), str(foreign.id)
    )
    assert fetch(http, other)[str(foreign.id)]["AccountingState"] == "Open"


def test_an_already_canceled_item_is_accepted_and_left_unchanged(
    http: httpx.Client, tenant: Tenant
) -> None:
    canceled_id = str(tenant.items[4].id)
    before = fetch(http, tenant)[canceled_id]

    response = cancel(http, tenant, canceled_id, tenant.items[0].id)

    assert response.status_code == 200, response.text
    after = fetch(http, tenant)
    assert after[canceled_id] == before
    assert after[str(tenant.items[0].id)]["AccountingState"] == "Canceled"


def test_canceling_twice_keeps_the_first_cancellation(http: httpx.Client, tenant: Tenant) -> None:
    target = str(tenant.items[0].id)
    assert cancel(http, tenant, target).status_code == 200
    first = fetch(http, tenant)[target]

    assert cancel(http, tenant, target, target).status_code == 200

    assert fetch(http, tenant)[target] == first


def test_prefer_return_minimal_answers_204_without_a_body(
    http: httpx.Client, tenant: Tenant
) -> None:
    response = http.post(
        CANCEL,
        json=tenant.envelope(OrderItemIds=[str(tenant.items[0].id)]),
        headers={"Prefer": "return=minimal"},
    )
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert fetch(http, tenant)[str(tenant.items[0].id)]["AccountingState"] == "Canceled"


def test_a_canceled_item_is_found_at_once_by_the_canceled_and_updated_filters(
    http: httpx.Client, tenant: Tenant
) -> None:
    target = str(tenant.items[1].id)
    started = datetime.now(UTC) - timedelta(seconds=1)
    assert cancel(http, tenant, target).status_code == 200
    window = {"StartUtc": iso(started), "EndUtc": iso(datetime.now(UTC) + timedelta(seconds=1))}

    by_canceled = fetch(http, tenant, CanceledUtc=window, UpdatedUtc=window)
    assert list(by_canceled) == [target]
    by_updated = fetch(http, tenant, UpdatedUtc=window)
    assert list(by_updated) == [target]
    instant = by_updated[target]["CanceledUtc"]
    exact = fetch(http, tenant, UpdatedUtc={"StartUtc": instant, "EndUtc": instant})
    assert list(exact) == [target]


def test_canceling_while_a_client_pages_never_skips_or_repeats_an_item(
    http: httpx.Client, engine: Engine
) -> None:
    tenant = make_tenant(engine)
    store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, created_utc=T0 + timedelta(hours=n))
            for n in range(12)
        ],
    )
    window = {"StartUtc": iso(T0), "EndUtc": iso(T0 + timedelta(days=1))}
    seen: list[str] = []
    cursor = None
    while True:
        page = http.post(
            GET_ALL,
            json=tenant.envelope(CreatedUtc=window, Limitation={"Count": 5, "Cursor": cursor}),
        ).json()
        seen += [i["Id"] for i in page["OrderItems"]]
        cursor = page["Cursor"]
        if cursor is None:
            break
        # cancel one item already seen and one not seen yet, between pages
        unseen = [i.id for i in tenant.items if str(i.id) not in seen]
        assert cancel(http, tenant, seen[-1], *unseen[:1]).status_code == 200

    assert seen == [str(i.id) for i in reversed(tenant.items)]


def test_a_portfolio_token_must_name_the_enterprise(http: httpx.Client, engine: Engine) -> None:
    portfolio = make_tenant(engine, enterprises=2)
    (item,) = store_items(engine, portfolio, [make_item(enterprise_id=portfolio.enterprise_ids[1])])

    missing = cancel(http, portfolio, item.id)
    assert missing.status_code == 400
    assert missing.json()["Message"].startswith("Invalid EnterpriseId")

    outside = cancel(http, portfolio, item.id, EnterpriseId=str(uuid.uuid4()))
    assert outside.status_code == 403
    assert outside.json()["Message"].startswith("Invalid EnterpriseId")

    wrong = cancel(http, portfolio, item.id, EnterpriseId=str(portfolio.enterprise_ids[0]))
    assert wrong.status_code == 400
    assert wrong.json()["Message"].startswith("Invalid OrderItemIds")

    right = cancel(http, portfolio, item.id, EnterpriseId=str(portfolio.enterprise_ids[1]))
    assert right.status_code == 200, right.text
    assert fetch(http, portfolio)[str(item.id)]["AccountingState"] == "Canceled"


def test_a_single_enterprise_token_ignores_enterprise_id(
    http: httpx.Client, tenant: Tenant
) -> None:
    response = cancel(http, tenant, tenant.items[0].id, EnterpriseId=str(uuid.uuid4()))
    assert response.status_code == 200, response.text
    assert fetch(http, tenant)[str(tenant.items[0].id)]["AccountingState"] == "Canceled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "OrderItemIds"),
        ({"OrderItemIds": None}, "OrderItemIds"),
        ({"OrderItemIds": []}, "OrderItemIds"),
        ({"OrderItemIds": [str(uuid.uuid4()) for _ in range(11)]}, "OrderItemIds"),
        ({"OrderItemIds": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}, "OrderItemIds"),
        ({"OrderItemIds": ["not-a-uuid"]}, "OrderItemIds"),
        ({"OrderItemIds": [str(uuid.uuid4())], "EnterpriseId": 7}, "EnterpriseId"),
    ],
)
def test_malformed_requests_answer_400_naming_the_property(
    http: httpx.Client, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    before = fetch(http, tenant)
    response = http.post(CANCEL, json=tenant.envelope(**body))
    assert response.status_code == 400, response.text
    assert response.json()["Message"].startswith(f"Invalid {field}")
    assert fetch(http, tenant) == before


def test_ten_ids_with_duplicates_are_accepted(http: httpx.Client, tenant: Tenant) -> None:
    ids = [str(tenant.items[0].id)] * 6 + [str(tenant.items[1].id)] * 4
    response = http.post(CANCEL, json=tenant.envelope(orderitemids=ids))
    assert response.status_code == 200, response.text
    after = fetch(http, tenant)
    assert {after[i]["AccountingState"] for i in ids} == {"Canceled"}


def test_an_unknown_access_token_answers_401_and_cancels_nothing(
    http: httpx.Client, tenant: Tenant
) -> None:
    body = tenant.envelope(OrderItemIds=[str(tenant.items[0].id)])
    body["AccessToken"] = "nope"
    response = http.post(CANCEL, json=body)
    assert response.status_code == 401
    assert fetch(http, tenant)[str(tenant.items[0].id)]["AccountingState"] == "Open"


def test_the_path_is_matched_in_any_letter_case(http: httpx.Client, tenant: Tenant) -> None:
    response = http.post(
        "/api/connector/v1/orderitems/CANCEL",
        json=tenant.envelope(OrderItemIds=[str(tenant.items[0].id)]),
    )
    assert response.status_code == 200, response.text
