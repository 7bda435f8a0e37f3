"""Servers for the console's tests: a demo server (console on), one with the console off, and a
read-only console outside sandbox mode, each a real ``orderitems serve`` process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orderitems.api.admin import DEMO_ADMIN_TOKEN
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from processes import ServerProcess, running

#: Small, so that start-up and the reset are quick.
DEMO_ITEMS = 300
READ_ONLY_TOKEN = "console-read-only-admin-token"
BEARER = {"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"}
GET_ALL = "/api/connector/v1/orderItems/getAll"


@pytest.fixture(scope="session")
def demo_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('console-demo') / 'demo.db'}"


@pytest.fixture(scope="session")
def demo_server(
    demo_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("console-demo-logs")
    server = ServerProcess(demo_database_url, directory, demo=True, demo_items=DEMO_ITEMS)
    with running(server):
        yield server


def migrated_sqlite(directory: Path) -> str:
    url = f"sqlite:///{directory / 'plain.db'}"
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def plain_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ...]]:
    """The console off (no sandbox, no --console), and read-only (--console; 2 requests per
    token per window, so that a 429 is quick)."""
    directory = tmp_path_factory.mktemp("console-plain")
    url = migrated_sqlite(directory)
    off = ServerProcess(url, directory)
    read_only = ServerProcess(
        url, directory, console=True, admin_token=READ_ONLY_TOKEN, rate_limit_requests=2
    )
    with running(off, read_only) as started:
        yield started


def csrf_of(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([0-9a-f]*)">', page)
    assert found is not None, page[:500]
    return found.group(1)


def signed_in(base_url: str, token: str = DEMO_ADMIN_TOKEN) -> tuple[httpx.Client, str]:
    """A client holding the console's session cookie, and the CSRF token of its pages.

    httpx keeps no ``Secure`` cookie over plain HTTP (browsers do on loopback), so the cookie
    goes in by hand after the login set it.
    """
    login = httpx.post(f"{base_url}/console/login", data={"token": token}, timeout=30)
    assert login.status_code == 303, login.text
    cookie = login.headers["set-cookie"].split(";", 1)[0]
    page = httpx.get(f"{base_url}/", headers={"Cookie": cookie}, timeout=30)
    assert page.status_code == 200, page.text
    return httpx.Client(base_url=base_url, headers={"Cookie": cookie}, timeout=30), csrf_of(
        page.text
    )
