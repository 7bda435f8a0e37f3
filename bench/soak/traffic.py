"""The soak's requests and how their answers are counted.

Every request has a kind (``read``, ``legacy``, ``cancel``, ``bad``, ``slow``, ``burst``) and an
outcome: the status code, ``closed`` (the server closed the connection without an answer: what
a slow client may get), ``held`` (a slow client was still held when it gave up) or
``error:<exception>`` (a transport error, such as a connection reset while a store was down).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from bench.soak.world import Data, Token
from orderitems.fixtures.demo import DEMO_PERIOD_END, DEMO_PERIOD_START

GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"
LEGACY = "/api/connector/v1/reservations/getAllItems"
BURST = 250
#: The share of each kind in the mixed phase.
MIX = {"read": 56, "legacy": 6, "cancel": 10, "bad": 25, "slow": 3}
#: How long a slow client keeps trickling before it gives up and counts as ``held``.
SLOW_HOLD_SECONDS = 45.0
#: Slow clients connected at once, at most.
SLOW_AT_ONCE = 64


@dataclass
class CancelSent:
    """One cancel: ids never sent in another cancel, and a Closed one (which refuses it)."""

    ids: list[uuid.UUID]
    closed_id: uuid.UUID | None
    outcome: str = ""


@dataclass
class Tally:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    cancels: list[CancelSent] = field(default_factory=list)
    sent: int = 0
    #: Cancels that found no fresh Open id left and were sent as reads instead.
    cancel_pool_empty: int = 0
    #: The first few answers of each surprising kind (a 5xx, or a 4xx to a valid request).
    examples: dict[str, list[str]] = field(default_factory=dict)

    def keep_example(self, kind: str, response: httpx.Response) -> None:
        status = response.status_code
        if status >= 500 or (kind in {"read", "legacy"} and status not in {200, 429}):
            seen = self.examples.setdefault(f"{kind} {status}", [])
            if len(seen) < 3:
                seen.append(response.text[:400])

    def count(self, kind: str, outcome: str) -> None:
        self.outcomes[(kind, outcome)] += 1

    def total(self, outcome: str) -> int:
        return sum(n for (_kind, seen), n in self.outcomes.items() if seen == outcome)


def _iso(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def read_body(rng: random.Random, token: Token, data: Data) -> dict[str, Any]:
    """A getAll of 1 to 89 days of creation (within any three months), sometimes narrowed by
    service or state."""
    span = (DEMO_PERIOD_END - DEMO_PERIOD_START).days - 90
    start = DEMO_PERIOD_START + timedelta(days=rng.randrange(span), hours=rng.randrange(24))
    body: dict[str, Any] = {
        **token.envelope(),
        "CreatedUtc": {
            "StartUtc": _iso(start),
            "EndUtc": _iso(start + timedelta(days=rng.randint(1, 89))),
        },
        "Limitation": {"Count": rng.choice([1, 10, 100, 1000])},
    }
    services = data.services.get(token.enterprise_id)
    if services and rng.random() < 0.2:
        body["ServiceIds"] = [str(rng.choice(services))]
    if rng.random() < 0.2:
        body["AccountingStates"] = rng.sample(["Open", "Closed", "Canceled", "Inactive"], 2)
    return body


def legacy_body(rng: random.Random, token: Token, data: Data) -> dict[str, Any]:
    reservations = data.reservations.get(token.enterprise_id) or [uuid.uuid4()]
    chosen = rng.sample(reservations, min(len(reservations), rng.randint(1, 5)))
    return {**token.envelope(), "ReservationIds": [str(r) for r in chosen]}


def bad_request(rng: random.Random, token: Token) -> tuple[str, bytes, dict[str, str]]:
    """A body the server must refuse with its error body (never 500): each a careless or
    hostile client's mistake."""
    envelope = token.envelope()
    interval = {"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"}
    good = {**envelope, "CreatedUtc": interval, "Limitation": {"Count": 10}}
    json_type = {"Content-Type": "application/json"}
    choices: list[tuple[str, bytes | dict[str, Any] | list[Any], dict[str, str]]] = [
        (GET_ALL, b'{"ClientToken": ', json_type),
        (GET_ALL, [], json_type),
        (GET_ALL, {**good, "Limitation": {"Count": "ten"}}, json_type),
        (GET_ALL, {**good, "Limitation": {"Count": 1001}}, json_type),
        (GET_ALL, {k: v for k, v in good.items() if k != "AccessToken"}, json_type),
        (GET_ALL, {**good, "AccessToken": "SOAK-UNKNOWN-" + uuid.uuid4().hex}, json_type),
        (GET_ALL, {**good, "accesstoken": "SOAK-OTHER-" + uuid.uuid4().hex}, json_type),
        (GET_ALL, {**good, "CreatedUtc": {**interval, "EndUtc": "2025-09-01T00:00:00Z"}}, {}),
        (GET_ALL, {**envelope, "Limitation": {"Count": 10}}, json_type),
        (GET_ALL, {**good, "OrderItemIds": ["not-a-uuid"]}, json_type),
        (GET_ALL, json.dumps(good).encode(), {"Content-Type": "text/plain"}),
        (GET_ALL, b"\xff\xfe\x00garbage", {"Content-Type": "application/json"}),
        (GET_ALL, b"x" * (1024 * 1024 + 10), json_type),
        (CANCEL, {**envelope, "OrderItemIds": []}, json_type),
        (CANCEL, {**envelope, "OrderItemIds": [str(uuid.uuid4()) for _ in range(11)]}, json_type),
        (LEGACY, {**envelope, "ReservationIds": "all"}, json_type),
    ]
    path, body, headers = rng.choice(choices)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return path, raw, headers


