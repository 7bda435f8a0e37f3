"""reservations/getAllItems (deprecated) over real HTTP on both databases
(docs/behaviour.md#legacy-operation; docs/legacy-mapping.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy.engine import Engine

from conftest import ServerThread
from contract import assert_matches_schema, errata_fields, schema_errors
from factories import (
    T0,
    Tenant,
    make_item,
    make_tenant,
    store_items,
    store_rates,
    store_reservation,
)
from orderitems.domain.enterprises import ServiceOrderKind
from orderitems.domain.items import (
    AccountingState,
    OrderItemData,
    OrderItemType,
    ProductData,
    RebateData,
)
from orderitems.settings import Settings

GET_ALL_ITEMS = "/api/connector/v1/reservations/getAllItems"


def get_all_items(http: httpx.Client, tenant: Tenant, *ids: Any, **body: Any) -> httpx.Response:
    return http.post(
        GET_ALL_ITEMS, json=tenant.envelope(ReservationIds=[str(i) for i in ids], **body)
    )


def reservations_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert_matches_schema(response.json(), "ReservationItemResult")
    reservations: list[dict[str, Any]] = response.json(parse_float=Decimal)["Reservations"]
    return reservations


class Stay:
    """A reservation with one item of each accounting state and a few legacy-relevant types."""

    def __init__(self, engine: Engine) -> None:
        self.tenant = make_tenant(engine)
        enterprise = self.tenant.enterprise_id
        self.account_id = uuid.uuid4()
        self.reservation = store_reservation(engine, enterprise, account_id=self.account_id)
        self.empty_reservation = store_reservation(engine, enterprise)
        self.product_order = store_reservation(
            engine, enterprise, kind=ServiceOrderKind.PRODUCT_SERVICE_ORDER
        )
        room = make_item(
            enterprise_id=enterprise,
            service_order_id=self.reservation,
            account_id=self.account_id,
            type=OrderItemType.SPACE_ORDER,
            state=AccountingState.CLOSED,
        )
        product_id, age_category_id = uuid.uuid4(), uuid.uuid4()
        breakfast = make_item(
            enterprise_id=enterprise,
            service_order_id=self.reservation,
            account_id=None,
            account_type=None,
            type=OrderItemType.PRODUCT_ORDER,
            gross="15.00",
            unit_count=2,
            created_utc=T0 + timedelta(hours=1),
            data=OrderItemData(
                discriminator="Product",  # type: ignore[arg-type]
                product=ProductData(product_id=product_id, age_category_id=age_category_id),
            ),
        )
        rebate = make_item(
            enterprise_id=enterprise,
            service_order_id=self.reservation,
            account_id=self.account_id,
            type=OrderItemType.NIGHT_REBATE,
            gross="-20.00",
            created_utc=T0 + timedelta(hours=2),
            data=OrderItemData(
                discriminator="Rebate",  # type: ignore[arg-type]
                rebate=RebateData(product_id=None, rebated_item_id=room.id),
            ),
        )
        city_tax = make_item(
            enterprise_id=enterprise,
            service_order_id=self.reservation,
            account_id=self.account_id,
            type=OrderItemType.CITY_TAX,
            state=AccountingState.CANCELED,
            created_utc=T0 + timedelta(hours=3),
        )
        inactive = make_item(
            enterprise_id=enterprise,
            service_order_id=self.reservation,
            account_id=self.account_id,
            type=OrderItemType.SPACE_ORDER,
            state=AccountingState.INACTIVE,
            gross="0.00",
            created_utc=T0 + timedelta(hours=4),
        )
        elsewhere = make_item(enterprise_id=enterprise, service_order_id=self.product_order)
        self.room, self.breakfast, self.rebate = room, breakfast, rebate
        self.city_tax, self.inactive = city_tax, inactive
        self.product_id, self.age_category_id = product_id, age_category_id
        store_items(engine, self.tenant, [room, breakfast, rebate, city_tax, inactive, elsewhere])


@pytest.fixture
def stay(engine: Engine) -> Stay:
    return Stay(engine)


def test_each_reservation_comes_back_in_request_order_with_open_and_closed_items_by_default(
    http: httpx.Client, stay: Stay
) -> None:
    (full, empty) = reservations_of(
        get_all_items(http, stay.tenant, stay.reservation, stay.empty_reservation)
    )
    assert full["ReservationId"] == str(stay.reservation)
    expected = [str(i.id) for i in (stay.rebate, stay.breakfast, stay.room)]  # newest first
    assert [i["Id"] for i in full["OrderItems"]] == expected
    assert [i["Id"] for i in full["Items"]] == expected
    assert empty == {
        "ReservationId": str(stay.empty_reservation),
        "Items": [],
        "OrderItems": [],
    }


def test_accounting_states_choose_the_items_in_any_letter_case(
    http: httpx.Client, stay: Stay
) -> None:
    (entry,) = reservations_of(
        get_all_items(
            http, stay.tenant, stay.reservation, AccountingStates=["canceled", "Inactive"]
        )
    )
    assert [i["Id"] for i in entry["OrderItems"]] == [str(stay.inactive.id), str(stay.city_tax.id)]
    assert [i["AccountingState"] for i in entry["OrderItems"]] == ["Inactive", "Canceled"]
    assert [i["State"] for i in entry["Items"]] == ["Inactive", "Canceled"]


def test_empty_accounting_states_are_valid_and_match_no_item(
    http: httpx.Client, stay: Stay
) -> None:
    """The contract sets no minItems here (unlike getAll's); found by schemathesis."""
    (entry,) = reservations_of(
        get_all_items(http, stay.tenant, stay.reservation, AccountingStates=[])
    )
    assert entry == {"ReservationId": str(stay.reservation), "Items": [], "OrderItems": []}


def test_order_items_take_the_legacy_shape(http: httpx.Client, stay: Stay) -> None:
    (entry,) = reservations_of(
        get_all_items(
            http,
            stay.tenant,
            stay.reservation,
            AccountingStates=["Open", "Closed", "Canceled", "Inactive"],
        )
    )
    items = {i["Id"]: i for i in entry["OrderItems"]}
    room = items[str(stay.room.id)]
    assert room["OrderId"] == str(stay.reservation)
    assert room["AccountId"] == str(stay.account_id)
    assert room["Data"] == {"Discriminator": "SpaceOrder", "Value": None}
    assert room["Amount"] | {} == {
        "Currency": "GBP",
        "NetValue": Decimal("100.00"),
        "GrossValue": Decimal("120.00"),
        "TaxValues": [{"Code": "UK-S", "Value": Decimal("20.00")}],
        "Breakdown": {
            "Items": [
                {"TaxRateCode": "UK-S", "NetValue": Decimal("100.00"), "TaxValue": Decimal("20.00")}
            ]
        },
        "Value": Decimal("120.00"),
        "Net": Decimal("100.00"),
        "Tax": Decimal("20.00"),
        "TaxRate": Decimal("0.2"),
    }
    assert "Value" not in room["UnitAmount"]
    assert room["CreatedUtc"] == "2025-03-01T00:00:00Z"
    assert room["ClosedUtc"] == "2025-03-05T00:00:00Z"

    breakfast = items[str(stay.breakfast.id)]
    assert breakfast["Data"] == {
        "Discriminator": "ProductOrder",
        "Value": {"ProductId": str(stay.product_id), "AgeCategoryId": str(stay.age_category_id)},
    }
    assert breakfast["AccountId"] == str(stay.account_id), "the reservation's account"
    assert breakfast["UnitCount"] == 2
    assert breakfast["Amount"]["Value"] == Decimal("30.00")

    rebate = items[str(stay.rebate.id)]
    assert rebate["Data"] == {
        "Discriminator": "Rebate",
        "Value": {"RebatedItemId": str(stay.room.id)},
    }
    assert rebate["Amount"]["Tax"] == Decimal("-3.33")
    assert rebate["Amount"]["TaxRate"] == Decimal("0.2")
    assert items[str(stay.city_tax.id)]["Data"] == {"Discriminator": "Other", "Value": None}


def test_items_take_the_legacy_accounting_item_shape(http: httpx.Client, stay: Stay) -> None:
    (entry,) = reservations_of(get_all_items(http, stay.tenant, stay.reservation))
    items = {i["Id"]: i for i in entry["Items"]}
    room = items[str(stay.room.id)]
    assert room["AccountId"] == room["CustomerId"] == str(stay.account_id)
    assert room["OrderId"] == str(stay.reservation)
    assert room["ServiceId"] == str(stay.room.service_id)
    assert room["Type"] == "ServiceRevenue"
    assert room["SubType"] == "SpaceOrder"
    assert room["State"] == "Closed"
    assert room["ConsumptionUtc"] == "2025-03-04T00:00:00Z"
    assert room["Amount"]["Value"] == Decimal("120.00")
    assert room["InvoiceId"] is None
    assert room["CreditCardId"] is None
    breakfast = items[str(stay.breakfast.id)]
    assert breakfast["ProductId"] == str(stay.product_id)
    assert breakfast["CustomerId"] is None  # the item itself names no customer


def test_the_legacy_date_format_is_the_only_departure_from_the_published_spec(
    http: httpx.Client, stay: Stay
) -> None:
    response = get_all_items(
        http,
        stay.tenant,
        stay.reservation,
        AccountingStates=["Open", "Closed", "Canceled", "Inactive"],
    )
    assert_matches_schema(response.json(), "ReservationItemResult")
    corrected = errata_fields()
    problems = schema_errors(response.json(), "ReservationItemResult", errata=False)
    assert problems, "the erratum is still needed: the published spec refuses date-times"
    for problem in problems:
        assert (problem.validator, problem.validator_value) == ("format", "date")
        assert ("OrderItemOld", problem.path[-1]) in corrected


def test_currency_converts_amounts_but_not_the_original_amount(
    http: httpx.Client, engine: Engine, stay: Stay
) -> None:
    store_rates(engine, stay.tenant.enterprise_id, ("GBP", "EUR", "1.1757317"))
    (entry,) = reservations_of(get_all_items(http, stay.tenant, stay.reservation, Currency="eur"))
    room = next(i for i in entry["OrderItems"] if i["Id"] == str(stay.room.id))
    assert room["Amount"]["Currency"] == room["UnitAmount"]["Currency"] == "EUR"
    assert room["Amount"]["NetValue"] == Decimal("117.57")
    assert room["Amount"]["GrossValue"] == Decimal("141.08")
    assert room["Amount"]["Value"] == Decimal("141.08")
    assert room["OriginalAmount"]["Currency"] == "GBP"
    assert {i["Amount"]["Currency"] for i in entry["Items"]} == {"EUR"}

    refused = get_all_items(http, stay.tenant, stay.reservation, Currency="CHF")
    assert refused.status_code == 400
    assert refused.json()["Message"].startswith("Invalid Currency")


def test_unknown_foreign_and_non_reservation_ids_answer_400_naming_them(
    http: httpx.Client, engine: Engine, stay: Stay
) -> None:
    other = make_tenant(engine)
    foreign = store_reservation(engine, other.enterprise_id)
    unknown = uuid.uuid4()
    for wrong in (unknown, foreign, stay.product_order):
        response = get_all_items(http, stay.tenant, stay.reservation, wrong)
        assert response.status_code == 400, response.text
        assert response.json()["Message"] == f"Invalid ReservationIds: {wrong} not found."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ReservationIds": ...}, "ReservationIds"),
        ({"ReservationIds": None}, "ReservationIds"),
        ({"ReservationIds": []}, "ReservationIds"),
        ({"ReservationIds": [str(uuid.uuid4()) for _ in range(1001)]}, "ReservationIds"),
        ({"ReservationIds": ["nope"]}, "ReservationIds"),
        ({"AccountingStates": ["Bogus"]}, "AccountingStates"),
        ({"AccountingStates": "Open"}, "AccountingStates"),
        ({"Currency": "EURO"}, "Currency"),
        ({"Currency": "XYZ"}, "Currency"),
    ],
)
def test_malformed_requests_answer_400_naming_the_property(
    http: httpx.Client, stay: Stay, body: dict[str, Any], field: str
) -> None:
    body = {"ReservationIds": [str(stay.reservation)], **body}
    body = {k: v for k, v in body.items() if v is not ...}  # ... leaves the property out
    response = http.post(GET_ALL_ITEMS, json=stay.tenant.envelope(**body))
    assert response.status_code == 400, response.text
    assert response.json()["Message"].startswith(f"Invalid {field}")


