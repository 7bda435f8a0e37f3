"""orderItems/getAll time intervals and the "at least one filter" rule over real HTTP
(docs/behaviour.md#intervals, #filters).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from answers import assert_error, ids_of
from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.domain.items import AccountingState, OrderItemType

GET_ALL = "/api/connector/v1/orderItems/getAll"
INTERVALS = ["CreatedUtc", "UpdatedUtc", "ConsumedUtc", "CanceledUtc", "ClosedUtc"]
QUALIFYING = [
    "OrderItemIds",
    "AccountIds",
    "ServiceOrderIds",
    "ServiceIds",
    "BillIds",
    "CreatedUtc",
    "UpdatedUtc",
    "ClosedUtc",
]
SECOND = timedelta(seconds=1)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def window(start: datetime | str, end: datetime | str) -> dict[str, str]:
    return {
        "StartUtc": start if isinstance(start, str) else iso(start),
        "EndUtc": end if isinstance(end, str) else iso(end),
    }


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    """One item whose five timestamps are distinct whole seconds, and one a second later."""
    tenant = make_tenant(engine)
    items = [
        make_item(
            enterprise_id=tenant.enterprise_id,
            created_utc=T0 + n * SECOND,
            state=AccountingState.CLOSED,
            canceled_utc=T0 + timedelta(days=2) + n * SECOND,
        )
        for n in range(2)
    ]
    store_items(engine, tenant, items)
    return tenant


def moment_of(tenant: Tenant, n: int, interval: str) -> datetime:
    item = tenant.items[n]
    attribute = interval.removesuffix("Utc").lower() + "_utc"
    value: datetime = getattr(item, attribute)
    return value


def query(tenant: Tenant, **body: Any) -> dict[str, Any]:
    return tenant.envelope(**{"Limitation": {"Count": 100}, **body})


def find(http: httpx.Client, tenant: Tenant, interval: str, start: Any, end: Any) -> list[str]:
    """Ids found with ``interval`` alone (plus ServiceIds so that any interval qualifies)."""
    service_ids = [str(i.service_id) for i in tenant.items]
    body = query(tenant, ServiceIds=service_ids, **{interval: window(start, end)})
    return ids_of(http.post(GET_ALL, json=body))


# --- shape of an interval ------------------------------------------------------------------


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize(
    ("value", "name"),
    [
        ({"EndUtc": "2025-03-02T00:00:00Z"}, "StartUtc"),
        ({"StartUtc": "2025-03-01T00:00:00Z"}, "EndUtc"),
        ({"StartUtc": None, "EndUtc": "2025-03-02T00:00:00Z"}, "StartUtc"),
        ({"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": None}, "EndUtc"),
        ({}, "Utc"),
        ({"StartUtc": "2025-03-02T00:00:00Z", "EndUtc": "2025-03-01T23:59:59Z"}, "StartUtc"),
    ],
    ids=["no-start", "no-end", "null-start", "null-end", "empty", "start-after-end"],
)
def test_an_interval_without_both_ends_or_with_start_after_end_is_refused_with_400(
    http: httpx.Client, tenant: Tenant, interval: str, value: dict[str, Any], name: str
) -> None:
    body = query(tenant, OrderItemIds=[str(tenant.items[0].id)], **{interval: value})
    assert_error(http.post(GET_ALL, json=body), 400, interval, name)


@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize(
    ("start", "end", "accepted"),
    [
        ("2025-01-15T00:00:00Z", "2025-04-15T00:00:00Z", True),
        ("2025-01-15T00:00:00Z", "2025-04-15T00:00:01Z", False),
        ("2025-01-15T10:30:00Z", "2025-04-15T10:30:00Z", True),
        ("2025-01-15T10:30:00Z", "2025-04-15T10:30:00.001Z", False),
        ("2025-01-31T00:00:00Z", "2025-04-30T00:00:00Z", True),
        ("2025-01-31T00:00:00Z", "2025-05-01T00:00:00Z", False),
        ("2024-11-30T00:00:00Z", "2025-02-28T00:00:00Z", True),
        ("2024-11-30T00:00:00Z", "2025-03-01T00:00:00Z", False),
        ("2023-11-30T00:00:00Z", "2024-02-29T00:00:00Z", True),
        ("2023-11-30T00:00:00Z", "2024-03-01T00:00:00Z", False),
        ("2025-01-15T00:00:00Z", "2026-01-15T00:00:00Z", False),
    ],
)
def test_an_interval_is_at_most_three_calendar_months_long_with_the_day_clamped(
    http: httpx.Client, tenant: Tenant, interval: str, start: str, end: str, accepted: bool
) -> None:
    body = query(tenant, OrderItemIds=[str(tenant.items[0].id)], **{interval: window(start, end)})
    response = http.post(GET_ALL, json=body)
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 400, interval)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-12-01T00:00:00Z", "9999-12-02T00:00:00Z"),
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z"),
    ],
    ids=["december-9999", "last-second-9999", "january-year-1"],
)
def test_a_short_interval_at_the_edge_of_the_calendar_is_accepted_and_finds_nothing(
    http: httpx.Client, tenant: Tenant, start: str, end: str
) -> None:
    response = http.post(GET_ALL, json=query(tenant, CreatedUtc=window(start, end)))
    assert ids_of(response) == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00+01:00", "0001-01-02T00:00:00Z"),
        ("9999-12-31T20:00:00Z", "9999-12-31T23:00:00-05:00"),
    ],
    ids=["start-before-year-1-in-utc", "end-after-year-9999-in-utc"],
)
def test_a_date_time_outside_the_utc_calendar_is_refused_with_400_not_a_server_fault(
    http: httpx.Client, tenant: Tenant, start: str, end: str
) -> None:
    response = http.post(GET_ALL, json=query(tenant, CreatedUtc=window(start, end)))
    assert_error(response, 400, "CreatedUtc")


def test_an_offset_is_normalised_to_utc(http: httpx.Client, engine: Engine) -> None:
    tenant = make_tenant(engine)
    ten = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
    store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id, created_utc=ten)])
    found = window("2025-03-10T12:00:00+02:00", "2025-03-10T12:00:01+02:00")
    missed = window("2025-03-10T10:00:00+02:00", "2025-03-10T10:00:01+02:00")
    instant = window("2025-03-10T05:00:00-05:00", "2025-03-10T05:00:00-05:00")
    assert ids_of(http.post(GET_ALL, json=query(tenant, CreatedUtc=found))) == [
        str(tenant.items[0].id)
    ]
    assert ids_of(http.post(GET_ALL, json=query(tenant, CreatedUtc=missed))) == []
    assert ids_of(http.post(GET_ALL, json=query(tenant, CreatedUtc=instant))) == [
        str(tenant.items[0].id)
    ]


# --- which items an interval matches -------------------------------------------------------


@pytest.mark.parametrize("interval", INTERVALS)
def test_equal_start_and_end_match_exactly_that_instant(
    http: httpx.Client, tenant: Tenant, interval: str
) -> None:
    first, second = (moment_of(tenant, n, interval) for n in range(2))
    assert second == first + SECOND
    assert find(http, tenant, interval, first, first) == [str(tenant.items[0].id)]
    assert find(http, tenant, interval, second, second) == [str(tenant.items[1].id)]
    between = iso(first).replace("Z", ".5Z")
    assert find(http, tenant, interval, between, between) == []


@pytest.mark.parametrize("interval", INTERVALS)
def test_an_interval_includes_its_start_and_excludes_its_end(
    http: httpx.Client, tenant: Tenant, interval: str
) -> None:
    first, second = (moment_of(tenant, n, interval) for n in range(2))
    ids = [str(i.id) for i in tenant.items]
    assert find(http, tenant, interval, first, second) == [ids[0]]
    assert find(http, tenant, interval, second, second + SECOND) == [ids[1]]
    assert find(http, tenant, interval, first, second + SECOND) == [ids[1], ids[0]]
    assert find(http, tenant, interval, first - SECOND, first) == []


@pytest.mark.parametrize("interval", ["CanceledUtc", "ClosedUtc"])
def test_a_null_timestamp_never_matches_an_interval(
    http: httpx.Client, engine: Engine, interval: str
) -> None:
    tenant = make_tenant(engine)
    without, with_it = store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, created_utc=T0 + SECOND),
            make_item(
                enterprise_id=tenant.enterprise_id,
                state=AccountingState.CLOSED,
                canceled_utc=T0 + timedelta(days=1),
            ),
        ],
    )
    assert without.canceled_utc is None
    assert without.closed_utc is None
    body = query(
        tenant,
        OrderItemIds=[str(without.id), str(with_it.id)],
        **{interval: window(T0 - timedelta(days=30), T0 + timedelta(days=60))},
    )
    assert ids_of(http.post(GET_ALL, json=body)) == [str(with_it.id)]


# --- at least one filter -------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"ConsumedUtc": {"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"}},
        {"CanceledUtc": {"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"}},
        {"Types": ["SpaceOrder"]},
        {"AccountingStates": ["Open", "Closed", "Inactive", "Canceled"]},
        {"EnterpriseIds": "own"},
        {"Currency": "GBP"},
        {name: None for name in QUALIFYING},
    ],
    ids=[
        "nothing",
        "only-consumed",
        "only-canceled",
        "only-types",
        "only-states",
        "only-enterprises",
        "only-currency",
        "all-qualifying-null",
    ],
)
def test_a_request_without_a_qualifying_filter_is_refused_with_400_naming_them(
    http: httpx.Client, tenant: Tenant, filters: dict[str, Any]
) -> None:
    if filters.get("EnterpriseIds") == "own":
        filters = {"EnterpriseIds": [str(tenant.enterprise_id)]}
    body = assert_error(http.post(GET_ALL, json=query(tenant, **filters)), 400, *QUALIFYING)
    assert "OrderItems" not in body


@pytest.mark.parametrize("name", QUALIFYING)
def test_each_qualifying_filter_alone_is_accepted_and_filters(
    http: httpx.Client, engine: Engine, name: str
) -> None:
    tenant = make_tenant(engine)
    wanted, other = store_items(
        engine,
        tenant,
        [
            make_item(
                enterprise_id=tenant.enterprise_id,
                state=AccountingState.CLOSED,
                type=OrderItemType.CITY_TAX,
            ),
            make_item(
                enterprise_id=tenant.enterprise_id,
                created_utc=T0 + timedelta(days=10),
                state=AccountingState.CLOSED,
            ),
        ],
    )
    values: dict[str, Any] = {
        "OrderItemIds": [str(wanted.id)],
        "AccountIds": [str(wanted.account_id)],
        "ServiceOrderIds": [str(wanted.service_order_id)],
        "ServiceIds": [str(wanted.service_id)],
        "BillIds": [str(wanted.bill_id)],
        "CreatedUtc": window(wanted.created_utc, wanted.created_utc + SECOND),
        "UpdatedUtc": window(wanted.updated_utc, wanted.updated_utc + SECOND),
    }
    assert wanted.closed_utc is not None
    values["ClosedUtc"] = window(wanted.closed_utc, wanted.closed_utc + SECOND)
    response = http.post(GET_ALL, json=query(tenant, **{name: values[name]}))
    assert ids_of(response) == [str(wanted.id)]
    assert str(other.id) not in response.text


def test_a_null_filter_counts_as_not_given_beside_a_real_one(
    http: httpx.Client, tenant: Tenant
) -> None:
    nulls: dict[str, Any] = {name: None for name in QUALIFYING if name != "OrderItemIds"}
    nulls.update(
        ConsumedUtc=None,
        CanceledUtc=None,
        Types=None,
        AccountingStates=None,
        EnterpriseIds=None,
        Currency=None,
    )
    body = query(tenant, OrderItemIds=[str(tenant.items[1].id)], **nulls)
    assert ids_of(http.post(GET_ALL, json=body)) == [str(tenant.items[1].id)]


def test_a_non_qualifying_filter_still_narrows_a_qualifying_one(
    http: httpx.Client, tenant: Tenant
) -> None:
    first, _ = (moment_of(tenant, n, "ConsumedUtc") for n in range(2))
    body = query(
        tenant,
        OrderItemIds=[str(i.id) for i in tenant.items] + [str(uuid.uuid4())],
        ConsumedUtc=window(first, first),
    )
    assert ids_of(http.post(GET_ALL, json=body)) == [str(tenant.items[0].id)]
