"""The client's pure parts: windows, chunks, retry arithmetic, errors, tolerant models."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderitems.client import (
    ApiError,
    Client,
    Forbidden,
    InvalidResponse,
    NotFound,
    OrderItem,
    OrderItemFilter,
    OrderItemType,
    RateLimited,
    RetryPolicy,
    ServerError,
    Unauthorized,
    plan_requests,
    split_period,
    to_wire,
)
from orderitems.client.errors import error_for
from orderitems.client.models import load
from orderitems.client.queries import add_months, chunked
from orderitems.client.retry import parse_retry_after
from orderitems.domain.query import parse_time_interval

UTC_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@given(start=UTC_TIMES, length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(3000)))
def test_windows_chain_without_gap_or_overlap_and_each_passes_the_servers_own_rule(
    start: datetime, length: timedelta
) -> None:
    end = start + length
    windows = split_period(start, end)
    assert windows[0].start_utc == start
    assert windows[-1].end_utc == end
    for before, after in itertools.pairwise(windows):
        assert before.end_utc == after.start_utc
    for window in windows:
        parse_time_interval("CreatedUtc", window.start_utc, window.end_utc)  # raises if too long
        assert window.start_utc < window.end_utc or start == end


def test_windows_follow_calendar_months_and_clamp_at_the_months_end() -> None:
    jan31 = datetime(2025, 1, 31, tzinfo=UTC)
    starts = [
        w.start_utc.date().isoformat()
        for w in split_period(jan31, datetime(2026, 1, 1, tzinfo=UTC))
    ]
    assert starts == ["2025-01-31", "2025-04-30", "2025-07-30", "2025-10-30"]
    assert add_months(datetime(2024, 11, 30, tzinfo=UTC), 3) == datetime(2025, 2, 28, tzinfo=UTC)


def test_periods_must_be_timezone_aware_and_in_order() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        split_period(datetime(2025, 1, 1), datetime(2025, 2, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="after it ends"):
        split_period(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    plus_two = timezone(timedelta(hours=2))
    [window] = split_period(
        datetime(2025, 1, 1, 2, tzinfo=plus_two), datetime(2025, 1, 2, tzinfo=UTC)
    )
    assert window.start_utc == datetime(2025, 1, 1, tzinfo=UTC)
    assert window.start_utc.tzinfo is UTC
    instant = datetime(2025, 1, 1, tzinfo=UTC)
    assert [(w.start_utc, w.end_utc) for w in split_period(instant, instant)] == [
        (instant, instant)
    ]


def test_id_lists_are_deduplicated_and_chunked_to_the_api_limits() -> None:
    ids = [uuid.uuid4() for _ in range(2500)]
    assert [len(c) for c in chunked([*ids, *ids[:10]], 1000)] == [1000, 1000, 500]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    query = OrderItemFilter(
        account_ids=ids[:250],
        service_ids=ids[:1500],
        created_utc=(start, add_months(start, 7)),
        types=[OrderItemType.CITY_TAX, "CityTax", "SomethingNew"],
    )
    requests = plan_requests(query, page_size=50)
    assert len(requests) == 3 * 3 * 2, "windows x account chunks x service chunks"
    assert all(len(r.account_ids or ()) <= 100 for r in requests)
    assert all(r.types == ("CityTax", "SomethingNew") for r in requests)
    body = msgspec.to_builtins(requests[0])
    assert set(body) == {"Limitation", "AccountIds", "ServiceIds", "CreatedUtc", "Types"}
    assert body["Limitation"] == {"Count": 50}
    with pytest.raises(ValueError, match="empty list"):
        plan_requests(OrderItemFilter(bill_ids=[]))
    with pytest.raises(ValueError, match="page_size"):
        plan_requests(query, page_size=1001)


def test_backoff_doubles_up_to_its_ceiling_and_jitter_keeps_to_the_upper_half() -> None:
    plain = RetryPolicy(jitter=False, backoff_base=1, backoff_max=10)
    assert [plain.backoff(n) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    jittered = RetryPolicy(backoff_base=1, backoff_max=10, rng=random.Random(3))
    for n in range(6):
        assert plain.backoff(n) / 2 <= jittered.backoff(n) <= plain.backoff(n)
    assert plain.rate_limit_wait(12.5, 0) == 12.5
    assert RetryPolicy(max_retry_after=60).rate_limit_wait(3600, 0) == 60
    assert plain.rate_limit_wait(None, 2) == 4


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("17", now=now) == 17
    assert parse_retry_after(" 1.5 ", now=now) == 1.5
    assert parse_retry_after("Sun, 01 Jun 2025 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Sun, 01 Jun 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None, now=now) is None
    assert parse_retry_after("-5", now=now) == 0


def test_error_answers_become_the_documented_exceptions() -> None:
    body = json.dumps({"Message": "Invalid AccessToken.", "RequestId": "r1", "Details": None})
    refused = error_for(401, body.encode(), request_id="header-rid")
    assert isinstance(refused, Unauthorized)
    assert isinstance(refused, ApiError)
    assert (refused.status, refused.message, refused.request_id) == (
        401,
        "Invalid AccessToken.",
        "r1",
    )
    assert str(refused) == "401 Invalid AccessToken. (request id r1)"
    bare = error_for(503, b"<html>Bad gateway</html>", request_id="h2")
    assert isinstance(bare, ServerError)
    assert (bare.message, bare.request_id) == ("<html>Bad gateway</html>", "h2")
    assert isinstance(error_for(403, b""), Forbidden)
    assert isinstance(error_for(404, b"", reason="Not Found"), NotFound)
    assert error_for(404, b"", reason="Not Found").message == "Not Found"
    limited = error_for(429, b"{}", retry_after=4)
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 4
    assert type(error_for(409, b"{}")) is ApiError


def sample_item(**changes: Any) -> dict[str, Any]:
    amount = {
        "Currency": "GBP",
        "NetValue": 100.0,
        "GrossValue": 120.0,
        "TaxValues": [{"Code": "UK-S", "Value": 20.0}],
        "Breakdown": {"Items": [{"TaxRateCode": "UK-S", "NetValue": 100.0, "TaxValue": 20.0}]},
    }
    item = {
        "Id": str(uuid.uuid4()),
        "EnterpriseId": str(uuid.uuid4()),
        "AccountId": None,
        "AccountType": None,
        "ServiceId": str(uuid.uuid4()),
        "ServiceOrderId": str(uuid.uuid4()),
        "Notes": None,
        "BillId": None,
        "AccountingCategoryId": None,
        "BillingName": None,
        "ExternalIdentifier": None,
        "UnitCount": 1,
        "UnitAmount": amount,
        "Amount": amount,
        "OriginalAmount": amount,
        "RevenueType": "Service",
        "CreatorProfileId": str(uuid.uuid4()),
        "UpdaterProfileId": str(uuid.uuid4()),
        "CreatedUtc": "2025-03-01T00:00:00Z",
        "UpdatedUtc": "2025-03-01T00:05:00.250000Z",
        "ConsumedUtc": "2025-03-04T00:00:00Z",
        "CanceledUtc": None,
        "ClosedUtc": None,
        "StartUtc": None,
        "ClaimedUtc": None,
        "AccountingState": "Open",
        "Type": "SpaceOrder",
        "Options": {"CanceledWithReservation": False},
        "Data": None,
        "TaxExemptionReason": None,
        "TaxExemptionLegalReference": None,
    }
    item.update(changes)
    return item


def decoded(document: dict[str, Any]) -> Any:
    return msgspec.json.Decoder(float_hook=Decimal).decode(json.dumps(document))


def test_new_enum_values_and_new_properties_are_kept_not_fatal() -> None:
    document = sample_item(
        Type="AllowanceLoss2027",
        AccountingState="Frozen",
        TaxExemptionReason="FR_293_B",
        LoyaltyTier="Gold",
        Data={
            "Discriminator": "Voucher",
            "Rebate": None,
            "Product": None,
            "AllowanceDiscount": None,
            "AllowanceProfits": None,
            "Voucher": {"VoucherId": "v-1", "Amount": 12.50},
        },
        Options={"CanceledWithReservation": True, "Complimentary": True},
    )
    item = load(OrderItem, decoded(document))
    assert (item.type, item.accounting_state, item.tax_exemption_reason) == (
        "AllowanceLoss2027",
        "Frozen",
        "FR_293_B",
    )
    assert item.extra == {"LoyaltyTier": "Gold"}
    assert item.data is not None
    assert item.data.extra["Voucher"]["Amount"] == Decimal("12.50")
    assert item.options.extra == {"Complimentary": True}
    assert item.amount.net_value == Decimal("100.0")
    assert item.updated_utc == datetime(2025, 3, 1, 0, 5, 0, 250000, tzinfo=UTC)
    again = msgspec.json.Encoder(decimal_format="number").encode(to_wire(item))
    assert json.loads(again) == json.loads(json.dumps(document)), "written back as it arrived"


def test_a_success_whose_body_is_not_the_operations_shape_is_an_invalid_response() -> None:
    answers = iter(
        [
            httpx.Response(200, content=b"<html>proxy login</html>"),
            httpx.Response(200, json={"OrderItems": [{"Id": "not-a-uuid"}], "Cursor": None}),
        ]
    )
    client = Client(
        client_token="c",
        access_token="a",
        transport=httpx.MockTransport(lambda _request: next(answers)),
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with client:
        for expected in ("not JSON", "unexpected answer"):
            with pytest.raises(InvalidResponse, match=expected):
                list(client.iter_order_items(created_utc=(start, start + timedelta(1))))


def test_requests_carry_the_envelope_and_go_to_the_operations_address() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = Client(
        client_token="CT",
        access_token="AT",
        client_name="Sample Client 1.0.0",
        base_url="https://api.mews-demo.com/",
        transport=httpx.MockTransport(answer),
    )
    with client:
        assert client.cancel([uuid.UUID(int=1)]).canceled == [uuid.UUID(int=1)]
        assert list(client.iter_order_items(bill_ids=[uuid.UUID(int=2)])) == []
    assert [str(r.url) for r in seen] == [
        "https://api.mews-demo.com/api/connector/v1/orderItems/cancel",
        "https://api.mews-demo.com/api/connector/v1/orderItems/getAll",
    ]
    body = json.loads(seen[0].content)
    assert body == {
        "ClientToken": "CT",
        "AccessToken": "AT",
        "Client": "Sample Client 1.0.0",
        "OrderItemIds": ["00000000-0000-0000-0000-000000000001"],
    }
    assert seen[0].headers["content-type"] == "application/json"
