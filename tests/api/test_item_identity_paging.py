"""Issue 12, item 4: an id imported into a second enterprise made a portfolio token see two
items for one id, and paging with ``Count`` 1 or 2 skipped an item (the cursor is an id). Such
a ledger can no longer be made: the import is refused. Paging a portfolio through two
enterprises' items, some created at the same instant, then sees every item once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from answers import ids_of
from factories import T0, make_item, make_tenant
from orderitems.cli import app
from orderitems.store.documents import encode_item
from orderitems.store.item_ids import enterprise_of_item

GET_ALL = "/api/connector/v1/orderItems/getAll"
WINDOW = {"StartUtc": "2020-01-01T00:00:00Z", "EndUtc": "2020-03-01T00:00:00Z"}
runner = CliRunner()


def page_through(http: httpx.Client, body: dict[str, Any], count: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        limitation = {"Count": count, **({"Cursor": cursor} if cursor else {})}
        response = http.post(GET_ALL, json={**body, "Limitation": limitation})
        page = ids_of(response)
        if not page:
            return seen
        seen += page
        cursor = response.json()["Cursor"]
        assert len(seen) <= 100, "paging does not end"


@pytest.mark.parametrize("count", [1, 2])
def test_a_portfolio_pages_two_enterprises_without_skipping_an_item(
    http: httpx.Client, engine: Engine, database_url: str, tmp_path: Path, count: int
) -> None:
    portfolio = make_tenant(engine, enterprises=2)
    first, second = portfolio.enterprise_ids
    start = T0.replace(year=2020, month=1, day=10)
    items = [
        make_item(enterprise_id=enterprise, created_utc=start + timedelta(hours=n // 3))
        for n, enterprise in enumerate([first, second] * 4)
    ]
    lines = tmp_path / "items.jsonl"
    lines.write_bytes(b"".join(encode_item(item) + b"\n" for item in items))
    result = runner.invoke(app, ["import", str(lines), "--db", database_url])
    assert result.exit_code == 0, result.output

    again = make_item(enterprise_id=second, id=items[0].id, created_utc=start)
    (tmp_path / "again.jsonl").write_bytes(encode_item(again) + b"\n")
    refused = runner.invoke(app, ["import", str(tmp_path / "again.jsonl"), "--db", database_url])
    assert refused.exit_code == 1, refused.output
    with engine.connect() as connection:
        assert enterprise_of_item(connection, items[0].id) == first

    body = portfolio.envelope(CreatedUtc=WINDOW)
    seen = page_through(http, body, count)
    assert sorted(seen) == sorted(str(item.id) for item in items), "each item exactly once"
