"""``ORDERITEMS_INTERVAL_LIMIT`` over real HTTP (docs/behaviour.md#intervals): ``calendar`` (the
default: 3 calendar months, the day clamped) or ``days:N``; the SDK's side is in
tests/client/test_client_interval_limit.py.

The case that matters: a client walking 90-day ``UpdatedUtc`` windows (a widely used Singer tap
for Mews does) is refused by the calendar rule for a window starting Jan 31 to Feb 28 of a
non-leap year, and accepted by ``days:92``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from answers import assert_error, ids_of
from conftest import ServerThread
from contract import check_response
from factories import Tenant, make_item, make_tenant, store_items
from orderitems.settings import Settings

GET_ALL = "/api/connector/v1/orderItems/getAll"
START = datetime(2025, 1, 31, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Tenant:
    """One item updated every 10 days through 2025, from Jan 31."""
    tenant = make_tenant(engine)
    items = []
    for k in range(36):
        created = START + timedelta(days=10 * k)
        items.append(make_item(enterprise_id=tenant.enterprise_id, created_utc=created))
    store_items(engine, tenant, items)
    return tenant


@pytest.fixture(scope="module")
def days_server(database_url: str, engine: Engine) -> Iterator[ServerThread]:
    settings = Settings(
        database_url=database_url, development=True, rate_limit=False, interval_limit="days:92"
    )
    with ServerThread(settings, engine) as running:
        yield running


@pytest.fixture
def days_http(days_server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=days_server.base_url, timeout=30, event_hooks={"response": [check_response]}
    ) as client:
        yield client


def updated_between(tenant: Tenant, start: datetime, end: datetime) -> dict[str, Any]:
    window = {"StartUtc": iso(start), "EndUtc": iso(end)}
    return tenant.envelope(Limitation={"Count": 1000}, UpdatedUtc=window)


@pytest.mark.parametrize("start", [START, datetime(2025, 2, 28, tzinfo=UTC)])
def test_a_90_day_window_from_late_january_is_refused_by_the_calendar_rule(
    http: httpx.Client, tenant: Tenant, start: datetime
) -> None:
    body = updated_between(tenant, start, start + timedelta(days=90))
    assert_error(http.post(GET_ALL, json=body), 400, "UpdatedUtc", "3 months")


@pytest.mark.parametrize("start", [START, datetime(2025, 2, 28, tzinfo=UTC)])
def test_a_90_day_window_from_late_january_is_served_under_days_92(
    days_http: httpx.Client, tenant: Tenant, start: datetime
) -> None:
    end = start + timedelta(days=90)
    found = set(ids_of(days_http.post(GET_ALL, json=updated_between(tenant, start, end))))
    expected = {str(i.id) for i in tenant.items if start <= i.updated_utc < end}
    assert expected
    assert found == expected


@pytest.mark.parametrize(
    ("length", "accepted"),
    [
        (timedelta(days=92), True),
        (timedelta(days=92, microseconds=1), False),
        (timedelta(days=93), False),
    ],
)
def test_days_92_accepts_exactly_92_days_and_refuses_more(
    days_http: httpx.Client, tenant: Tenant, length: timedelta, accepted: bool
) -> None:
    # Nov 30 + 92 days is Mar 2, past the calendar rule's Feb 28: days, not months, are counted.
    start = datetime(2024, 11, 30, tzinfo=UTC)
    response = days_http.post(GET_ALL, json=updated_between(tenant, start, start + length))
    if accepted:
        assert response.status_code == 200, response.text
    else:
        body = assert_error(response, 400, "UpdatedUtc", "92 days")
        assert "2025-03-02T00:00:00+00:00" in body["Message"]


@pytest.mark.parametrize("value", ["days", "days:0", "days:-3", "weeks:12", "Calendar", "days:1e3"])
def test_a_malformed_interval_limit_setting_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(ValueError, match="interval_limit"):
        Settings.from_env({"ORDERITEMS_INTERVAL_LIMIT": value})


def test_the_interval_limit_setting_reads_calendar_and_days() -> None:
    assert Settings.from_env({}).interval_limit == "calendar"
    assert Settings.from_env({"ORDERITEMS_INTERVAL_LIMIT": "days:92"}).interval_limit == "days:92"
