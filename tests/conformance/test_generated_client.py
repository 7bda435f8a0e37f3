"""A client nobody here wrote: openapi-python-client generates one from ``GET /openapi.json``.

The client is generated into a temporary directory during the run (never committed) and used
as an integrator would use it against a ``--demo`` server: page through every demo item,
cancel items, read reservations with getAllItems. Its models are strict where it matters
(required properties, enums, uuids, date-times), and each parsed answer must also give back
exactly the document the server sent, so nothing is dropped or misread on the way.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from conftest import ServerThread
from orderitems.cli.data import prepare_demo
from orderitems.fixtures.demo import (
    DEMO_HOTEL_LONDON,
    DEMO_PERIOD_END,
    DEMO_PERIOD_START,
    DEMO_TOKENS,
)
from orderitems.settings import Settings
from orderitems.store.engine import connect
from orderitems.store.items import count_items

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / ".venv" / "tools" / "openapi-python-client" / "bin" / "openapi-python-client"
PACKAGE = "generated_connector_client"
UK = next(t for t in DEMO_TOKENS if t.label.startswith("demo client 1: gross"))
PORTFOLIO = next(t for t in DEMO_TOKENS if t.access_token == "ORDERITEMS-DEMO-PORTFOLIO")
DEMO_ITEMS = 1500
_generated: dict[str, Path] = {}


def _generate(contract: bytes, directory: Path) -> Path:
    """Run the generator on the served contract; any warning (a dropped model) fails."""
    key = hashlib.sha256(contract).hexdigest()
    if key in _generated:
        return _generated[key]
    if not GENERATOR.exists():
        subprocess.run([str(ROOT / "scripts" / "install-generator")], check=True)
    (directory / "openapi.json").write_bytes(contract)
    config = {"package_name_override": PACKAGE, "post_hooks": []}
    (directory / "config.json").write_text(json.dumps(config))
    command = [str(GENERATOR), "generate", "--path", "openapi.json", "--config", "config.json"]
    run = subprocess.run(
        [*command, "--meta", "none"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Warning" not in output, output
    assert "Unable" not in output, output
    _generated[key] = directory
    return directory


def _client_package(directory: Path) -> ModuleType:
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    return importlib.import_module(PACKAGE)


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _canonical(value: Any) -> Any:
    """The same document whatever the spelling of its date-times (``Z`` or ``+00:00``)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, str) and _DATE_TIME.match(value):
        return datetime.fromisoformat(value)
    return value


def _three_months_on(first_of_month: datetime) -> datetime:
    months = first_of_month.month - 1 + 3
    return first_of_month.replace(year=first_of_month.year + months // 12, month=months % 12 + 1)


def _parsed(response: Any, model: type[Any]) -> Any:
    """The strict model of a 200, which must give back exactly what the server sent."""
    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, model), type(response.parsed)
    assert _canonical(response.parsed.to_dict()) == _canonical(json.loads(response.content))
    return response.parsed


class Demo:
    """A ``--demo`` server over a database of its own, and the generated client package."""

    def __init__(self, client: Any, engine: Engine) -> None:
        self.engine = engine
        self.client = client
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.get_all = importlib.import_module(f"{PACKAGE}.api.order_items.order_items_get_all")
        self.cancel = importlib.import_module(f"{PACKAGE}.api.order_items.order_items_cancel")
        self.get_all_items = importlib.import_module(
            f"{PACKAGE}.api.reservations.reservations_get_all_items"
        )

    def envelope(self, token: Any) -> dict[str, str]:
        return {
            "client_token": token.client_token,
            "access_token": token.access_token,
            "client": "generated client 1.0",
        }

    def page(self, token: Any, **filters: Any) -> Any:
        m = self.models
        body = m.OrderItemFilterParameters(**self.envelope(token), **filters)
        return _parsed(self.get_all.sync_detailed(client=self.client, body=body), m.OrderItemResult)

    def every_item(self, token: Any) -> list[Any]:
        """Page through the demo period, 3 months at a time, until the cursor is null."""
        m, items, start = self.models, [], DEMO_PERIOD_START
        while start < DEMO_PERIOD_END:
            end = _three_months_on(start)
            created = m.TimeInterval(start_utc=start, end_utc=end)
            cursor = None
            while True:
                limitation = m.Limitation(count=200, cursor=cursor)
                page = self.page(token, created_utc=created, limitation=limitation)
                items.extend(page.order_items)
                if page.cursor is None:
                    break
                assert page.cursor == page.order_items[-1].id
                cursor = page.cursor
            start = end
        return items


