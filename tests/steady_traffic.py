"""A steady stream of getAll and cancel requests from several clients, each request recorded
with when it was sent and how it ended: for the tests of draining and rolling restarts."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from factories import T0, Tenant, make_item, make_tenant, store_items
from orderitems.store.schema import order_items

GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"
#: Items each cancel request names.
PER_CANCEL = 3


@dataclass
class Sent:
    operation: str
    sent_at: float
    ids: list[uuid.UUID]
    status: int | None = None
    complete: bool = False
    error: str | None = None


@dataclass
class Traffic:
    """``clients`` threads sending alternately getAll and cancel until stopped (or, with
    ``stop_on_error``, until their first transport error)."""

    base_url: str
    tenant: Tenant
    clients: int = 4
    stop_on_error: bool = True
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.to_cancel: queue.SimpleQueue[uuid.UUID] = queue.SimpleQueue()
        for item in self.tenant.items:
            self.to_cancel.put(item.id)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client) for _ in range(self.clients)]

    def _next_ids(self) -> list[uuid.UUID]:
        ids = []
        for _ in range(PER_CANCEL):
            try:
                ids.append(self.to_cancel.get_nowait())
            except queue.Empty:
                break
        return ids

    def _client(self) -> None:
        turn = 0
        with httpx.Client(base_url=self.base_url, timeout=60) as http:
            while not self.stop.is_set():
                turn += 1
                ids = self._next_ids() if turn % 2 else []
                if ids:
                    body = self.tenant.envelope(OrderItemIds=[str(i) for i in ids])
                    sent = Sent("cancel", time.monotonic(), ids)
                    path = CANCEL
                else:
                    body = self.tenant.envelope(
                        CreatedUtc={
                            "StartUtc": "2025-02-01T00:00:00Z",
                            "EndUtc": "2025-04-01T00:00:00Z",
                        },
                        Limitation={"Count": 20},
                    )
                    sent = Sent("getAll", time.monotonic(), [])
                    path = GET_ALL
                with self.lock:
                    self.sent.append(sent)
                try:
                    response = http.post(path, json=body)
                    sent.status = response.status_code
                    response.json()  # a complete JSON answer, not a cut one
                    sent.complete = True
                except (httpx.TransportError, ValueError) as exc:
                    sent.error = f"{type(exc).__name__}: {exc}"
                    if self.stop_on_error:
                        return

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def wait_for(self, answered: int, timeout: float = 30) -> None:
        """Until at least ``answered`` requests have a complete answer."""
        deadline = time.monotonic() + timeout
        while sum(s.complete for s in list(self.sent)) < answered:
            assert time.monotonic() < deadline, "the traffic did not get going"
            time.sleep(0.02)

    def finish(self, timeout: float = 60) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)
            assert not thread.is_alive()


def make_cancel_tenant(engine: Engine, items: int) -> Tenant:
    tenant = make_tenant(engine)
    store_items(
        engine,
        tenant,
        [make_item(enterprise_id=tenant.enterprise_id, created_utc=T0) for _ in range(items)],
    )
    return tenant


def accounting_states(engine: Engine, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(order_items.c.id, order_items.c.accounting_state).where(
                order_items.c.id.in_(ids)
            )
        )
        return {row.id: row.accounting_state for row in rows}


def assert_cancels_all_or_nothing(engine: Engine, sent: list[Sent]) -> None:
    """Each cancel changed all its items or none, and an answered one changed all of them."""
    for request in (s for s in sent if s.operation == "cancel"):
        states = set(accounting_states(engine, request.ids).values())
        assert len(states) == 1, (request, states)
        if request.status == 200:
            assert states == {"Canceled"}, request
