"""Tests of the example client with the orderitems pytest plugin (``pip install orderitems``)."""

import httpx
import pytest
from ledger_client import LedgerClient

PERIOD = ("2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z")


def client_for(sandbox, transport=None, **options):
    pair = sandbox.tokens["gross_uk"]
    return LedgerClient(
        sandbox.base_url, pair.client_token, pair.access_token, transport=transport, **options
    )


def test_reads_every_item(orderitems_sandbox):
    items = list(client_for(orderitems_sandbox, page_size=100).items_created(*PERIOD))
    orderitems_sandbox.assert_complete(items, token="gross_uk", CreatedUtc=PERIOD)


def test_waits_after_429(orderitems_sandbox):
    orderitems_sandbox.fault(429, retry_after=1, count=1, operation="orderItems/getAll")
    items = list(client_for(orderitems_sandbox).items_created(*PERIOD))
    assert orderitems_sandbox.requests("orderItems/getAll", status=429)
    orderitems_sandbox.assert_rate_respected()
    orderitems_sandbox.assert_complete(items, token="gross_uk", CreatedUtc=PERIOD)


@pytest.mark.orderitems(rate_limit_requests=3, rate_limit_window_seconds=2)
def test_survives_the_real_rate_limit(orderitems_sandbox):
    items = list(client_for(orderitems_sandbox, page_size=20).items_created(*PERIOD))
    assert orderitems_sandbox.requests(status=429), "the limit of 3 per 2 s was reached"
    orderitems_sandbox.assert_rate_respected()
    orderitems_sandbox.assert_complete(items, token="gross_uk", CreatedUtc=PERIOD)


def test_smaller_pages_after_408(orderitems_sandbox):
    orderitems_sandbox.fault(408, count=1)
    items = list(client_for(orderitems_sandbox).items_created(*PERIOD))
    statuses = [call.status for call in orderitems_sandbox.requests("orderItems/getAll")]
    assert statuses[0] == 408
    orderitems_sandbox.assert_complete(items, token="gross_uk", CreatedUtc=PERIOD)


def test_survives_429_and_408(orderitems_sandbox):
    """The README's test, as it stands there."""
    orderitems_sandbox.start_drill(seed=7, percent=50)  # answers as a future API version
    orderitems_sandbox.fault(429, retry_after=1, count=1)
    orderitems_sandbox.fault(408, count=1, operation="orderItems/getAll")
    pair = orderitems_sandbox.tokens["gross_uk"]
    client = LedgerClient(orderitems_sandbox.base_url, pair.client_token, pair.access_token)
    items = list(client.items_created(*PERIOD))
    assert [c.status for c in orderitems_sandbox.requests()][:2] == [429, 408]
    orderitems_sandbox.assert_rate_respected()
    orderitems_sandbox.assert_complete(items, token="gross_uk", CreatedUtc=PERIOD)


def test_tolerates_what_mews_may_add(orderitems_sandbox):
    """A drift drill: unknown properties everywhere, unknown enum values on every item."""
    orderitems_sandbox.start_drill(seed=3, percent=100)
    items = list(client_for(orderitems_sandbox).items_created(*PERIOD))
    known_types = {"SpaceOrder", "ProductOrder", "CityTax", "Deposit", "CustomItem"}
    assert items
    assert not any(item["Type"] in known_types for item in items)
    orderitems_sandbox.assert_complete(items, token="gross_uk", CreatedUtc=PERIOD)


def test_in_process(orderitems_transport):
    """The same app in this process: no socket, no port."""
    sandbox = orderitems_transport.sandbox
    injected = sandbox.fault(429, retry_after=1, count=1)
    items = list(client_for(sandbox, orderitems_transport).items_created(*PERIOD))
    assert [c.fault_id for c in sandbox.requests(status=429)] == [injected["Id"]]
    sandbox.assert_rate_respected()
    sandbox.assert_complete(items, token="gross_uk", CreatedUtc=PERIOD)


def test_the_client_sends_json(orderitems_sandbox):
    response = httpx.post(
        orderitems_sandbox.base_url + "/api/connector/v1/orderItems/getAll", content=b"{"
    )
    assert response.status_code == 400