@pytest.fixture
def demo(empty_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    settings = Settings(
        database_url=empty_database_url, demo=True, demo_items=DEMO_ITEMS, rate_limit=False
    )
    engine = connect(empty_database_url)
    prepare_demo(engine, settings)
    try:
        with ServerThread(settings, engine) as server:
            contract = httpx.get(f"{server.base_url}/openapi.json").raise_for_status().content
            directory = _generate(contract, tmp_path_factory.mktemp("generated"))
            package = _client_package(directory)
            with package.Client(base_url=server.base_url, raise_on_unexpected_status=True) as c:
                yield Demo(c, engine)
    finally:
        engine.dispose()


def test_a_generated_client_pages_cancels_and_reads_reservations(demo: Demo) -> None:
    m = demo.models
    items = demo.every_item(PORTFOLIO)
    with demo.engine.connect() as connection:
        assert len({i.id for i in items}) == len(items) == count_items(connection) == DEMO_ITEMS

    london = str(DEMO_HOTEL_LONDON.id)
    mine = [i for i in items if str(i.enterprise_id) == london]
    open_ids = [i.id for i in mine if i.accounting_state == m.OrderItemAccountingState.OPEN][:10]
    assert open_ids, "the demo has open items to cancel"
    body = m.CancelOrderItemParameters(**demo.envelope(UK), order_item_ids=open_ids)
    _parsed(demo.cancel.sync_detailed(client=demo.client, body=body), m.Unit)
    limitation = m.Limitation(count=100)
    after = demo.page(UK, order_item_ids=open_ids, limitation=limitation).order_items
    assert {i.accounting_state for i in after} == {m.OrderItemAccountingState.CANCELED}
    assert all(i.canceled_utc is not None and i.updater_profile_id == UK.profile_id for i in after)

    closed = next(i.id for i in mine if i.accounting_state == m.OrderItemAccountingState.CLOSED)
    body = m.CancelOrderItemParameters(**demo.envelope(UK), order_item_ids=[closed])
    refused = demo.cancel.sync_detailed(client=demo.client, body=body)
    assert refused.status_code == 400
    assert isinstance(refused.parsed, m.ConnectorApiExceptionResult)
    assert refused.parsed.message.startswith("Invalid OrderItemIds")

    stays = [i for i in mine if i.type_ == m.OrderItemType.SPACEORDER]
    reservation_ids = list(dict.fromkeys(i.service_order_id for i in stays))[:20]
    states = ["Open", "Closed", "Canceled", "Inactive"]
    body = m.ReservationItemParameters(
        **demo.envelope(UK), reservation_ids=reservation_ids, accounting_states=states
    )
    result = _parsed(
        demo.get_all_items.sync_detailed(client=demo.client, body=body), m.ReservationItemResult
    )
    assert [r.reservation_id for r in result.reservations] == reservation_ids
    legacy = {o.id for r in result.reservations for o in r.order_items}
    assert {i.id for i in stays if i.service_order_id in reservation_ids} <= legacy

    unknown = m.OrderItemFilterParameters(
        client_token=UK.client_token, access_token="nope", client="x", limitation=limitation
    )
    denied = demo.get_all.sync_detailed(client=demo.client, body=unknown)
    assert denied.status_code == 401
    assert isinstance(denied.parsed, m.ConnectorApiExceptionResult)
