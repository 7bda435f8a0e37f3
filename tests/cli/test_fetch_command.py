"""``orderitems fetch`` end to end: from a real server over HTTP, to files, and back."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

import orderitems.cli.fetch as fetch_module
from conftest import ServerThread
from factories import Tenant, make_item, make_tenant, store_items
from orderitems.access.tokens import create_access_token
from orderitems.cli import app
from orderitems.client import Client, RetryPolicy
from orderitems.domain.items import AccountingState, OrderItemType
from orderitems.settings import Settings
from orderitems.store.engine import connect

START = datetime(2024, 2, 1, tzinfo=UTC)
END = datetime(2024, 9, 1, tzinfo=UTC)  # 7 months: three windows
GET_ALL = "/api/connector/v1/orderItems/getAll"

runner = CliRunner()


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Tenant:
    """21 items over the period in every state and several types, plus two outside it."""
    tenant = make_tenant(engine)
    states = list(AccountingState)
    types = [OrderItemType.SPACE_ORDER, OrderItemType.CITY_TAX, OrderItemType.PRODUCT_ORDER]
    items = [
        make_item(
            enterprise_id=tenant.enterprise_id,
            created_utc=START + timedelta(days=10 * k, minutes=k, microseconds=k),
            state=states[k % 4],
            type=types[k % 3],
            gross=f"{10 + k}.{k:02d}",
            notes="note" if k % 5 == 0 else None,
        )
        for k in range(21)
    ]
    outside = [
        make_item(enterprise_id=tenant.enterprise_id, created_utc=END),
        make_item(enterprise_id=tenant.enterprise_id, created_utc=START - timedelta(seconds=1)),
    ]
    store_items(engine, tenant, items + outside)
    tenant.items = items
    return tenant


def fetch_args(server: ServerThread, tenant: Tenant, out: Path, *extra: str) -> list[str]:
    return [
        "fetch",
        "--base-url",
        server.base_url,
        "--client-token",
        tenant.client_token,
        "--access-token",
        tenant.access_token,
        "--out",
        str(out),
        "--page-size",
        "4",
        *extra,
    ]


def period(start: datetime = START, end: datetime = END) -> list[str]:
    return ["--start", start.isoformat(), "--end", end.isoformat()]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_fetch_writes_every_item_of_the_period_once_in_the_apis_shape(
    server: ServerThread, tenant: Tenant, http: httpx.Client, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    result = runner.invoke(app, fetch_args(server, tenant, out, *period()))
    assert result.exit_code == 0, result.output
    documents = read_jsonl(out)
    assert sorted(d["Id"] for d in documents) == sorted(str(i.id) for i in tenant.items)
    one = http.post(
        GET_ALL,
        json=tenant.envelope(OrderItemIds=[documents[0]["Id"]], Limitation={"Count": 1}),
    ).json()["OrderItems"][0]
    assert documents[0] == one, "exactly the document getAll returns"
    assert not list(tmp_path.glob("*.partial.jsonl")), "the spool is gone"
    assert not list(tmp_path.glob("*.fetch-state.json")), "so is the state"


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    engine = connect(url)
    yield url, engine
    engine.dispose()


def test_round_trip_fetch_then_import_into_an_empty_database_answers_getall_identically(
    server: ServerThread, tenant: Tenant, tmp_path: Path, mirror: tuple[str, Engine]
) -> None:
    out = tmp_path / "items.jsonl"
    assert runner.invoke(app, fetch_args(server, tenant, out, *period())).exit_code == 0
    url, engine = mirror
    imported = runner.invoke(app, ["import", str(out), "--db", url])
    assert imported.exit_code == 0, imported.output
    with engine.begin() as connection:
        create_access_token(
            connection,
            client_token=tenant.client_token,
            client_name="mirror",
            access_token=tenant.access_token,
            label="mirror",
            enterprise_ids=tenant.enterprise_ids,
            profile_id=tenant.profile_id,
        )
    bodies: list[dict[str, Any]] = [
        {"CreatedUtc": {"StartUtc": "2024-02-01T00:00:00Z", "EndUtc": "2024-05-01T00:00:00Z"}},
        {"CreatedUtc": {"StartUtc": "2024-04-10T00:00:00Z", "EndUtc": "2024-07-10T00:00:00Z"}},
        {"ServiceIds": [str(tenant.items[3].service_id)], "AccountingStates": ["Closed"]},
        {"OrderItemIds": [str(i.id) for i in tenant.items], "Types": ["CityTax"]},
    ]
    settings = Settings(database_url=url, development=True)
    with (
        ServerThread(settings, engine) as copy,
        httpx.Client(base_url=server.base_url) as original_http,
        httpx.Client(base_url=copy.base_url) as copy_http,
    ):
        for body in bodies:
            cursor = None
            while True:
                request = tenant.envelope(**body, Limitation={"Count": 3, "Cursor": cursor})
                original = original_http.post(GET_ALL, json=request)
                copied = copy_http.post(GET_ALL, json=request)
                assert original.status_code == copied.status_code == 200, copied.text
                assert original.json() == copied.json()
                cursor = original.json()["Cursor"]
                if cursor is None:
                    break


def test_csv_and_parquet_have_one_row_per_item(
    server: ServerThread, tenant: Tenant, tmp_path: Path
) -> None:
    by_id = {str(i.id): i for i in tenant.items}
    csv_out, parquet_out = tmp_path / "items.csv", tmp_path / "items.parquet"
    for out, output_format in ((csv_out, "csv"), (parquet_out, "parquet")):
        args = fetch_args(server, tenant, out, *period(), "--format", output_format)
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output

    with csv_out.open(newline="") as rows:
        table = list(csv.DictReader(rows))
    assert sorted(r["Id"] for r in table) == sorted(by_id)
    for row in table:
        item = by_id[row["Id"]]
        assert row["Amount.GrossValue"] == str(item.amount.gross_value)
        assert row["AccountingState"] == item.accounting_state
        assert row["Notes"] == (item.notes or "")
        assert json.loads(row["Amount.TaxValues"])[0]["Code"] == "UK-S"

    parquet = pq.read_table(parquet_out).to_pylist()
    assert sorted(r["Id"] for r in parquet) == sorted(by_id)
    for row in parquet:
        item = by_id[row["Id"]]
        assert row["CreatedUtc"] == item.created_utc
        assert row["Amount.GrossValue"] == float(item.amount.gross_value)
        assert row["Options.CanceledWithReservation"] is False
    assert pq.read_schema(parquet_out).field("UnitCount").type == "int64"


class FailingAfter(httpx.BaseTransport):
    """The real server for the first ``budget`` requests, then 500 for ever."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.sent = 0
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.sent > self.budget:
            return httpx.Response(500, json={"Message": "down", "RequestId": "x"})
        response = self.real.handle_request(request)
        response.read()
        return response

    def close(self) -> None:
        self.real.close()


