"""Many clients cancel overlapping sets at once through several server processes sharing one
SQLite file or one PostgreSQL schema: every item ends canceled exactly once, with one
``CanceledUtc`` that never changes once seen, and no request fails (docs/behaviour.md#cancel)."""

from __future__ import annotations

import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.access.tokens import create_access_token, new_token
from processes import ServerProcess, running

CANCEL = "/api/connector/v1/orderItems/cancel"
GET_ALL = "/api/connector/v1/orderItems/getAll"
PROCESSES = 3
CLIENTS = 6
ROUNDS = 12
ITEMS = 40

pytestmark = pytest.mark.slow


@pytest.fixture
def servers(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[list[str]]:
    """Several server processes over the session's (migrated) database. Each client sends far
    fewer requests than the rate limit; it is off anyway so that only the cancels are tested."""
    started = [
        ServerProcess(database_url, tmp_path, rate_limit=False, log_level="warning")
        for _ in range(PROCESSES)
    ]
    with running(*started):
        yield [s.base_url for s in started]


def more_clients(engine: Engine, tenant: Tenant, count: int) -> list[Tenant]:
    """Other integrations on the same enterprise, each with its own token and profile."""
    clients = []
    for _ in range(count):
        client = Tenant(
            enterprise_ids=tenant.enterprise_ids,
            client_token=new_token(),
            access_token=new_token(),
            profile_id=uuid.uuid4(),
            items=tenant.items,
        )
        with engine.begin() as connection:
            create_access_token(
                connection,
                client_token=client.client_token,
                client_name="concurrency tests",
                access_token=client.access_token,
                label=f"test-{uuid.uuid4().hex[:8]}",
                enterprise_ids=client.enterprise_ids,
                profile_id=client.profile_id,
            )
        clients.append(client)
    return clients


def read_items(http: httpx.Client, tenant: Tenant) -> dict[str, dict[str, Any]]:
    response = http.post(
        GET_ALL,
        json=tenant.envelope(
            OrderItemIds=[str(i.id) for i in tenant.items], Limitation={"Count": 1000}
        ),
    )
    assert response.status_code == 200, response.text
    return {item["Id"]: item for item in response.json()["OrderItems"]}


def test_overlapping_cancels_across_processes_cancel_each_item_exactly_once(
    engine: Engine, servers: list[str]
) -> None:
    owner = make_tenant(engine)
    store_items(
        engine,
        owner,
        [
            make_item(enterprise_id=owner.enterprise_id, created_utc=T0 + timedelta(minutes=n))
            for n in range(ITEMS)
        ],
    )
    clients = more_clients(engine, owner, CLIENTS)
    ids = [str(i.id) for i in owner.items]
    statuses: list[int] = []
    errors: list[str] = []
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    record = threading.Lock()
    barrier = threading.Barrier(CLIENTS + 1)
    done = threading.Event()

    def cancel_rounds(number: int, client: Tenant) -> None:
        rng = random.Random(number)
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            for round_ in range(ROUNDS):
                base = servers[(number + round_) % len(servers)]
                chosen = rng.sample(ids, rng.randint(1, 10))
                try:
                    response = http.post(base + CANCEL, json=client.envelope(OrderItemIds=chosen))
                except httpx.HTTPError as exc:
                    with record:
                        errors.append(repr(exc))
                    continue
                with record:
                    statuses.append(response.status_code)
                    if response.status_code != 200:
                        errors.append(response.text)

    def watch() -> None:
        """Reads through every server while the cancels run: a CanceledUtc once seen must
        never change, nor UpdatedUtc of a canceled item."""
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            turn = 0
            while not done.is_set():
                http.base_url = servers[turn % len(servers)]
                turn += 1
                for item_id, item in read_items(http, owner).items():
                    if item["AccountingState"] == "Canceled":
                        with record:
                            seen[item_id].add((item["CanceledUtc"], item["UpdatedUtc"]))

    threads = [threading.Thread(target=cancel_rounds, args=(n, c)) for n, c in enumerate(clients)]
    watcher = threading.Thread(target=watch)
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    done.set()
    watcher.join(timeout=60)

    assert not errors, errors[:5]
    assert statuses == [200] * (CLIENTS * ROUNDS)
    with httpx.Client(base_url=servers[0], timeout=60) as http:
        final = read_items(http, owner)
    requested = set()
    for number in range(CLIENTS):
        rng = random.Random(number)
        for _ in range(ROUNDS):
            requested.update(rng.sample(ids, rng.randint(1, 10)))
    profiles = {str(c.profile_id) for c in clients}
    for item_id, item in final.items():
        if item_id not in requested:
            assert item["AccountingState"] == "Open"
            continue
        assert item["AccountingState"] == "Canceled"
        assert item["CanceledUtc"] == item["UpdatedUtc"]
        assert item["UpdaterProfileId"] in profiles
        assert seen[item_id] <= {(item["CanceledUtc"], item["UpdatedUtc"])}, seen[item_id]
    assert len(requested) > ITEMS // 2
