"""Reset restores the generated demo data exactly and forgets the sandbox state; the
``orderitems sandbox`` commands drive the same admin API. Two demo server processes on a
database of their own (a SQLite file, a PostgreSQL schema, or a SQLite file with Redis)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from conftest import new_database
from factories import make_item, make_tenant, store_items
from orderitems.cli import app
from orderitems.fixtures.demo import DEMO_TOKENS
from orderitems.store.engine import connect
from orderitems.store.schema import (
    metadata,
    order_items,
    rate_limit_hits,
    request_log,
    sandbox_faults,
    sandbox_values,
)
from processes import ADMIN, ServerProcess, forget_redis_keys

GET_ALL = "/api/connector/v1/orderItems/getAll"
DEMO_ITEMS = 300
SANDBOX_STATE = {rate_limit_hits, request_log, sandbox_faults, sandbox_values}
#: When a row was written, not what it holds: a reset writes them anew.
WRITTEN_AT = {"created_us", "updated_us"}
runner = CliRunner()


class Demo:
    def __init__(self, servers: tuple[ServerProcess, ...], engine: Engine) -> None:
        self.servers = servers
        self.engine = engine


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "redis"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp(f"demo-{request.param}")
    kind = "postgresql" if request.param == "postgresql" else "sqlite"
    settings: dict[str, object] = {"demo": True, "demo_items": DEMO_ITEMS, "development": True}
    if request.param == "redis":
        settings["redis_url"] = request.getfixturevalue("redis_url")
    with new_database(kind, request, directory) as database_url:
        servers = tuple(ServerProcess(database_url, directory, options=settings) for _ in range(2))
        engine = connect(database_url)
        try:
            for server in servers:  # one after the other: the first creates the demo data
                server.spawn()
                server.wait_ready()
            yield Demo(servers, engine)
        finally:
            for server in servers:
                server.stop()
            engine.dispose()
            if request.param == "redis":
                forget_redis_keys(str(settings["redis_url"]), database_url)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every data table, without the times rows were written."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table in SANDBOX_STATE:
                continue
            columns = [c for c in table.columns if c.name not in WRITTEN_AT]
            rows = connection.execute(sa.select(*columns)).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def admin(demo: Demo, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{demo.servers[1].base_url}/_sandbox{path}", headers=ADMIN, timeout=60, **kwargs
    )


def test_reset_restores_the_demo_data_exactly_and_forgets_the_sandbox_state(demo: Demo) -> None:
    before = snapshot(demo.engine)
    assert len(before["order_items"]) == DEMO_ITEMS
    assert len(before["order_item_ids"]) == DEMO_ITEMS, "the regenerated items' ids registered"
    token = DEMO_TOKENS[0]
    demo_query = {
        "ClientToken": token.client_token,
        "AccessToken": token.access_token,
        "Client": "reset test",
        "CreatedUtc": {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"},
        "Limitation": {"Count": 1},
    }
    with demo.servers[0].client() as http:
        (first,) = http.post(GET_ALL, json=demo_query).json()["OrderItems"]
        http.put("/_sandbox/clock", json={"NowUtc": "2031-01-01T00:00:00Z"}, headers=ADMIN)
        http.post("/_sandbox/faults", json={"Status": 500, "Count": 5}, headers=ADMIN)
    with demo.engine.begin() as connection:
        connection.execute(order_items.delete().where(order_items.c.id == uuid.UUID(first["Id"])))
    tenant = make_tenant(demo.engine)
    store_items(demo.engine, tenant, [make_item(enterprise_id=tenant.enterprise_id)])
    assert snapshot(demo.engine) != before

    reset = admin(demo, "POST", "/reset")
    assert reset.status_code == 200, reset.text
    assert reset.json()["Items"] == DEMO_ITEMS
    assert snapshot(demo.engine) == before
    assert admin(demo, "GET", "/faults").json() == []
    assert admin(demo, "GET", "/clock").json()["Frozen"] is False
    assert admin(demo, "GET", "/requests").json() == []
    with demo.servers[0].client() as http:
        page = http.post(GET_ALL, json=demo_query).json()
    assert page["OrderItems"] == [first], "the deleted item is back, unchanged"


def sandbox_cli(demo: Demo, *args: str, token: str | None = None) -> Any:
    options = ["sandbox", "--url", demo.servers[0].base_url]
    if token is not None:
        options += ["--admin-token", token]
    return runner.invoke(app, [*options, *args])


def test_the_sandbox_commands_inject_a_fault_freeze_the_clock_and_read_the_log(
    demo: Demo,
) -> None:
    token = DEMO_TOKENS[1]
    added = sandbox_cli(
        demo, "fault", "add", "--status", "503", "--retry-after", "3", "--count", "1",
        "--access-token", token.access_token, "--operation", "orderItems/getAll",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    fault = json.loads(added.stdout)
    assert fault["Status"] == 503
    body = {
        "ClientToken": token.client_token,
        "AccessToken": token.access_token,
        "Client": "cli test",
        "CreatedUtc": {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"},
        "Limitation": {"Count": 1},
    }
    refused = httpx.post(f"{demo.servers[1].base_url}{GET_ALL}", json=body)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "3"
    listed = json.loads(sandbox_cli(demo, "fault", "list").stdout)
    assert [(f["Id"], f["Remaining"]) for f in listed] == [(fault["Id"], 0)]
    (logged,) = json.loads(sandbox_cli(demo, "requests", "--limit", "1").stdout)
    assert (logged["Status"], logged["FaultId"], logged["TokenLabel"]) == (
        503,
        fault["Id"],
        token.label,
    )

    frozen = sandbox_cli(demo, "clock", "freeze", "--at", "2031-01-02T03:04:05")
    assert json.loads(frozen.stdout)["NowUtc"] == "2031-01-02T03:04:05Z"
    assert json.loads(sandbox_cli(demo, "clock", "show").stdout)["Frozen"] is True
    assert json.loads(sandbox_cli(demo, "clock", "release").stdout)["Frozen"] is False
    assert sandbox_cli(demo, "fault", "clear").exit_code == 0
    assert json.loads(sandbox_cli(demo, "fault", "list").stdout) == []
    assert sandbox_cli(demo, "clear-requests").exit_code == 0
    assert sandbox_cli(demo, "clear-limits").exit_code == 0
    reset = sandbox_cli(demo, "reset")
    assert reset.exit_code == 0, reset.output
    assert f"Reset: {DEMO_ITEMS} demo items" in reset.output


def test_a_sandbox_command_with_the_wrong_admin_token_fails_with_the_servers_message(
    demo: Demo, tmp_path: Path
) -> None:
    refused = sandbox_cli(demo, "fault", "list", token="wrong")
    assert refused.exit_code == 1
    assert "401" in refused.output
    assert "admin token" in refused.output
