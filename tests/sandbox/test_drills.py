"""Drift drills over real HTTP, on two server processes sharing one store
(docs/behaviour.md#faults-and-sandbox): answers look like a future API version, the same for
the same seed, only for the token or operation asked; the contract check knows a drilled
answer and reports its additions; the SDK keeps what it does not know.

Each test's drill is scoped to its own tenant's AccessToken and stopped afterwards, so the
servers' other tests never see it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from typer.testing import CliRunner

from contract import check_response, response_problems
from factories import T0, Tenant, make_item, make_tenant, store_items, store_reservation
from orderitems.api.drills import DRILL_HEADER, ENUM_VALUES
from orderitems.cli import app
from orderitems.client import Client, Sandbox, to_wire
from processes import SANDBOX_ADMIN, SANDBOX_TOKEN, ServerProcess, Store

GET_ALL = "/api/connector/v1/orderItems/getAll"
GET_ALL_ITEMS = "/api/connector/v1/reservations/getAllItems"
ITEMS = 20
NUMBERS = msgspec.json.Encoder(decimal_format="number")


@pytest.fixture
def tenant(store: Store) -> Tenant:
    """Items of one hour apart; the first three of a reservation (for the legacy operation)."""
    tenant = make_tenant(store.engine)
    reservation = store_reservation(store.engine, tenant.enterprise_id)
    items = [
        make_item(
            enterprise_id=tenant.enterprise_id,
            created_utc=T0 + timedelta(hours=k),
            service_order_id=reservation if k < 3 else uuid.uuid4(),
        )
        for k in range(ITEMS)
    ]
    store_items(store.engine, tenant, items)
    return tenant


@pytest.fixture
def clients(sandbox_pair: tuple[ServerProcess, ...]) -> Iterator[tuple[httpx.Client, ...]]:
    """One checked client per process; the drill is stopped after each test."""
    opened = [
        httpx.Client(
            base_url=server.base_url, timeout=60, event_hooks={"response": [check_response]}
        )
        for server in sandbox_pair
    ]
    yield tuple(opened)
    opened[0].delete("/_sandbox/drill", headers=SANDBOX_ADMIN)
    for client in opened:
        client.close()


def start(http: httpx.Client, **spec: Any) -> dict[str, Any]:
    response = http.put("/_sandbox/drill", json=spec, headers=SANDBOX_ADMIN)
    assert response.status_code == 200, response.text
    drill: dict[str, Any] = response.json()
    return drill


def query(tenant: Tenant, count: int = 100) -> dict[str, Any]:
    period = {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"}
    return tenant.envelope(CreatedUtc=period, Limitation={"Count": count})


def additions(response: httpx.Response) -> list[str]:
    found: list[str] = response.extensions["drill_additions"]
    return found


def test_a_drill_adds_unknown_properties_and_values_which_the_contract_check_reports(
    clients: tuple[httpx.Client, ...], tenant: Tenant
) -> None:
    drill = start(clients[0], Seed=7, Percent=100, AccessToken=tenant.access_token)
    assert drill["Seed"] == 7
    assert drill["Enums"] == list(ENUM_VALUES)
    response = clients[1].post(GET_ALL, json=query(tenant))  # the other process: shared state
    assert response.status_code == 200
    assert response.headers[DRILL_HEADER] == "7"
    found = additions(response)
    body = response.json()
    assert len(body["OrderItems"]) == ITEMS
    envelope = [a for a in found if "." not in a.partition(":")[0]]
    assert len(envelope) == 1, found
    for index, item in enumerate(body["OrderItems"]):
        prefix = f"OrderItems[{index}]."
        mine = {
            where.removeprefix(prefix): what
            for where, _, what in (a.partition(": ") for a in found)
            if where.startswith(prefix)
        }
        assert {"Type", "AccountingState", "RevenueType", "Data.Discriminator"} <= set(mine)
        assert [w for w in mine if "." not in w and mine[w] == "property"], "on the item"
        assert [w for w in mine if w.startswith("Amount.") and w.count(".") == 1], "nested"
        assert [w for w in mine if w.startswith("Amount.TaxValues[") and w.endswith(".Code")]
        discriminator = item["Data"]["Discriminator"]
        assert discriminator in ENUM_VALUES["DataDiscriminator"]
        branch = item["Data"][discriminator]
        assert uuid.UUID(branch[f"{discriminator}Id"])


def test_the_contract_check_refuses_the_same_body_when_the_drill_is_not_announced(
    clients: tuple[httpx.Client, ...], tenant: Tenant
) -> None:
    start(clients[0], Seed=11, Percent=50, AccessToken=tenant.access_token)
    response = clients[0].post(GET_ALL, json=query(tenant))
    headers = {k: v for k, v in response.headers.items() if k.lower() != DRILL_HEADER.lower()}
    problems = response_problems("POST", GET_ALL, 200, headers, response.content)
    assert any("Additional properties are not allowed" in p for p in problems), problems
    assert response_problems("POST", GET_ALL, 200, response.headers, response.content) == []


def test_a_drill_is_the_same_for_the_same_seed_on_any_page_and_process(
    clients: tuple[httpx.Client, ...], tenant: Tenant
) -> None:
    start(clients[0], Seed=42, Percent=50, AccessToken=tenant.access_token)
    whole = clients[0].post(GET_ALL, json=query(tenant)).json()
    again = clients[1].post(GET_ALL, json=query(tenant)).json()
    assert whole == again
    paged: list[dict[str, Any]] = []
    body = query(tenant, count=7)
    while True:
        page = clients[1].post(GET_ALL, json=body).json()
        if not page["OrderItems"]:
            break
        paged += page["OrderItems"]
        body["Limitation"]["Cursor"] = page["Cursor"]
    assert paged == whole["OrderItems"], "an item looks the same on any page"
    start(clients[0], Seed=43, Percent=50, AccessToken=tenant.access_token)
    other = clients[0].post(GET_ALL, json=query(tenant)).json()
    assert other["OrderItems"] != whole["OrderItems"]
    assert {i["Id"] for i in other["OrderItems"]} == {i["Id"] for i in whole["OrderItems"]}


def test_percent_chooses_the_share_of_items_with_unknown_values(
    clients: tuple[httpx.Client, ...], tenant: Tenant
) -> None:
    start(clients[0], Seed=5, Percent=50, Enums=["Type"], AccessToken=tenant.access_token)
    items = clients[0].post(GET_ALL, json=query(tenant)).json()["OrderItems"]
    changed = [i for i in items if i["Type"] in ENUM_VALUES["Type"]]
    assert 0 < len(changed) < ITEMS
    assert all(i["AccountingState"] == "Open" for i in items), "only the Type was chosen"
    start(clients[0], Seed=5, Percent=0, AccessToken=tenant.access_token)
    response = clients[0].post(GET_ALL, json=query(tenant))
    assert not [a for a in additions(response) if ": value" in a]
    assert [a for a in additions(response) if ": property" in a]


def test_a_drill_keeps_to_its_token_and_operation(
    clients: tuple[httpx.Client, ...], store: Store, tenant: Tenant
) -> None:
    other = make_tenant(store.engine)
    start(clients[0], Seed=1, Percent=100, AccessToken=tenant.access_token)
    assert DRILL_HEADER in clients[0].post(GET_ALL, json=query(tenant)).headers
    assert DRILL_HEADER not in clients[0].post(GET_ALL, json=query(other)).headers
    start(
        clients[0],
        Seed=1,
        Percent=100,
        Operation="reservations/getAllItems",
        AccessToken=tenant.access_token,
    )
    assert DRILL_HEADER not in clients[1].post(GET_ALL, json=query(tenant)).headers
    reservations = [str(tenant.items[0].service_order_id)]
    legacy = clients[1].post(GET_ALL_ITEMS, json=tenant.envelope(ReservationIds=reservations))
    assert legacy.status_code == 200, legacy.text
    assert legacy.headers[DRILL_HEADER] == "1"
    found = additions(legacy)
    assert any(".OrderItems[" in a and ": value" in a for a in found), found


def test_a_drill_is_shown_and_stopped_and_refuses_an_unknown_enum_name(
    clients: tuple[httpx.Client, ...], tenant: Tenant
) -> None:
    drawn = start(clients[0], AccessToken=tenant.access_token)
    assert isinstance(drawn["Seed"], int)
    shown = clients[1].get("/_sandbox/drill", headers=SANDBOX_ADMIN).json()
    assert shown == drawn
    refused = clients[0].put("/_sandbox/drill", json={"Enums": ["Colour"]}, headers=SANDBOX_ADMIN)
    assert refused.status_code == 400
    assert "Enums" in refused.json()["Message"]
    assert clients[0].delete("/_sandbox/drill", headers=SANDBOX_ADMIN).status_code == 204
    assert clients[1].get("/_sandbox/drill", headers=SANDBOX_ADMIN).json() is None
    assert DRILL_HEADER not in clients[1].post(GET_ALL, json=query(tenant)).headers


def test_the_client_keeps_what_a_drill_adds_and_gives_the_document_back_unchanged(
    clients: tuple[httpx.Client, ...], sandbox_pair: tuple[ServerProcess, ...], tenant: Tenant
) -> None:
    base_url = sandbox_pair[0].base_url
    with Sandbox(base_url=base_url, admin_token=SANDBOX_TOKEN) as sandbox:
        drill = sandbox.start_drill(seed=9, percent=100, access_token=tenant.access_token)
        assert sandbox.drill() == drill
    raw = clients[0].post(GET_ALL, json=query(tenant)).json()["OrderItems"]
    with Client(
        base_url=base_url, client_token=tenant.client_token, access_token=tenant.access_token
    ) as api:
        period = (T0 - timedelta(days=1), T0 + timedelta(days=30))
        items = list(api.iter_order_items(created_utc=period))
        reservations = [tenant.items[0].service_order_id]
        legacy = api.get_all_items(reservations)
    assert len(items) == ITEMS
    by_id = {i["Id"]: i for i in raw}
    for item in items:
        assert item.type in ENUM_VALUES["Type"]
        assert item.accounting_state in ENUM_VALUES["AccountingState"]
        assert item.data is not None
        assert item.data.discriminator in ENUM_VALUES["DataDiscriminator"]
        assert item.extra, "the unknown item property is kept"
        assert msgspec.json.decode(NUMBERS.encode(to_wire(item))) == by_id[str(item.id)]
    assert legacy


def test_the_sandbox_commands_start_show_and_stop_a_drill(
    clients: tuple[httpx.Client, ...], sandbox_pair: tuple[ServerProcess, ...], tenant: Tenant
) -> None:
    runner = CliRunner()
    options = ["sandbox", "--url", sandbox_pair[1].base_url, "--admin-token", SANDBOX_TOKEN]
    started = runner.invoke(
        app,
        [*options, "drill", "start", "--seed", "3", "--percent", "100", "--enum", "RevenueType",
         "--access-token", tenant.access_token],
    )  # fmt: skip
    assert started.exit_code == 0, started.output
    assert '"Seed": 3' in started.output
    items = clients[0].post(GET_ALL, json=query(tenant)).json()["OrderItems"]
    assert {i["RevenueType"] for i in items} <= set(ENUM_VALUES["RevenueType"])
    shown = runner.invoke(app, [*options, "drill", "show"])
    assert '"RevenueType"' in shown.output
    stopped = runner.invoke(app, [*options, "drill", "stop"])
    assert stopped.exit_code == 0, stopped.output
    assert DRILL_HEADER not in clients[0].post(GET_ALL, json=query(tenant)).headers
