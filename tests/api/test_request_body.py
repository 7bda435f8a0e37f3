"""What a request body must be before any operation reads it, over real HTTP
(docs/behaviour.md#envelope): ``Content-Type: application/json`` (a UTF-8 charset is fine), and
each property spelled once, at every level, in case-insensitive and in strict mode.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy.engine import Engine

from answers import assert_error, ids_of
from conftest import ServerThread
from factories import Tenant, make_item, make_tenant, store_items, store_reservation
from orderitems.settings import Settings

GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"
GET_ALL_ITEMS = "/api/connector/v1/reservations/getAllItems"
JSON = {"Content-Type": "application/json"}
WINDOW = {"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-03-31T00:00:00Z"}

Members = list[tuple[str, Any]]


def encoded(members: Members) -> bytes:
    """A JSON object with these members in this order (a dict cannot hold two spellings)."""
    return (
        b"{"
        + b",".join(msgspec.json.encode(k) + b":" + msgspec.json.encode(v) for k, v in members)
        + b"}"
    )


class World:
    """A tenant with one item on one reservation, and a valid body of each operation."""

    def __init__(self, engine: Engine) -> None:
        self.tenant: Tenant = make_tenant(engine)
        reservation = store_reservation(engine, self.tenant.enterprise_id)
        (self.item,) = store_items(
            engine,
            self.tenant,
            [make_item(enterprise_id=self.tenant.enterprise_id, service_order_id=reservation)],
        )
        self.reservation = reservation

    def get_all(self, *extra: tuple[str, Any]) -> Members:
        envelope = list(self.tenant.envelope().items())
        return [*envelope, ("CreatedUtc", WINDOW), ("Limitation", {"Count": 10}), *extra]

    def bodies(self) -> dict[str, Members]:
        envelope = list(self.tenant.envelope().items())
        return {
            GET_ALL: self.get_all(),
            CANCEL: [*envelope, ("OrderItemIds", [str(uuid.uuid4())])],
            GET_ALL_ITEMS: [*envelope, ("ReservationIds", [str(self.reservation)])],
        }


@pytest.fixture(scope="module")
def world(engine: Engine) -> World:
    return World(engine)


@pytest.fixture(scope="module")
def strict(database_url: str, engine: Engine) -> Iterator[httpx.Client]:
    settings = Settings(database_url=database_url, strict_json=True, rate_limit=False)
    with (
        ServerThread(settings, engine) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def lenient(database_url: str, engine: Engine) -> Iterator[httpx.Client]:
    settings = Settings(database_url=database_url, lenient_content_type=True, rate_limit=False)
    with (
        ServerThread(settings, engine) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        yield client


# --- one spelling per property ---------------------------------------------------------------


def replaced(members: Members, name: str, *spellings: tuple[str, Any]) -> Members:
    """``members`` with the member ``name`` replaced by ``spellings``, where it stood."""
    at = next(i for i, (key, _) in enumerate(members) if key == name)
    return [*members[:at], *spellings, *members[at + 1 :]]


def twice(world: World, case: str) -> tuple[Members, str]:
    """A getAll body that spells one property twice, and the name the 400 must give."""
    tenant, own = world.tenant, [str(world.tenant.enterprise_id)]
    body = world.get_all()
    other = str(uuid.uuid4())
    cases: dict[str, tuple[Members, str]] = {
        "AccessToken": (
            replaced(
                body,
                "AccessToken",
                ("AccessToken", tenant.access_token),
                ("accesstoken", new_access_token()),
            ),
            "AccessToken",
        ),
        "ClientToken": (
            replaced(
                body, "ClientToken", ("clientToken", "x"), ("ClientToken", tenant.client_token)
            ),
            "ClientToken",
        ),
        "Client": (replaced(body, "Client", ("Client", "a"), ("CLIENT", "b")), "Client"),
        "EnterpriseIds": (
            [*body, ("EnterpriseIds", own), ("enterpriseIDs", [other])],
            "EnterpriseIds",
        ),
        "OrderItemIds": (
            [*body, ("OrderItemIds", [str(world.item.id)]), ("orderitemids", [other])],
            "OrderItemIds",
        ),
        "CreatedUtc.StartUtc": (
            replaced(
                body,
                "CreatedUtc",
                ("CreatedUtc", {"StartUtc": WINDOW["StartUtc"], **WINDOW, "startUtc": None}),
            ),
            "CreatedUtc.StartUtc",
        ),
        "Limitation.Count": (
            replaced(body, "Limitation", ("Limitation", {"Count": 10, "count": 1000})),
            "Limitation.Count",
        ),
        "Limitation": (
            [*body, ("limitation", {"Count": 1})],
            "Limitation",
        ),
    }
    return cases[case]


def new_access_token() -> str:
    return uuid.uuid4().hex.upper()


SPELLED_TWICE = [
    "AccessToken",
    "ClientToken",
    "Client",
    "EnterpriseIds",
    "OrderItemIds",
    "CreatedUtc.StartUtc",
    "Limitation.Count",
    "Limitation",
]


@pytest.mark.parametrize("case", SPELLED_TWICE)
def test_a_property_spelled_twice_is_a_400_naming_it(
    http: httpx.Client, world: World, case: str
) -> None:
    members, name = twice(world, case)
    response = http.post(GET_ALL, content=encoded(members), headers=JSON)
    body = assert_error(response, 400, f"Invalid {name}:", "twice")
    assert body["Details"]["Field"] == name


@pytest.mark.parametrize("case", SPELLED_TWICE)
def test_a_property_spelled_twice_is_a_400_naming_it_in_strict_mode(
    strict: httpx.Client, world: World, case: str
) -> None:
    """Not an "unknown property": the message says what is wrong, whichever spelling is first."""
    members, name = twice(world, case)
    assert_error(
        strict.post(GET_ALL, content=encoded(members), headers=JSON), 400, f"Invalid {name}:"
    )
    swapped = list(reversed(members))
    assert_error(
        strict.post(GET_ALL, content=encoded(swapped), headers=JSON), 400, f"Invalid {name}:"
    )


@pytest.mark.parametrize(
    ("path", "name", "spellings"),
    [
        (CANCEL, "OrderItemIds", [("orderItemIds", ["x"])]),
        (CANCEL, "EnterpriseId", [("EnterpriseId", None), ("enterpriseid", "y")]),
        (GET_ALL_ITEMS, "ReservationIds", [("reservationIDs", [])]),
        (GET_ALL_ITEMS, "AccessToken", [("ACCESSTOKEN", "z")]),
    ],
)
def test_every_operation_refuses_a_property_spelled_twice(
    http: httpx.Client, world: World, path: str, name: str, spellings: Members
) -> None:
    members = [*world.bodies()[path], *spellings]
    assert_error(http.post(path, content=encoded(members), headers=JSON), 400, f"Invalid {name}:")


def test_one_spelling_in_any_letter_case_is_still_accepted(
    http: httpx.Client, world: World
) -> None:
    """Case-insensitive names stay the default (docs/behaviour.md#envelope)."""
    members = [(key.lower(), value) for key, value in world.get_all()]
    response = http.post(GET_ALL, content=encoded(members), headers=JSON)
    assert ids_of(response) == [str(world.item.id)]


def test_an_unknown_property_in_two_spellings_is_ignored(http: httpx.Client, world: World) -> None:
    """Nothing reads it, so nothing can disagree about it."""
    members = world.get_all(("Surprise", 1), ("surprise", 2))
    assert ids_of(http.post(GET_ALL, content=encoded(members), headers=JSON)) == [
        str(world.item.id)
    ]


# --- Content-Type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json;charset=utf8",
    ],
)
@pytest.mark.parametrize("path", [GET_ALL, CANCEL, GET_ALL_ITEMS])
def test_json_with_or_without_a_utf8_charset_is_accepted(
    http: httpx.Client, world: World, path: str, content_type: str
) -> None:
    response = http.post(
        path, content=encoded(world.bodies()[path]), headers={"Content-Type": content_type}
    )
    if path == CANCEL:  # an unknown id: the operation read the body and answered its own 400
        assert_error(response, 400, "Invalid OrderItemIds")
    else:
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("content_type", "said"),
    [
        (None, "none was given"),
        ("", "none was given"),
        ("text/plain", "'text/plain'"),
        ("text/json", "'text/json'"),
        ("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded'"),
        ("multipart/form-data; boundary=abc", "'multipart/form-data; boundary=abc'"),
        ("application/jsonp", "'application/jsonp'"),
        ("application/json; charset=latin-1", "charset"),
        ("application/json; charset=utf-16", "charset"),
    ],
)
@pytest.mark.parametrize("path", [GET_ALL, CANCEL, GET_ALL_ITEMS])
def test_another_or_no_content_type_is_a_400_saying_what_to_send(
    http: httpx.Client, world: World, path: str, content_type: str | None, said: str
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = http.post(path, content=encoded(world.bodies()[path]), headers=headers)
    body = assert_error(response, 400, "Invalid Content-Type", said, "application/json")
    assert body["Details"]["Field"] == "Content-Type"


def test_a_wrong_content_type_is_refused_before_the_body_is_read(
    http: httpx.Client, world: World
) -> None:
    """Even a body over the size limit: the type alone decides (400, not 413)."""
    padding = "x" * (2 * 1024 * 1024)
    content = encoded([*world.get_all(), ("Padding", padding)])
    assert_error(http.post(GET_ALL, content=content, headers={"Content-Type": "text/plain"}), 400)


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x"])
def test_the_lenient_setting_accepts_any_content_type(
    lenient: httpx.Client, world: World, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = lenient.post(GET_ALL, content=encoded(world.get_all()), headers=headers)
    assert ids_of(response) == [str(world.item.id)]