def test_an_unknown_access_token_answers_401(http: httpx.Client, stay: Stay) -> None:
    body = stay.tenant.envelope(ReservationIds=[str(stay.reservation)])
    body["AccessToken"] = "nope"
    assert http.post(GET_ALL_ITEMS, json=body).status_code == 401


@pytest.fixture
def retired(settings: Settings, engine: Engine) -> Iterator[httpx.Client]:
    retired_settings = msgspec.structs.replace(settings, get_all_items_retired=True)
    with (
        ServerThread(retired_settings, engine) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        yield client


def test_a_retired_operation_answers_400_pointing_to_get_all(
    retired: httpx.Client, stay: Stay
) -> None:
    response = get_all_items(retired, stay.tenant, stay.reservation)
    assert response.status_code == 400
    assert_matches_schema(response.json(), "ConnectorApiExceptionResult")
    assert "discontinued" in response.json()["Message"]
    assert "orderItems/getAll" in response.json()["Message"]
    assert response.headers["request-id"] == response.json()["RequestId"]
    still_served = retired.post(
        "/api/connector/v1/orderItems/getAll",
        json=stay.tenant.envelope(
            ServiceOrderIds=[str(stay.reservation)], Limitation={"Count": 10}
        ),
    )
    assert still_served.status_code == 200