def test_an_interrupted_fetch_resumes_where_it_stopped_without_losing_or_repeating(
    server: ServerThread, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "items.jsonl"
    transports: list[FailingAfter] = []

    def failing_client(base_url: str, client_token: str, access_token: str, name: str) -> Client:
        transports.append(FailingAfter(budget=5 if not transports else 10_000))
        return Client(
            base_url=base_url,
            client_token=client_token,
            access_token=access_token,
            client_name=name,
            retry=RetryPolicy(max_retries=0),
            transport=transports[-1],
        )

    monkeypatch.setattr(fetch_module, "open_client", failing_client)
    first = runner.invoke(app, fetch_args(server, tenant, out, *period()))
    assert first.exit_code == 1
    assert "500 down" in first.output
    assert "run the same command to continue" in first.output
    state_file = tmp_path / "items.jsonl.fetch-state.json"
    state = json.loads(state_file.read_text())
    assert len(state["done"]) == 1, "the first window finished, the second did not"
    spool = tmp_path / "items.jsonl.partial.jsonl"
    assert spool.stat().st_size > state["spool_bytes"], "half a window was written"
    assert not out.exists()

    second = runner.invoke(app, fetch_args(server, tenant, out, *period()))
    assert second.exit_code == 0, second.output
    assert "Resuming: 1 requests already done" in second.output
    ids = [d["Id"] for d in read_jsonl(out)]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(str(i.id) for i in tenant.items)
    assert not state_file.exists()


def test_a_saved_state_for_another_period_is_refused(
    server: ServerThread, tenant: Tenant, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    state = out.with_name("items.jsonl.fetch-state.json")
    job_args = fetch_args(server, tenant, out, *period())
    bad = runner.invoke(app, [*job_args[:-4], "--access-token", "WRONG", *period()])
    assert bad.exit_code == 1
    assert "401" in bad.output
    assert state.exists(), "progress is kept"
    other = runner.invoke(app, fetch_args(server, tenant, out, *period(end=START + timedelta(1))))
    assert other.exit_code == 2
    assert "--restart" in other.output
    restarted = runner.invoke(app, [*fetch_args(server, tenant, out, *period()), "--restart"])
    assert restarted.exit_code == 0, restarted.output


def test_incremental_fetch_continues_from_the_saved_updated_utc_bookmark(
    server: ServerThread, engine: Engine, tmp_path: Path
) -> None:
    tenant = make_tenant(engine)
    first_items = store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, created_utc=START + timedelta(days=k))
            for k in range(5)
        ],
    )
    bookmark = tmp_path / "bookmark.json"
    out = tmp_path / "changes.jsonl"
    args = fetch_args(server, tenant, out, "--since-bookmark", str(bookmark))
    first = runner.invoke(app, [*args, "--start", "2024-01-01"])
    assert first.exit_code == 0, first.output
    assert len(read_jsonl(out)) == 5
    latest = max(i.updated_utc for i in first_items)
    assert json.loads(bookmark.read_text()) == {"UpdatedUtc": latest.isoformat()[:19] + "Z"}

    later = store_items(
        engine,
        tenant,
        [make_item(enterprise_id=tenant.enterprise_id, created_utc=START + timedelta(days=40))],
    )
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    fetched = {d["Id"] for d in read_jsonl(out)}
    at_the_bookmark = {str(i.id) for i in first_items if i.updated_utc == latest}
    assert fetched == {str(later[0].id)} | at_the_bookmark, "half-open: the bookmark instant again"
    assert json.loads(bookmark.read_text())["UpdatedUtc"].startswith(
        later[0].updated_utc.isoformat()[:19]
    )


def test_fetch_without_a_period_or_with_a_backwards_one_is_a_usage_error(tmp_path: Path) -> None:
    args = ["fetch", "--client-token", "c", "--access-token", "a", "--out", str(tmp_path / "x")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--start" in result.output
    backwards = runner.invoke(app, [*args, "--start", "2025-02-01", "--end", "2025-01-01"])
    assert backwards.exit_code == 2
    assert "after it ends" in backwards.output
    assert list(tmp_path.iterdir()) == [], "no state is saved for a fetch that cannot run"
