"""The README's client example runs as written, against a test server and the test's tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from conftest import ServerThread
from factories import make_item, make_tenant, store_items
from orderitems.domain.items import OrderItemType

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
DEMO_CLIENT_TOKEN = "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D"
DEMO_ACCESS_TOKEN = "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D"


def readme_client_example() -> str:
    match = re.search(r"## The Python client\n.*?```python\n(.*?)```", README, re.S)
    assert match, "the README has a Python example for the client"
    return match.group(1)


def test_the_readme_client_example_runs_and_prints_what_it_fetched(
    server: ServerThread, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = make_tenant(engine)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    nights = store_items(
        engine,
        tenant,
        [
            make_item(
                enterprise_id=tenant.enterprise_id, created_utc=start + timedelta(days=40 * k)
            )
            for k in range(10)
        ],
    )
    store_items(
        engine,
        tenant,
        [
            make_item(
                enterprise_id=tenant.enterprise_id, created_utc=start, type=OrderItemType.CITY_TAX
            )
        ],
    )
    source = readme_client_example()
    assert DEMO_CLIENT_TOKEN in source
    assert DEMO_ACCESS_TOKEN in source
    source = (
        source.replace("base_url=LOCALHOST", f"base_url={server.base_url!r}")
        .replace(DEMO_CLIENT_TOKEN, tenant.client_token)
        .replace(DEMO_ACCESS_TOKEN, tenant.access_token)
    )
    exec(compile(source, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith(f"{len(nights)} room nights, first: ")
    assert printed.split()[-1] in {str(n.id) for n in nights}