def _outcome_of(exc: Exception) -> str:
    return f"error:{type(exc).__name__}"


async def post(
    client: httpx.AsyncClient, path: str, tally: Tally, kind: str, **request: Any
) -> httpx.Response | None:
    tally.sent += 1
    try:
        response = await client.post(path, **request)
    except httpx.HTTPError as exc:
        tally.count(kind, _outcome_of(exc))
        return None
    tally.count(kind, str(response.status_code))
    tally.keep_example(kind, response)
    return response


async def read(client: httpx.AsyncClient, rng: random.Random, data: Data, tally: Tally) -> None:
    """A getAll, and a third of the time the next page through its cursor."""
    token = rng.choice(data.tokens)
    body = read_body(rng, token, data)
    response = await post(client, GET_ALL, tally, "read", json=body)
    if response is not None and response.status_code == 200 and rng.random() < 0.33:
        cursor = response.json().get("Cursor")
        if cursor:
            body["Limitation"] = {**body["Limitation"], "Cursor": cursor}
            await post(client, GET_ALL, tally, "read", json=body)


async def cancel(client: httpx.AsyncClient, rng: random.Random, data: Data, tally: Tally) -> None:
    """One or two ids never sent before; a quarter of the time with a Closed item too, which
    must refuse the whole request (docs/behaviour.md#cancel)."""
    candidates = [t for t in data.tokens if data.cancelable.get(t.enterprise_id)]
    if not candidates:
        tally.cancel_pool_empty += 1
        await read(client, rng, data, tally)
        return
    token = rng.choice(candidates)
    pool = data.cancelable[token.enterprise_id]
    ids = [pool.pop() for _ in range(min(len(pool), rng.randint(1, 2)))]
    closed = data.closed.get(token.enterprise_id)
    closed_id = rng.choice(closed) if closed and rng.random() < 0.25 else None
    sent = CancelSent(ids, closed_id)
    tally.cancels.append(sent)
    wire = [str(i) for i in ids] + ([str(closed_id)] if closed_id else [])
    rng.shuffle(wire)
    response = await post(
        client, CANCEL, tally, "cancel", json={**token.envelope(), "OrderItemIds": wire}
    )
    sent.outcome = tally_outcome(response)


def tally_outcome(response: httpx.Response | None) -> str:
    return "error" if response is None else str(response.status_code)


async def slow_client(port: int, rng: random.Random, tally: Tally) -> None:
    """A client that trickles its headers or body, or stops short of its ``Content-Length``,
    until the server answers or closes, or ``SLOW_HOLD_SECONDS`` pass."""
    tally.sent += 1
    style = rng.choice(["headers", "body", "short"])
    head = f"POST {GET_ALL} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        tally.count("slow", _outcome_of(exc))
        return

    async def trickle() -> None:
        if style == "headers":
            writer.write(head.encode())
            for n in range(int(SLOW_HOLD_SECONDS)):
                writer.write(f"X-Slow-{n}: 1\r\n".encode())
                await writer.drain()
                await asyncio.sleep(1)  # deliberately slow: this client is what is tested
        else:
            writer.write(f"{head}Content-Length: 200\r\n\r\n{{".encode())
            for _ in range(int(SLOW_HOLD_SECONDS) if style == "body" else 0):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(1)  # deliberately slow: this client is what is tested
            await asyncio.sleep(SLOW_HOLD_SECONDS)  # a body that stops arriving

    sender = asyncio.create_task(trickle())
    try:
        first = await asyncio.wait_for(reader.readline(), SLOW_HOLD_SECONDS)
        parts = first.split()
        outcome = parts[1].decode() if len(parts) > 1 else "closed"
    except TimeoutError:
        outcome = "held"
    except OSError as exc:
        outcome = _outcome_of(exc)
    finally:
        sender.cancel()
        writer.close()
    tally.count("slow", outcome)


async def mixed(
    client: httpx.AsyncClient,
    *,
    port: int,
    rng: random.Random,
    data: Data,
    tally: Tally,
    requests: int,
    concurrency: int,
    deadline: float,
    slow: set[asyncio.Task[None]],
) -> None:
    """``requests`` requests of the mix from ``concurrency`` loops; slow clients run on their
    own (at most ``SLOW_AT_ONCE``) so that they hold connections while the rest goes on."""
    kinds, weights = list(MIX), list(MIX.values())
    goal = tally.sent + requests

    async def loop() -> None:
        while tally.sent < goal and time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            if kind == "read":
                await read(client, rng, data, tally)
            elif kind == "legacy":
                token = rng.choice(data.tokens)
                await post(client, LEGACY, tally, "legacy", json=legacy_body(rng, token, data))
            elif kind == "cancel":
                await cancel(client, rng, data, tally)
            elif kind == "bad":
                path, raw, headers = bad_request(rng, rng.choice(data.tokens))
                await post(client, path, tally, "bad", content=raw, headers=headers)
            elif len(slow) < SLOW_AT_ONCE:
                task = asyncio.create_task(slow_client(port, rng, tally))
                slow.add(task)
                task.add_done_callback(slow.discard)

    await asyncio.gather(*(loop() for _ in range(concurrency)))


async def burst(base_url: str, token: Token, tally: Tally) -> Counter[str]:
    """``BURST`` identical reads on one fresh token, all in flight at once."""
    body = {
        **token.envelope(),
        "CreatedUtc": {"StartUtc": "2025-03-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"},
        "Limitation": {"Count": 1},
    }
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(
            *(post(client, GET_ALL, tally, "burst", json=body) for _ in range(BURST))
        )
    return Counter(tally_outcome(r) for r in responses)
