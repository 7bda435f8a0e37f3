"""The SDK's window splitting under ``interval_limit``, against servers with each
``ORDERITEMS_INTERVAL_LIMIT`` (docs/behaviour.md#intervals): ``calendar`` (the
default: 3 calendar months, the day clamped) or ``days:N``, and the SDK's window splitting that
follows the server's rule.

The case that matters: a client walking 90-day ``UpdatedUtc`` windows (a widely used Singer tap
for Mews does) is refused by the calendar rule for a window starting Jan 31 to Feb 28 of a
non-leap year, and accepted by ``days:92``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from client_support import NO_JITTER, FaultyTransport, Recorder, make_client
from sqlalchemy.engine import Engine

from conftest import ServerThread
from factories import Tenant, make_item, make_tenant, store_items
from orderitems.client import Client
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


# --- the SDK follows the server's rule ----------------------------------------------------


def windows_sent(recorder: Recorder) -> list[tuple[datetime, datetime]]:
    """Each window once, in the order sent (a window's later pages repeat it)."""
    windows: list[tuple[datetime, datetime]] = []
    for body in recorder.bodies:
        window = body["UpdatedUtc"]
        sent = (
            datetime.fromisoformat(window["StartUtc"]),
            datetime.fromisoformat(window["EndUtc"]),
        )
        if sent not in windows:
            windows.append(sent)
    return windows


def days_client(server: ServerThread, tenant: Tenant, recorder: Recorder) -> Client:
    return Client(
        base_url=server.base_url,
        client_token=tenant.client_token,
        access_token=tenant.access_token,
        retry=NO_JITTER,
        transport=FaultyTransport(recorder),
        sleep=recorder.sleep,
        interval_limit="days:92",
    )


def test_the_client_splits_a_year_into_92_day_windows_for_a_days_server(
    days_server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    period = (START, START + timedelta(days=365))
    with days_client(days_server, tenant, recorder) as api:
        found = [i.id for i in api.iter_order_items(updated_utc=period)]
    assert sorted(found) == sorted(i.id for i in tenant.items if START <= i.updated_utc < period[1])
    assert len(found) == len(tenant.items)
    windows = windows_sent(recorder)
    assert len(windows) == 4  # 92 + 92 + 92 + 89 days; calendar months would take 5 windows
    assert all(end - start <= timedelta(days=92) for start, end in windows)
    assert [start for start, _ in windows[1:]] == [end for _, end in windows[:-1]]
    assert set(recorder.statuses) == {200}


def test_the_client_keeps_calendar_month_windows_by_default(
    server: ServerThread, tenant: Tenant
) -> None:
    recorder = Recorder()
    period = (START, START + timedelta(days=365))
    with make_client(server, tenant, recorder=recorder) as api:
        found = [i.id for i in api.iter_order_items(updated_utc=period)]
    assert len(found) == len(tenant.items)
    windows = windows_sent(recorder)
    assert windows[0] == (START, datetime(2025, 4, 30, tzinfo=UTC))  # 89 days: clamped
    assert len(windows) == 5


def test_a_client_with_a_malformed_interval_limit_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="interval_limit"):
        Client(client_token="c", access_token="a", interval_limit="days:zero")
